"""$expand over stored content and over tx-resource content, one code path."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import code_system, value_set

CS_URL = "http://example.org/cs/h"


def _hierarchy() -> dict[str, Any]:
    cs = code_system(CS_URL, "1", codes=())
    cs["concept"] = [
        {"code": "a", "display": "Alpha", "concept": [
            {"code": "a1", "display": "Alpha one",
             "property": [{"code": "status", "valueCode": "retired"}]},
            {"code": "a2", "display": "Alpha two", "concept": [{"code": "a2x", "display": "X"}]}]},
        {"code": "b", "display": "Beta"}]
    return cs


def _codes(vs: dict[str, Any]) -> list[str]:
    """Every code of the expansion, depth-first (nested entries follow their parent)."""
    out: list[str] = []
    stack = list(reversed(vs["expansion"].get("contains", [])))
    while stack:
        c = stack.pop()
        out.append(c["code"])
        stack += reversed(c.get("contains", []))
    return out


def test_expand_stored_value_set_with_filters(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/h", json={**_hierarchy(), "id": "h"})
    isa = value_set("http://example.org/vs/isa", id="isa", compose={"include": [
        {"system": CS_URL, "filter": [{"property": "concept", "op": "is-a", "value": "a2"}]}]})
    client.put("/fhir/ValueSet/isa", json=isa)
    got = client.get("/fhir/ValueSet/$expand", params={"url": "http://example.org/vs/isa"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert _codes(body) == ["a2", "a2x"]
    assert [c["code"] for c in body["expansion"]["contains"][0]["contains"]] == ["a2x"]
    assert body["expansion"]["total"] == 2
    assert {"name": "used-codesystem", "valueUri": f"{CS_URL}|1"} in body["expansion"][
        "parameter"]


def test_expand_tx_resource_like_stored(client: TestClient) -> None:
    vs = value_set("http://example.org/vs/all", compose={
        "include": [{"system": CS_URL}],
        "exclude": [{"system": CS_URL, "concept": [{"code": "b"}]}]})
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": "http://example.org/vs/all"},
        {"name": "activeOnly", "valueBoolean": True},
        {"name": "tx-resource", "resource": _hierarchy()},
        {"name": "tx-resource", "resource": vs}]}
    got = client.post("/fhir/ValueSet/$expand", json=body).json()
    assert _codes(got) == ["a", "a2", "a2x"]  # a1 retired → inactive, b excluded
    assert {"name": "activeOnly", "valueBoolean": True} in got["expansion"]["parameter"]


def test_expand_paging_and_errors(client: TestClient) -> None:
    inline = value_set("http://example.org/vs/p", compose={"include": [{"system": CS_URL}]})
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": inline}, {"name": "count", "valueInteger": 2},
        {"name": "offset", "valueInteger": 1},
        {"name": "tx-resource", "resource": _hierarchy()}]}
    got = client.post("/fhir/ValueSet/$expand", json=body).json()
    assert _codes(got) == ["a1", "a2"] and got["expansion"]["total"] == 5
    unknown = client.get("/fhir/ValueSet/$expand", params={"url": "http://example.org/none"})
    assert unknown.status_code == 404
    assert unknown.json()["issue"][0]["code"] == "not-found"
    bad_regex = value_set("http://example.org/vs/r", compose={"include": [
        {"system": CS_URL, "filter": [{"property": "code", "op": "regex", "value": "(["}]}]})
    r = client.post("/fhir/ValueSet/$expand", json={"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": bad_regex},
        {"name": "tx-resource", "resource": _hierarchy()}]})
    assert r.status_code == 400 and r.json()["issue"][0]["code"] == "invalid"
    assert client.get("/fhir/ValueSet/$expand").status_code == 400
