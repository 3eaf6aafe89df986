"""SNOMED CT through the API: $lookup, $subsumes, implicit value sets (isa, refset, ECL),
the `constraint` filter, post-coordinated expressions and `?fhir_cm=` concept maps."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient

from termserver.store import Store
from tests.loaders.test_snomed import VERSION, load_fixture

SCT = "http://snomed.info/sct"


def _params(body: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: next((v for k, v in p.items() if k.startswith("value")), p.get("part"))
            for p in body.get("parameter", [])}


def _codes(body: dict[str, Any]) -> set[str]:
    return {c["code"] for c in body["expansion"].get("contains", [])}


def _ecl_vs(ecl: str) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": "http://example.org/vs/ecl", "status": "active",
            "compose": {"include": [{"system": SCT, "filter": [
                {"property": "constraint", "op": "=", "value": ecl}]}]}}


def test_lookup_and_subsumes(client: TestClient, store: Store) -> None:
    load_fixture(store)
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": SCT, "code": "235856003"})
    assert r.status_code == 200
    out = _params(r.json())
    assert out["display"] == "Disorder of liver" and out["version"] == VERSION
    r = client.get("/fhir/CodeSystem/$subsumes",
                   params={"system": SCT, "codeA": "404684003", "codeB": "235856003"})
    assert _params(r.json())["outcome"] == "subsumes"


def test_implicit_value_sets(client: TestClient, store: Store) -> None:
    load_fixture(store)
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{SCT}?fhir_vs=isa/404684003"})
    assert r.status_code == 200, r.text
    assert _codes(r.json()) == {"404684003", "64572001", "235856003"}
    r = client.get("/fhir/ValueSet/$expand",
                   params={"url": f"{SCT}?fhir_vs=ecl/{quote('< 64572001')}"})
    assert _codes(r.json()) == {"235856003"}
    r = client.get("/fhir/ValueSet/$expand",
                   params={"url": f"{SCT}?fhir_vs=refset/900000000000526001"})
    assert _codes(r.json()) == {"307530000"}
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{SCT}?fhir_vs", "count": "0"})
    body = r.json()["expansion"]
    assert body["total"] == 12
    assert body["extension"][0]["url"].endswith("valueset-unclosed")
    r = client.get("/fhir/ValueSet/$validate-code",
                   params={"url": f"{SCT}?fhir_vs=isa/404684003", "system": SCT,
                           "code": "10200004"})
    assert _params(r.json())["result"] is False
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{SCT}?fhir_vs=isa/99999999"})
    assert r.status_code == 404


def test_constraint_filter_and_expressions(client: TestClient, store: Store) -> None:
    load_fixture(store)
    vs = _ecl_vs("< 64572001 : 363698007 = << 123037004")
    r = client.post("/fhir/ValueSet/$expand", json={"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": vs}]})
    assert _codes(r.json()) == {"235856003"}
    for code, member in (("235856003", True), ("64572001", False),
                         ("64572001 |Disease| : 363698007 |Finding site| = 10200004", True),
                         ("64572001 : 363698007 = 24028007", False)):
        r = client.post("/fhir/ValueSet/$validate-code", json={
            "resourceType": "Parameters", "parameter": [
                {"name": "valueSet", "resource": vs}, {"name": "system", "valueUri": SCT},
                {"name": "code", "valueCode": code}]})
        assert _params(r.json())["result"] is member, (code, r.json())
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": SCT, "code": "64572001:363698007=10200004"})
    out = _params(r.json())
    assert out["result"] is True
    assert out["display"] == "64572001|Disease|:363698007|Finding site|=10200004|Liver structure|"


def test_invalid_ecl_is_a_client_error(client: TestClient, store: Store) -> None:
    load_fixture(store)
    for ecl in ("<< abc", "< 99999999", "<< 64572001 <<"):
        r = client.post("/fhir/ValueSet/$expand", json={
            "resourceType": "Parameters", "parameter": [
                {"name": "valueSet", "resource": _ecl_vs(ecl)}]})
        assert r.status_code == 400, (ecl, r.text)
        assert "INVALID_ECL" in r.text


def test_historical_association_concept_map(client: TestClient, store: Store) -> None:
    load_fixture(store)
    url = f"{SCT}?fhir_cm=900000000000526001"
    r = client.post("/fhir/ConceptMap/$translate", json={
        "resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": url}, {"name": "system", "valueUri": SCT},
            {"name": "sourceCode", "valueCode": "307530000"}]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert _params(out)["result"] is True
    match = next(p for p in out["parameter"] if p["name"] == "match")
    concept = next(p for p in match["part"] if p["name"] == "concept")
    assert concept["valueCoding"]["code"] == "64572001"
