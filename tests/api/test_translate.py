"""ConceptMap $translate: stored maps (indexed rows) and tx-resource maps, R4 and R5 wire."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.store import Store

SRC, TGT = "http://example.org/cs/src", "http://example.org/cs/tgt"
MAP_URL = "http://example.org/cm/m"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _map(**extra: Any) -> dict[str, Any]:
    cm: dict[str, Any] = {
        "resourceType": "ConceptMap", "id": "m", "url": MAP_URL, "version": "1.0",
        "status": "active", "sourceScopeUri": "http://example.org/vs/src",
        "targetScopeUri": "http://example.org/vs/tgt",
        "group": [{"source": SRC, "target": TGT, "element": [
            {"code": "a", "target": [{"code": "A", "display": "Big A",
                                      "relationship": "equivalent"}]},
            {"code": "b", "target": [{"code": "B1",
                                      "relationship": "source-is-broader-than-target"},
                                     {"code": "B2", "relationship": "related-to",
                                      "dependsOn": [{"attribute": "http://x/side",
                                                     "valueCode": "left"}]}]},
            {"code": "n", "noMap": True}],
            "unmapped": {"mode": "fixed", "code": "UNK", "relationship": "related-to"}}]}
    cm.update(extra)
    return cm


def _params(*pairs: tuple[str, str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters",
            "parameter": [{"name": n, k: v} for n, k, v in pairs]}


def _matches(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [{p["name"]: p.get("valueCode") or p.get("valueCoding") or p.get("valueCanonical")
             for p in m["part"]} for m in body["parameter"] if m["name"] == "match"]


def _result(body: dict[str, Any]) -> bool:
    return next(p["valueBoolean"] for p in body["parameter"] if p["name"] == "result")


@pytest.fixture
def stored(client: TestClient) -> TestClient:
    assert client.put("/fhir/ConceptMap/m", json=_map()).status_code == 201
    return client


def test_forward_on_a_stored_map_r4_and_r5(stored: TestClient) -> None:
    query = {"system": SRC, "code": "a"}
    r4 = stored.get("/fhir/ConceptMap/$translate", params=query)
    assert r4.status_code == 200, r4.text
    assert _result(r4.json()) is True
    assert _matches(r4.json()) == [{"equivalence": "equivalent", "originMap": f"{MAP_URL}|1.0",
                                    "concept": {"system": TGT, "code": "A",
                                                "display": "Big A"}}]
    r5 = stored.get("/fhir/ConceptMap/$translate", params=query, headers=R5).json()
    assert _matches(r5)[0]["relationship"] == "equivalent"
    assert "equivalence" not in _matches(r5)[0]


def test_several_targets_dependencies_and_target_system(stored: TestClient) -> None:
    body = _params(("sourceSystem", "valueUri", SRC), ("sourceCode", "valueCode", "b"))
    found = _matches(stored.post("/fhir/ConceptMap/$translate", json=body, headers=R5).json())
    assert [m["concept"]["code"] for m in found] == ["B1", "B2"]
    body["parameter"].append({"name": "dependency", "part": [
        {"name": "attribute", "valueUri": "http://x/side"},
        {"name": "value", "valueCode": "right"}]})
    found = _matches(stored.post("/fhir/ConceptMap/$translate", json=body).json())
    assert [m["concept"]["code"] for m in found] == ["B1"]  # B2 needs side=left
    other = stored.get("/fhir/ConceptMap/$translate",
                       params={"system": SRC, "code": "a", "targetsystem": "http://other"})
    assert _result(other.json()) is False


def test_reverse_r5_and_r4(stored: TestClient) -> None:
    r5 = stored.post("/fhir/ConceptMap/$translate", headers=R5, json=_params(
        ("targetSystem", "valueUri", TGT), ("targetCode", "valueCode", "A"),
        ("sourceSystem", "valueUri", SRC))).json()
    assert _result(r5) is True
    match = _matches(r5)[0]
    assert match["concept"] == {"system": TGT, "code": "A", "display": "Big A"}
    assert match["source"] == {"system": SRC, "code": "a"}
    r4 = stored.get("/fhir/ConceptMap/$translate",
                    params={"system": TGT, "code": "B1", "reverse": "true"}).json()
    assert _matches(r4)[0]["source"]["code"] == "b"


def test_unmapped_rule_and_no_map(stored: TestClient) -> None:
    unknown = stored.get("/fhir/ConceptMap/$translate", params={"system": SRC, "code": "zz"})
    assert _matches(unknown.json())[0]["concept"] == {"system": TGT, "code": "UNK"}
    nomap = stored.get("/fhir/ConceptMap/$translate", params={"system": SRC, "code": "n"})
    body = nomap.json()
    assert _result(body) is False
    assert _matches(body) == [{"equivalence": "unmatched", "originMap": f"{MAP_URL}|1.0"}]
    assert any(p["name"] == "message" for p in body["parameter"])


def test_tx_resource_map_r4_form_and_use_source_code(client: TestClient) -> None:
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm/r4", "status": "active",
          "group": [{"source": SRC, "target": TGT, "element": [
              {"code": "a", "target": [{"code": "A", "equivalence": "wider"}]}],
              "unmapped": {"mode": "provided"}}]}
    body = _params(("system", "valueUri", SRC), ("code", "valueCode", "a"))
    body["parameter"].append({"name": "tx-resource", "resource": cm})
    got = client.post("/fhir/ConceptMap/$translate", json=body)
    assert got.status_code == 200, got.text
    assert _matches(got.json())[0]["equivalence"] == "wider"
    assert _matches(client.post("/fhir/ConceptMap/$translate", json=body, headers=R5).json())[
        0]["relationship"] == "source-is-narrower-than-target"
    body["parameter"][1]["valueCode"] = "q"
    same = _matches(client.post("/fhir/ConceptMap/$translate", json=body).json())[0]
    assert same["concept"] == {"system": TGT, "code": "q"}


def test_inline_map_url_scope_and_instance(stored: TestClient, store: Store) -> None:
    inline = _map(url="http://example.org/cm/inline")
    inline["group"][0]["element"][0]["target"][0]["code"] = "INLINE"
    body = _params(("system", "valueUri", SRC), ("code", "valueCode", "a"))
    body["parameter"].append({"name": "conceptMap", "resource": inline})
    found = _matches(stored.post("/fhir/ConceptMap/$translate", json=body).json())
    assert [m["concept"]["code"] for m in found] == ["INLINE"]
    scoped = stored.get("/fhir/ConceptMap/$translate", params={
        "system": SRC, "code": "a", "source": "http://example.org/vs/src"}).json()
    assert _result(scoped) is True
    wrong = stored.get("/fhir/ConceptMap/$translate", params={
        "system": SRC, "code": "a", "target": "http://example.org/vs/other"}).json()
    assert _result(wrong) is False
    inst = stored.get("/fhir/ConceptMap/m/$translate", params={"system": SRC, "code": "a"})
    assert _result(inst.json()) is True
    assert store.map_rows("a", SRC)[0][1] == MAP_URL


@pytest.mark.parametrize(("params", "status", "code"), [
    ({"code": "a"}, 400, "invalid"),  # no system
    ({"system": SRC}, 400, "invalid"),  # nothing to translate
    ({"system": SRC, "code": "a", "reverse": "maybe"}, 400, "invalid"),
    ({"system": SRC, "code": "a", "url": "http://example.org/cm/none"}, 404, "not-found"),
])
def test_bad_input_is_an_operation_outcome(client: TestClient, params: dict[str, str],
                                           status: int, code: str) -> None:
    got = client.get("/fhir/ConceptMap/$translate", params=params)
    assert got.status_code == status, got.text
    assert got.json()["resourceType"] == "OperationOutcome"
    assert got.json()["issue"][0]["code"] == code


def test_unknown_instance_and_conflicting_inputs(client: TestClient) -> None:
    assert client.get("/fhir/ConceptMap/nope/$translate",
                      params={"system": SRC, "code": "a"}).status_code == 404
    both = _params(("sourceCode", "valueCode", "a"), ("targetCode", "valueCode", "A"),
                   ("system", "valueUri", SRC))
    assert client.post("/fhir/ConceptMap/$translate", json=both).status_code == 400
