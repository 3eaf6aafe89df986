"""System level: batch Bundles (in-process dispatch), $versions, metadata in R4/R5, and the
built-in FHIR core content."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.api.app import create_app
from termserver.fhir.capabilities import OPERATIONS, SYSTEM_OPERATIONS
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import code_system

R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}
GENDER = "http://hl7.org/fhir/administrative-gender"


def _batch(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "batch", "entry": list(entries)}


def _get(url: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": url}}


def test_batch_runs_every_entry_in_order(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/b", json=code_system("http://example.org/b", id="b"))
    post = {"request": {"method": "POST", "url": "CodeSystem/$lookup"},
            "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "system", "valueUri": "http://example.org/b"},
                {"name": "code", "valueCode": "b"}]}}
    got = client.post("/fhir", json=_batch(
        _get("CodeSystem/$lookup?system=http://example.org/b&code=a"), post,
        _get("CodeSystem/$lookup?system=http://example.org/b&code=zz"),
        _get("http://testserver/fhir/CodeSystem/b"), {"request": {"method": "GET"}},
        _get("Nothing/here")))
    assert got.status_code == 200, got.text
    bundle = got.json()
    assert bundle["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in bundle["entry"]]
    assert statuses == ["200 OK", "200 OK", "404 Not Found", "200 OK", "400 Bad Request",
                        "404 Not Found"]
    resources = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert resources == ["Parameters", "Parameters", "OperationOutcome", "CodeSystem",
                         "OperationOutcome", "OperationOutcome"]
    assert bundle["entry"][3]["response"]["etag"] == 'W/"1"'


def test_batch_many_entries(client: TestClient) -> None:
    entries = [_get(f"CodeSystem/$subsumes?system={GENDER}&codeA=male&codeB={c}")
               for c in ("male", "female") * 100]
    bundle = client.post("/fhir", json=_batch(*entries)).json()
    outcomes = [e["resource"]["parameter"][0]["valueCode"] for e in bundle["entry"]]
    assert outcomes == ["equivalent", "not-subsumed"] * 100


@pytest.mark.parametrize(("body", "status"), [
    ({"resourceType": "Parameters"}, 400),
    ({"resourceType": "Bundle", "type": "transaction"}, 400),
    ({"resourceType": "Bundle", "type": "batch", "entry": {}}, 400),
])
def test_batch_refuses_what_is_not_a_batch(client: TestClient, body: dict[str, Any],
                                           status: int) -> None:
    got = client.post("/fhir", json=body)
    assert got.status_code == status
    assert got.json()["resourceType"] == "OperationOutcome"


def test_nested_batch_and_foreign_urls_fail_per_entry(client: TestClient) -> None:
    bundle = client.post("/fhir", json=_batch(
        {"request": {"method": "POST", "url": ""}, "resource": _batch()},
        _get("http://elsewhere.example/fhir/CodeSystem"),
        {"request": {"method": "PATCH", "url": "CodeSystem/x"}})).json()
    assert [e["response"]["status"] for e in bundle["entry"]] == ["400 Bad Request"] * 3


def test_batch_entries_are_authorised_one_by_one(store: Store) -> None:
    settings = Settings(db=store.url, api_tokens=frozenset({"w"}))
    with TestClient(create_app(settings, store)) as c:
        put = {"request": {"method": "PUT", "url": "CodeSystem/p"},
               "resource": code_system("http://example.org/p", id="p")}
        bundle = c.post("/fhir", json=_batch(put, _get("metadata"))).json()
        assert [e["response"]["status"] for e in bundle["entry"]] == ["401 Unauthorized",
                                                                      "200 OK"]
        bundle = c.post("/fhir", json=_batch(put),
                        headers={"Authorization": "Bearer w"}).json()
        assert bundle["entry"][0]["response"]["status"] == "201 Created"


def test_versions_operation(client: TestClient) -> None:
    for method in (client.get, client.post):
        got = method("/fhir/$versions")
        assert got.status_code == 200
        assert got.json()["parameter"] == [{"name": "version", "valueCode": "4.0"},
                                           {"name": "version", "valueCode": "5.0"},
                                           {"name": "default", "valueCode": "4.0"}]


def test_metadata_follows_the_requested_fhir_version(client: TestClient) -> None:
    assert client.get("/fhir/metadata").json()["fhirVersion"] == "4.0.1"
    cap = client.get("/fhir/metadata", headers=R5).json()
    assert cap["fhirVersion"] == "5.0.0"
    assert {o["name"] for o in cap["rest"][0]["operation"]} == {
        "versions", "closure", "cache-control", "translate-bulk", "lookup-bulk",
        "validate-code-bulk"}
    terms = client.get("/fhir/metadata", params={"mode": "terminology"}, headers=R5).json()
    gender = next(c for c in terms["codeSystem"] if c["uri"] == GENDER)
    assert gender["version"] == [{"code": "5.0.0", "isDefault": True}]
    assert {"name": "tx-resource"} in terms["expansion"]["parameter"]


def test_every_listed_operation_has_a_route(client: TestClient) -> None:
    empty = {"resourceType": "Parameters"}
    paths = [f"/fhir/{rtype}/${name}" for rtype, name, _ in OPERATIONS]
    paths += [f"/fhir/${name}" for name, _ in SYSTEM_OPERATIONS]
    for path in paths:
        assert client.post(path, json=empty).status_code not in (404, 405), path


def test_builtin_core_content_at_the_client_version(client: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": "http://hl7.org/fhir/ValueSet/administrative-gender"}]}
    for headers, version in (({}, "4.0.1"), (R5, "5.0.0")):
        got = client.post("/fhir/ValueSet/$expand", json=body, headers=headers)
        assert got.status_code == 200, got.text
        expansion = got.json()["expansion"]
        assert [c["code"] for c in expansion["contains"]] == ["male", "female", "other",
                                                              "unknown"]
        assert {"name": "used-codesystem", "valueUri": f"{GENDER}|{version}"} in expansion[
            "parameter"]


def test_stored_content_comes_before_builtin(client: TestClient) -> None:
    mine = code_system(GENDER, "local", codes=("x",), id="g")
    client.put("/fhir/CodeSystem/g", json=mine)
    got = client.get("/fhir/CodeSystem/$subsumes",
                     params={"system": GENDER, "codeA": "x", "codeB": "x"})
    assert got.status_code == 200, got.text
    old = client.get("/fhir/CodeSystem/$subsumes", params={
        "system": GENDER, "version": "4.0.1", "codeA": "male", "codeB": "male"})
    assert old.json()["parameter"][0]["valueCode"] == "equivalent"
