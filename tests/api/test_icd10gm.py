"""ICD-10-GM over the API: yearly versions side by side, the dimdi/BfArM alias URLs everywhere a
system is named, coding notation in $validate-code, CodeSystem/$normalize and the CLI command.
Fixture content from tests/fixtures/bfarm; the real 2024/2025 files from ../shared/data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.bfarm_txt import BfarmTxtLoader
from termserver.aliases import ALIASES, aliases_of, canonical_system
from termserver.cli import main
from termserver.ingest import load_path
from termserver.service.icd_notation import parse
from termserver.store import Store
from tests.helpers import shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bfarm"
KODES = FIXTURES / "icd10gm2099syst_kodes.txt"
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
DIMDI = "http://fhir.de/CodeSystem/dimdi/icd-10-gm"
ZTS = "https://terminologien.bfarm.de/fhir/CodeSystem/icd10gm"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _load(store: Store, version: str | None = None, path: Path = KODES) -> None:
    load_path(store, BfarmTxtLoader(), path, LoadOptions(version=version))


def _params(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in body["parameter"]:
        value = next((v for k, v in p.items() if k.startswith("value")),
                     p.get("part", p.get("resource")))
        out.setdefault(p["name"], value)
    return out


def _properties(body: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in body["parameter"]:
        if p["name"] == "property":
            parts = {q["name"]: next(v for k, v in q.items() if k.startswith("value"))
                     for q in p["part"]}
            out.setdefault(parts["code"], []).append(str(parts["value"]))
    return out


# -- versions and aliases -----------------------------------------------------------------------


@pytest.mark.parametrize("system", [ICD, DIMDI, ZTS])
def test_lookup_gives_german_title_and_properties_under_every_name(
        client: TestClient, store: Store, system: str) -> None:
    _load(store)
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": system, "code": "I25.11", "property": ["Para295", "AgeLow", "kind", "parent"]})
    assert r.status_code == 200, r.text
    body = r.json()
    params = _params(body)
    assert params["display"] == "Atherosklerotische Testkrankheit: Ein-Gefäß-Erkrankung"
    assert (params["system"], params["version"]) == (ICD, "2099")
    props = _properties(body)
    assert props["Para295"] == ["P"] and props["AgeLow"] == ["j015"]
    assert props["kind"] == ["category"] and props["parent"] == ["I25.1"]


def test_validate_code_with_the_dimdi_alias_echoes_the_canonical_system(
        client: TestClient, store: Store) -> None:
    _load(store)
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": DIMDI, "code": "N08.3", "display": "Testglomerulopathie bei "
                                                                     "Diabetes"})
    params = _params(r.json())
    assert params["result"] is True
    assert (params["system"], params["version"]) == (ICD, "2099")
    r = client.post("/fhir/CodeSystem/$validate-code", headers=FHIR_JSON, json={
        "resourceType": "Parameters", "parameter": [
            {"name": "coding", "valueCoding": {"system": ZTS, "code": "I25.11"}}]})
    assert _params(r.json())["result"] is True


def test_unversioned_request_takes_the_latest_year_whatever_the_load_order(
        client: TestClient, store: Store) -> None:
    for version in ("2099", "2097", "2098"):
        _load(store, version)
    assert [cs.version for cs in store.code_systems(DIMDI)] == ["2097", "2098", "2099"]
    for _ in range(2):
        r = client.get("/fhir/CodeSystem/$lookup", params={"system": DIMDI, "code": "A00.0"})
        assert _params(r.json())["version"] == "2099"
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": ICD, "code": "A00.0", "version": "2097"})
    assert _params(r.json())["version"] == "2097"


def test_expand_and_value_set_validate_accept_alias_includes(client: TestClient,
                                                             store: Store) -> None:
    _load(store)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/i25", "status": "active",
          "compose": {"include": [{"system": DIMDI, "filter": [
              {"property": "concept", "op": "is-a", "value": "I25.1"}]}]}}
    r = client.post("/fhir/ValueSet/$expand", headers=FHIR_JSON, json={
        "resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": vs}]})
    assert r.status_code == 200, r.text
    contains, found = list(r.json()["expansion"]["contains"]), set()
    while contains:  # the expansion may nest children under their parent
        c = contains.pop()
        found.add((c["system"], c["code"]))
        contains.extend(c.get("contains", []))
    assert found == {
        (ICD, "I25.1"), (ICD, "I25.10"), (ICD, "I25.11")}
    r = client.post("/fhir/ValueSet/$validate-code", headers=FHIR_JSON, json={
        "resourceType": "Parameters", "parameter": [
            {"name": "coding", "valueCoding": {"system": ZTS, "code": "I25.10"}},
            {"name": "valueSet", "resource": vs}]})
    assert _params(r.json())["result"] is True


def test_translate_accepts_alias_systems(client: TestClient, store: Store) -> None:
    _load(store)
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm/icd", "status": "active",
          "group": [{"source": ICD, "target": "http://example.org/other", "element": [
              {"code": "I25.11", "target": [{"code": "X1", "equivalence": "equivalent"}]}]}]}
    assert client.post("/fhir/ConceptMap", headers=FHIR_JSON, json=cm).status_code == 201
    r = client.get("/fhir/ConceptMap/$translate", params={"system": DIMDI, "code": "I25.11"})
    params = _params(r.json())
    assert params["result"] is True, r.text


def test_alias_table() -> None:
    assert canonical_system(DIMDI) == ICD
    assert canonical_system(f"{DIMDI}|2024") == f"{ICD}|2024"
    assert canonical_system("http://fhir.de/CodeSystem/dimdi/ops") == \
        "http://fhir.de/CodeSystem/bfarm/ops"
    assert canonical_system("http://example.org/x") == "http://example.org/x"
    assert set(aliases_of(ICD)) == {DIMDI, ZTS}
    assert all(target not in ALIASES for target in ALIASES.values())  # no chains


# -- coding notation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "named"), [
    ("I25.11†", ["'I25.11' (dagger)"]),
    ("N08.3*", ["'N08.3' (asterisk)"]),
    ("B95.0!", ["'B95.0' (additional)"]),
    ("A00.0+", ["'A00.0' (dagger)"]),
    ("A00.9 B95.0", ["'A00.9' (primary)", "'B95.0' (additional)"]),
    ("I25.11† N08.3*", ["'I25.11' (dagger)", "'N08.3' (asterisk)"]),
])
def test_validate_code_explains_notation(client: TestClient, store: Store, code: str,
                                         named: list[str]) -> None:
    _load(store)
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": DIMDI, "code": code})
    params = _params(r.json())
    assert params["result"] is False
    for text in named:
        assert text in params["message"]
    issues = params["issues"]["issue"]
    notation = [i for i in issues if i["extension"][0]["valueString"] == "ICD10GM_CODE_NOTATION"]
    assert len(notation) == 1 and notation[0]["severity"] == "error"


def test_plain_unknown_code_gets_no_notation_issue(client: TestClient, store: Store) -> None:
    _load(store)
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": ICD, "code": "X99.9"})
    params = _params(r.json())
    assert params["result"] is False and "notation" not in params["message"]


def test_notation_parser() -> None:
    n = parse("i2511† N08.3* G L")
    assert [(p.code, p.role) for p in n.parts] == [("I25.11", "dagger"), ("N08.3", "asterisk")]
    assert (n.certainty, n.laterality, n.rest) == ("G", "L", "")
    assert [(p.code, p.role) for p in parse("A00.- U69.10!").parts] == [
        ("A00", "primary"), ("U69.10", "additional")]
    unmarked = parse("A17.0 G01", usage=lambda code: "aster" if code == "G01" else None)
    assert [p.role for p in unmarked.parts] == ["primary", "asterisk"]
    assert parse("foo J65").rest == "foo"
    assert not parse("J65").changed and parse("J65!").changed


def test_normalize_operation_get_and_post(client: TestClient, store: Store) -> None:
    _load(store)
    r = client.get("/fhir/CodeSystem/$normalize", params={"code": "I25.11† N08.3* V"})
    assert r.status_code == 200, r.text
    body = r.json()
    codings = [p["part"] for p in body["parameter"] if p["name"] == "coding"]
    first = {q["name"]: next(v for k, v in q.items() if k.startswith("value")) for q in codings[0]}
    assert first["role"] == "dagger" and first["found"] is True
    assert first["coding"]["code"] == "I25.11" and first["coding"]["version"] == "2099"
    assert first["coding"]["extension"][0]["valueCoding"]["code"] == "†"
    assert _params(body)["certainty"]["code"] == "V"
    r = client.post("/fhir/CodeSystem/$normalize", headers=FHIR_JSON, json={
        "resourceType": "Parameters", "parameter": [
            {"name": "code", "valueString": "A00.9 X99.9"}, {"name": "system", "valueUri": DIMDI}]})
    parts = [{q["name"]: next(v for k, v in q.items() if k.startswith("value"))
              for q in p["part"]} for p in r.json()["parameter"] if p["name"] == "coding"]
    assert [(p["coding"]["code"], p["role"], p["found"]) for p in parts] == [
        ("A00.9", "primary", True), ("X99.9", "additional", False)]
    r = client.get("/fhir/CodeSystem/$normalize", params={"code": "I10",
                                                         "system": "http://loinc.org"})
    assert r.status_code == 400


def test_normalize_without_icd_loaded_still_splits(client: TestClient) -> None:
    r = client.get("/fhir/CodeSystem/$normalize", params={"code": "J65 U69.12"})
    parts = [p["part"] for p in r.json()["parameter"] if p["name"] == "coding"]
    assert [[q["name"] for q in p] for p in parts] == [["coding", "role", "given"]] * 2


def test_cli_normalize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    assert main(["load", "--format", "bfarm-txt", str(KODES), "--db", db]) == 0
    capsys.readouterr()
    assert main(["normalize", "I25.11† N08.3*", "X99.9!", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["I25.11† N08.3*\tI25.11 dagger found\tN08.3 asterisk found",
                   "X99.9!\tX99.9 additional unknown"]


# -- real data ---------------------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_2024_and_2025_side_by_side(client: TestClient, store: Store) -> None:
    for year in ("2025", "2024"):
        _load(store, path=shared(f"icd10gm/bfarm-metadaten-txt/icd10gm{year}syst_kodes.txt.gz"))
    loaded = {cs.version: cs.concept_count for cs in store.code_systems(ICD)}
    # the codes of the file, plus 22 chapters and 243 blocks
    assert loaded == {"2024": 16_793 + 22 + 243, "2025": 16_817 + 22 + 243}
    r = client.get("/fhir/CodeSystem/$lookup", params={
        "system": DIMDI, "code": "U69.10", "version": "2024", "property": "usage"})
    params = _params(r.json())
    assert params["version"] == "2024" and params["display"].startswith("Anderenorts")
    assert _properties(r.json())["usage"] == ["optional"]
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": DIMDI, "code": "I25.11"})
    params = _params(r.json())
    assert (params["result"], params["system"], params["version"]) == (True, ICD, "2025")
