"""AlphaIdLoader: Alpha-ID (7 fields) and Alpha-ID-SE (8 fields) TXT files, encodings, markers,
ORPHAcodes, validity; then loaded into the store and looked up over HTTP.
Hand-written fixtures in tests/fixtures/alpha-id (no real BfArM file is available here).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loaders import detect
from loaders.alpha_id import ALPHA_ID, ALPHA_ID_SE, ICD_SYSTEM, ORPHANET, AlphaIdLoader
from loaders.base import CodeSystemContent, LoadOptions
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.model import Concept, ConceptProperty, Record
from termserver.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "alpha-id"
SE = FIXTURES / "icd10gm2099_alphaidse_edvtxt_20980930.txt"
PLAIN = FIXTURES / "icd10gm2098_alphaid_edvtxt_20970930.txt"


def _one(path: Path, **options: str) -> tuple[CodeSystemContent, list[Record]]:
    items = list(AlphaIdLoader().read(path, LoadOptions(**options)))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    return items[0], list(items[0].records)


def _props(records: list[Record], code: str) -> dict[str, tuple[str, str | None]]:
    return {r.property: (r.value, r.value_system) for r in records
            if isinstance(r, ConceptProperty) and r.code == code}


def test_alpha_id_se_file() -> None:
    content, records = _one(SE)
    assert (content.info.url, content.info.version) == (ALPHA_ID_SE, "2099")
    concepts = {r.code: r for r in records if isinstance(r, Concept)}
    assert len(concepts) == 6
    assert concepts["I900004"].display == "Marfan-Syndrom"
    assert _props(records, "I900001") == {
        "valid": ("true", None), "primary": ("A01.0", ICD_SYSTEM),
        "asterisk": ("G01", ICD_SYSTEM), "dagger": ("true", None)}
    assert _props(records, "I900003")["additional"] == ("U69.12", ICD_SYSTEM)
    assert _props(records, "I900004")["orpha"] == ("558", ORPHANET)
    assert _props(records, "I900005")["primary2"] == ("S01.9", ICD_SYSTEM)
    invalid = _props(records, "I900006")
    assert invalid["valid"] == ("false", None) and invalid["notSelectable"] == ("true", None)
    assert concepts["I900006"].abstract and not concepts["I900004"].abstract
    assert concepts["I900006"].display == "Lymphödem, nicht endständig"
    assert content.info.resource is not None
    assert {p["code"] for p in content.info.resource["property"]} >= {"primary", "orpha"}


def test_alpha_id_file_latin1_with_plus_dagger() -> None:
    content, records = _one(PLAIN)
    assert (content.info.url, content.info.version) == (ALPHA_ID, "2098")
    assert _props(records, "I800001")["dagger"] == ("true", None)
    assert _props(records, "I800001")["primary"] == ("A01.0", ICD_SYSTEM)
    assert _props(records, "I800003")["primary2"] == ("S01.9", ICD_SYSTEM)
    assert "orpha" not in _props(records, "I800003")
    concepts = {r.code: r for r in records if isinstance(r, Concept)}
    assert concepts["I800004"].display == "Rückenschmerzen, nicht endständig"
    assert content.info.resource is not None
    assert "orpha" not in {p["code"] for p in content.info.resource["property"]}


def test_first_se_layout_and_zip(tmp_path: Path) -> None:
    old = tmp_path / "icd10gm2015_alphaidse_edvtxt_20140930.txt"  # 7 fields, ORPHA in 6
    old.write_text("1|I700001|Q87.4|||558|Marfan-Syndrom\r\n")
    content, records = _one(old)
    assert content.info.url == ALPHA_ID_SE
    assert _props(records, "I700001")["orpha"] == ("558", ORPHANET)
    assert "primary2" not in _props(records, "I700001")
    zipped = tmp_path / "alphaidse2099.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(SE, f"Klassifikationsdateien/{SE.name}")
    assert AlphaIdLoader().detect(zipped)
    found = detect(zipped)
    assert found is not None and found.name == "alpha-id"
    assert _one(zipped)[0].info.version == "2099"


def test_malformed_lines(tmp_path: Path) -> None:
    bad = tmp_path / "icd10gm2099_alphaidse_edvtxt_20980930.txt"
    bad.write_text("1|I1|A00.0|Cholera\r\n")
    with pytest.raises(LoadError, match="4 fields"):
        _one(bad)
    bad.write_text("x|I1|A00.0|||||Cholera\r\n")
    with pytest.raises(LoadError, match=":1: field 1 must be 0 or 1"):
        _one(bad)
    renamed = tmp_path / "alpha.txt"
    renamed.write_bytes(SE.read_bytes())
    with pytest.raises(LoadError, match="--version"):
        _one(renamed)
    assert _one(renamed, version="2099")[0].info.url == ALPHA_ID_SE


def test_loaded_and_looked_up(store: Store, client: TestClient) -> None:
    report = load_path(store, AlphaIdLoader(), SE, LoadOptions())
    assert report.written == {"CodeSystem created": 1}
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": ALPHA_ID_SE, "code": "I900001", "version": "2099", "property": "primary"})
    assert r.status_code == 200, r.text
    params = r.json()["parameter"]
    assert next(p["valueString"] for p in params if p["name"] == "display") == \
        "Typhus-Meningitis"
    primary = [p for p in params if p["name"] == "property"]
    assert primary and primary[0]["part"][1]["valueCoding"] == {
        "system": ICD_SYSTEM, "code": "A01.0"}
    v = client.get("/fhir/CodeSystem/$validate-code", params={
        "url": ALPHA_ID_SE, "code": "I999999", "version": "2099"})
    assert next(p["valueBoolean"] for p in v.json()["parameter"] if p["name"] == "result") \
        is False
