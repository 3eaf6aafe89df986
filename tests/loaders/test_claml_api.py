"""ClaML content over HTTP: the real German ICD-O-3 editions (from ../shared/data, skipped
when absent) with the category counts their SOURCE.md gives, side by side, and the
ICD-10-GM-shaped fixture answering $lookup, $validate-code and $expand with generated codes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import CodeSystemContent, LoadOptions
from loaders.claml import ClamlLoader
from termserver.ingest import load_path
from termserver.model import ConceptProperty
from termserver.store import Store
from tests.helpers import parameters_by_name, shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "claml"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
#: (file, version, chapters, blocks, categories) as ../shared/data/icd-o-3-claml/SOURCE.md counts
EDITIONS = [("icdo3_2014_claml_de.xml", "2014", 2, 75, 1476),
            ("icdo3_2019_claml_de.xml", "2019", 2, 75, 1545)]


def _properties(out: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for p in out.get("property", []):
        parts = {part["name"]: part for part in p["part"]}
        value = next(v for k, v in parts["value"].items() if k.startswith("value"))
        props.setdefault(parts["code"]["valueCode"], value)
    return props


def _lookup(client: TestClient, system: str, code: str, **extra: str) -> dict[str, Any]:
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": system, "code": code, **extra})
    assert r.status_code == 200, r.text
    return parameters_by_name(r.json())


@pytest.mark.parametrize(("name", "version", "chapters", "blocks", "categories"), EDITIONS)
def test_icdo3_edition_counts(name: str, version: str, chapters: int, blocks: int,
                              categories: int) -> None:
    items = list(ClamlLoader().read(shared(f"icd-o-3-claml/{name}"), LoadOptions()))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    content = items[0]
    assert (content.info.url, content.info.version, content.info.language) == \
        (ICDO3, version, "de")
    kinds = Counter(r.value for r in content.records
                    if isinstance(r, ConceptProperty) and r.property == "kind")
    assert kinds == {"chapter": chapters, "block": blocks, "category": categories}


def test_icdo3_editions_side_by_side_lookup(client: TestClient, store: Store) -> None:
    for name, *_ in EDITIONS:
        load_path(store, ClamlLoader(), shared(f"icd-o-3-claml/{name}"), LoadOptions())
    assert sorted(cs.version or "" for cs in store.code_systems(ICDO3)) == ["2014", "2019"]
    out = _lookup(client, ICDO3, "8000/0", version="2019")
    assert out["display"][0]["valueString"] == "Benigne Neoplasie o.n.A."
    assert out["version"][0]["valueString"] == "2019"
    props = _properties(_lookup(client, ICDO3, "C00.0", property="*"))
    assert (props["kind"], props["parent"]) == ("category", "C00")
    designations = [d["part"] for d in _lookup(client, ICDO3, "C00.0").get("designation", [])]
    assert any(p.get("valueString") == "Oberlippe, Lippenrot" for part in designations
               for p in part)
    # a category new in the second revision: only in 2019, which is also the default
    r = client.get("/fhir/CodeSystem/$lookup",
                   params={"system": ICDO3, "code": "8023/3", "version": "2014"})
    assert r.status_code == 404
    latest = _lookup(client, ICDO3, "8023/3")
    assert latest["version"][0]["valueString"] == "2019"


def test_icdo3_topography_descendants(client: TestClient, store: Store) -> None:
    load_path(store, ClamlLoader(), shared("icd-o-3-claml/icdo3_2019_claml_de.xml"),
              LoadOptions())
    vs = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [
        {"system": ICDO3, "filter": [{"property": "concept", "op": "descendent-of",
                                      "value": "C00"}]}]}}
    r = client.post("/fhir/ValueSet/$expand", json={
        "resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": vs}]})
    assert r.status_code == 200, r.text
    codes = {c["code"] for c in r.json()["expansion"]["contains"]}
    assert codes == {"C00.0", "C00.1", "C00.2", "C00.3", "C00.4", "C00.5", "C00.6", "C00.8",
                     "C00.9"}


def test_fixture_generated_codes_over_http(client: TestClient, store: Store) -> None:
    load_path(store, ClamlLoader(), FIXTURES / "icd10gm_modifiers.xml", LoadOptions())
    out = _lookup(client, ICD10GM, "E10.21", property="*")
    assert out["display"][0]["valueString"] == \
        "Diabetes mellitus, Typ 1: Mit Nierenkomplikationen: Als entgleist bezeichnet"
    props = _properties(out)
    assert (props["usage"], props["parent"], props["SexCode"]) == ("dagger", "E10.2", "9")
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": ICD10GM, "code": "E10.00", "version": "2025"})
    assert parameters_by_name(r.json())["result"][0]["valueBoolean"] is False
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": ICD10GM, "code": "M54.16", "version": "2025"})
    assert parameters_by_name(r.json())["result"][0]["valueBoolean"] is True
