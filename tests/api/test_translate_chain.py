"""$translate on loaded Überleitungen: one year pair by url or by system + versions, chains over
several years (`targetSystem=url|version`), composed relationships, ambiguity, deleted codes.
Synthetic tables from tests/fixtures/umsteiger; the real DIMDI ZIPs from ../shared/data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.umsteiger import AUTO_BACKWARD, AUTO_FORWARD, ICD_SYSTEM, UmsteigerLoader
from termserver.ingest import load_path
from termserver.store import Store
from tests.helpers import shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "umsteiger"
MAP = "http://fhir.de/ConceptMap/bfarm/icd-10-gm-umsteiger-"
DIMDI = "http://fhir.de/CodeSystem/dimdi/icd-10-gm"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _load(store: Store, *paths: Path) -> None:
    for path in paths:
        load_path(store, UmsteigerLoader(), path, LoadOptions())


@pytest.fixture
def years(store: Store, client: TestClient) -> TestClient:
    """Tables 2097→2098 and 2098→2099 (both directions each) loaded."""
    _load(store, FIXTURES / "icd10gm2098syst_umsteiger_2097_2098.txt",
          FIXTURES / "icd10gm2099syst_umsteiger_2098_2099.txt")
    return client


def _translate(client: TestClient, code: str, version: str, target: str | None = None,
               r5: bool = False, **extra: str) -> dict[str, Any]:
    params = {"system": ICD_SYSTEM, "code": code, "version": version, **extra}
    if target is not None:
        params["targetsystem"] = f"{ICD_SYSTEM}|{target}"
    r = client.get("/fhir/ConceptMap/$translate", params=params, headers=R5 if r5 else {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _value(body: dict[str, Any], name: str) -> Any:
    return next((next(v for k, v in p.items() if k.startswith("value"))
                 for p in body["parameter"] if p["name"] == name), None)


def _matches(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for m in body["parameter"]:
        if m["name"] != "match":
            continue
        parts: dict[str, Any] = {}
        for p in m["part"]:
            if p["name"] == "product":
                values = [next(v for k, v in x.items() if k.startswith("value"))
                          for x in p["part"]]
                parts.setdefault("product", {})[values[0]] = values[1]
            else:
                parts[p["name"]] = next(v for k, v in p.items() if k.startswith("value"))
        out.append(parts)
    return out


def _codes(body: dict[str, Any]) -> dict[str, str]:
    """target code → R5 relationship or R4 equivalence ("-" for an unmatched match)."""
    return {m["concept"]["code"] if "concept" in m else "-":
            str(m.get("relationship") or m.get("equivalence")) for m in _matches(body)}


def test_one_year_pair_by_url_and_by_versions(years: TestClient) -> None:
    by_url = _translate(years, "B10.0", "2097", url=f"{MAP}2097-2098")
    assert _codes(by_url) == {"B10.00": "narrower", "B10.01": "narrower"}
    by_version = _translate(years, "B10.0", "2097", target="2098", r5=True)
    assert _codes(by_version) == {"B10.00": "source-is-broader-than-target",
                                  "B10.01": "source-is-broader-than-target"}
    match = _matches(by_version)[0]
    assert match["originMap"] == f"{MAP}2097-2098|2098"
    assert match["concept"]["version"] == "2098"
    assert match["product"] == {AUTO_FORWARD: "false", AUTO_BACKWARD: "true"}
    deleted = _translate(years, "E40.0", "2097", target="2098")
    assert _value(deleted, "result") is False
    assert _codes(deleted) == {"-": "unmatched"}


def test_unversioned_target_uses_every_map_of_the_source_version(years: TestClient) -> None:
    body = _translate(years, "A00.0", "2098", targetsystem=ICD_SYSTEM)
    versions = {m["concept"]["version"] for m in _matches(body)}
    assert versions == {"2097", "2099"}  # forward 2098→2099 and backward 2098→2097


def test_chain_over_two_years_reports_ambiguity(years: TestClient) -> None:
    body = _translate(years, "B10.0", "2097", target="2099")
    assert _value(body, "result") is True
    assert _codes(body) == {"B10.00": "narrower", "B10.01": "narrower"}
    message = _value(body, "message")
    assert "2097→2098" in message and "2098→2099" in message
    assert "ambiguous: 2 candidate codes in 2099 (B10.00, B10.01)" in message
    flags = _matches(_translate(years, "B10.0", "2097", target="2099", r5=True))[0]["product"]
    assert flags == {AUTO_FORWARD: "false", AUTO_BACKWARD: "true"}  # every step's A flags
    assert _matches(body)[0]["originMap"] == f"{MAP}2098-2099|2099"


def test_chain_composes_relationships(years: TestClient) -> None:
    assert _codes(_translate(years, "A00.0", "2097", target="2099")) == {"A00.0": "equivalent"}
    assert _codes(_translate(years, "C20.2", "2097", target="2099")) == {"C20.1": "wider"}
    # split in 2098, merged again in 2099: only related-to
    assert _codes(_translate(years, "K80.0", "2097", target="2099", r5=True)) == {
        "K80.9": "related-to"}


def test_chain_backwards(years: TestClient) -> None:
    body = _translate(years, "B10.01", "2099", target="2097", r5=True)
    assert _codes(body) == {"B10.0": "source-is-narrower-than-target"}
    new = _translate(years, "G60.5", "2099", target="2097")
    assert _value(new, "result") is False and _codes(new) == {"-": "unmatched"}


def test_chain_ends_for_a_code_deleted_on_the_way(years: TestClient) -> None:
    body = _translate(years, "A00.1", "2097", target="2099")
    assert _value(body, "result") is False
    assert _codes(body) == {"-": "unmatched"}
    match = _matches(body)[0]
    assert match["originMap"] == f"{MAP}2098-2099|2099"
    assert "without counterpart" in _value(body, "message")


def test_chain_with_unknown_code_or_missing_year(years: TestClient) -> None:
    unknown = _translate(years, "Z99.9", "2097", target="2099")
    assert _value(unknown, "result") is False and _codes(unknown) == {}
    assert "no stored map from version 2097 towards 2099 has this code" in \
        _value(unknown, "message")
    beyond = _translate(years, "A00.0", "2097", target="2101")
    assert _value(beyond, "result") is False
    assert "no stored map leads on from version 2099" in _value(beyond, "message")


def test_alias_system_and_post(years: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": DIMDI, "code": "C20.1",
                                           "version": "2097"}},
        {"name": "targetsystem", "valueUri": f"{DIMDI}|2099"}]}
    r = years.post("/fhir/ConceptMap/$translate", json=body)
    assert r.status_code == 200, r.text
    assert _codes(r.json()) == {"C20.1": "wider"}


def test_reload_replaces_the_map(store: Store, years: TestClient) -> None:
    _load(store, FIXTURES / "icd10gm2098syst_umsteiger_2097_2098.txt")
    assert _codes(_translate(years, "B10.0", "2097", target="2098")) == {
        "B10.00": "narrower", "B10.01": "narrower"}
    found = years.get("/fhir/ConceptMap", params={"url": f"{MAP}2097-2098"}).json()
    assert found["total"] == 1
    resource = found["entry"][0]["resource"]
    assert resource["version"] == "2098" and resource["meta"]["versionId"] == "2"


def test_real_2016_2017_i89_0(store: Store, client: TestClient) -> None:
    _load(store, shared("icd10gm/dimdi-metadaten-zips/x1gut2017.zip"))
    body = _translate(client, "I89.0", "2016", target="2017")
    assert _codes(body) == {c: "narrower" for c in (
        "I89.00", "I89.01", "I89.02", "I89.03", "I89.04", "I89.05", "I89.08", "I89.09")}
    r5 = _translate(client, "I89.0", "2016", url=f"{MAP}2016-2017", r5=True)
    assert set(_codes(r5).values()) == {"source-is-broader-than-target"}
    deleted = _translate(client, "U06.0", "2016", target="2017")
    assert _value(deleted, "result") is False and _codes(deleted) == {"-": "unmatched"}


def test_real_chain_2014_to_2017(store: Store, client: TestClient) -> None:
    _load(store, *(shared(f"icd10gm/dimdi-metadaten-zips/x1gut{y}.zip")
                   for y in (2015, 2016, 2017)))
    body = _translate(client, "I89.0", "2014", target="2017")
    assert len(_codes(body)) == 8 and set(_codes(body).values()) == {"narrower"}
    assert "2014→2015" in _value(body, "message") and "ambiguous: 8" in _value(body, "message")
    back = _translate(client, "I89.05", "2017", target="2014")
    assert _codes(back) == {"I89.0": "wider"}
