"""Post-coordinated SNOMED CT expressions nested without bound are refused, not a 500."""

from __future__ import annotations

import pytest
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


def test_a_whole_code_system_read_checks_the_request_deadline(store: Store) -> None:
    from termserver import ingest
    from termserver.errors import TooCostly
    from tests.helpers import code_system

    url = "http://example.org/cs/deadline"
    with store.writer() as w:
        ingest.save_resource(w, code_system(url, codes=tuple(f"c{i}" for i in range(50))),
                             mode="create")
    found = store.resolve_code_system(url)
    assert found is not None
    assert len(list(store.concept_details(found.pk))) == 50
    calls = []

    def expired() -> None:
        calls.append(1)
        raise TooCostly("the request deadline passed")

    with pytest.raises(TooCostly):
        list(store.concept_details(found.pk, expired))
    assert calls  # checked while reading, before any concept is built
