"""CodeSystem $subsumes and $closure on stored and tx-resource hierarchies."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import code_system

CS = "http://example.org/cs/tree"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _tree() -> dict[str, Any]:
    cs = code_system(CS, "1", codes=(), id="tree", caseSensitive=False)
    cs["concept"] = [{"code": "root", "concept": [
        {"code": "mid", "concept": [{"code": "leaf"}]}, {"code": "side"}]}]
    return cs


@pytest.fixture
def tree(client: TestClient) -> TestClient:
    assert client.put("/fhir/CodeSystem/tree", json=_tree()).status_code == 201
    return client


def _outcome(client: TestClient, a: str, b: str) -> str:
    got = client.get("/fhir/CodeSystem/$subsumes", params={"system": CS, "codeA": a, "codeB": b})
    assert got.status_code == 200, got.text
    return str(got.json()["parameter"][0]["valueCode"])


def test_subsumes_outcomes_on_stored_content(tree: TestClient) -> None:
    assert _outcome(tree, "root", "leaf") == "subsumes"
    assert _outcome(tree, "leaf", "root") == "subsumed-by"
    assert _outcome(tree, "mid", "MID") == "equivalent"  # case-insensitive code system
    assert _outcome(tree, "leaf", "side") == "not-subsumed"


def test_subsumes_with_codings_and_tx_resource(client: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "codingA", "valueCoding": {"system": CS, "code": "mid"}},
        {"name": "codingB", "valueCoding": {"system": CS, "code": "leaf"}},
        {"name": "tx-resource", "resource": _tree()}]}
    got = client.post("/fhir/CodeSystem/$subsumes", json=body)
    assert got.status_code == 200, got.text
    assert got.json()["parameter"] == [{"name": "outcome", "valueCode": "subsumes"}]


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"system": CS, "codeA": "root"}, 400, "invalid"),
    ({"codeA": "root", "codeB": "leaf"}, 400, "invalid"),
    ({"system": CS, "codeA": "root", "codeB": "nope"}, 404, "not-found"),
    ({"system": "http://example.org/none", "codeA": "a", "codeB": "b"}, 404, "not-found"),
    ({"system": CS, "version": "9", "codeA": "root", "codeB": "leaf"}, 404, "not-found"),
])
def test_subsumes_errors(tree: TestClient, params: dict[str, str], status: int,
                         code: str) -> None:
    got = tree.get("/fhir/CodeSystem/$subsumes", params=params)
    assert got.status_code == status, got.text
    assert got.json()["issue"][0]["code"] == code


def test_coding_from_another_system_is_refused(tree: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "system", "valueUri": CS},
        {"name": "codingA", "valueCoding": {"system": "http://other", "code": "x"}},
        {"name": "codeB", "valueCode": "leaf"}]}
    assert tree.post("/fhir/CodeSystem/$subsumes", json=body).status_code == 400


def _closure(client: TestClient, *parts: dict[str, Any],
             headers: dict[str, str] | None = None) -> Any:
    return client.post("/fhir/$closure", headers=headers,
                       json={"resourceType": "Parameters", "parameter": list(parts)})


def _concept(code: str) -> dict[str, Any]:
    return {"name": "concept", "valueCoding": {"system": CS, "code": code}}


def _pairs(cm: dict[str, Any], key: str = "equivalence") -> set[tuple[str, str, str]]:
    return {(e["code"], t["code"], t[key]) for g in cm.get("group", [])
            for e in g["element"] for t in e["target"]}


def test_closure_table_lifecycle(tree: TestClient) -> None:
    name = {"name": "name", "valueString": "t1"}
    first = _closure(tree, name)
    assert first.status_code == 200, first.text
    assert first.json()["resourceType"] == "ConceptMap" and "group" not in first.json()
    one = _closure(tree, name, _concept("mid"), _concept("leaf")).json()
    assert one["version"] == "1"
    assert _pairs(one) == {("leaf", "mid", "subsumes")}
    two = _closure(tree, name, _concept("root"), _concept("leaf"), headers=R5).json()
    assert two["version"] == "2"
    assert _pairs(two, "relationship") == {("mid", "root", "source-is-narrower-than-target"),
                                           ("leaf", "root", "source-is-narrower-than-target")}
    again = _closure(tree, name, {"name": "version", "valueString": "1"}).json()
    assert _pairs(again) == {(a, b, "subsumes") for a, b, _ in _pairs(two, "relationship")}
    nothing_new = _closure(tree, name, _concept("mid")).json()
    assert nothing_new["version"] == "2" and "group" not in nothing_new


@pytest.mark.parametrize(("extra", "status"), [
    ([], 400),  # no name
    ([{"name": "name", "valueString": "unknown"}, _concept("mid")], 404),
])
def test_closure_errors(tree: TestClient, extra: list[dict[str, Any]], status: int) -> None:
    got = _closure(tree, *extra)
    assert got.status_code == status, got.text
    assert got.json()["resourceType"] == "OperationOutcome"


def test_closure_bad_concept_and_version(tree: TestClient) -> None:
    name = {"name": "name", "valueString": "t2"}
    _closure(tree, name)
    assert _closure(tree, name, _concept("nope")).status_code == 404
    assert _closure(tree, name, {"name": "version", "valueString": "x"}).status_code == 400


def test_closure_is_a_write(store: Store) -> None:
    settings = Settings(db=store.url, api_tokens=frozenset({"w"}))
    with TestClient(create_app(settings, store)) as c:
        body = {"resourceType": "Parameters", "parameter": [{"name": "name", "valueString": "x"}]}
        assert c.post("/fhir/$closure", json=body).status_code == 401
        assert c.post("/fhir/$closure", json=body,
                      headers={"Authorization": "Bearer w"}).status_code == 200
