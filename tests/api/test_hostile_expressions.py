"""Post-coordinated SNOMED CT expressions nested without bound are refused, not a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from termserver.service.snomed_expression import MAX_NESTING, parse
from termserver.store import Store
from tests.loaders.test_snomed import load_fixture

SCT = "http://snomed.info/sct"


def _nested(depth: int) -> str:
    return "404684003:363698007=(" * depth + "404684003" + ")" * depth


def test_nesting_is_bounded_in_the_parser() -> None:
    assert parse(_nested(MAX_NESTING)) is not None
    assert parse(_nested(MAX_NESTING + 1)) is None
    assert parse(_nested(2000)) is None  # no RecursionError


def test_deep_expressions_are_client_errors(client: TestClient, store: Store) -> None:
    load_fixture(store)
    code = _nested(2000)
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": SCT, "code": code})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["resourceType"] == "OperationOutcome"
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": SCT, "code": code})
    assert r.status_code == 200, r.text
    result = next(p for p in r.json()["parameter"] if p["name"] == "result")
    assert result["valueBoolean"] is False
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": SCT, "code": "404684003"})
    assert r.status_code == 200  # the server goes on answering
