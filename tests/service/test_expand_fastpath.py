"""GET $expand answered before FastAPI's routing (termserver/api/fastpath.py) gives exactly the
answer of the FastAPI route, over many parameter and header combinations, on SQLite and
PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.api import attempt as attempts
from termserver.api import fastpath
from tests.helpers import indexed_api
from tests.service.test_expand_paged import CS, _code_system

VS = "http://example.org/vs/lab-stored"
VS_CHEM = "http://example.org/vs/lab-chem"


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        for vid, url, include in (
                ("lab-stored", VS, {"system": CS}),
                ("lab-chem", VS_CHEM, {"system": CS, "filter": [
                    {"property": "CLASS", "op": "=", "value": "CHEM"}]})):
            vs = {"resourceType": "ValueSet", "id": vid, "url": url, "version": "1",
                  "status": "active", "compose": {"include": [include]}}
            assert c.put(f"/fhir/ValueSet/{vid}", json=vs).status_code in (200, 201)
        yield c


def _answer(api: TestClient, params: list[tuple[str, str]], headers: dict[str, str]
            ) -> tuple[int, Any]:
    r = api.get("/fhir/ValueSet/$expand", params=params, headers=headers)
    body = r.json()
    if body.get("resourceType") == "ValueSet":
        body["expansion"].pop("identifier")
        body["expansion"].pop("timestamp")
    return r.status_code, body


URLS = [VS, VS_CHEM, f"{VS}|1", f"{CS}?fhir_vs", "http://example.org/vs/unknown"]
SHAPES: list[list[tuple[str, str]]] = [
    [],
    [("count", "3")],
    [("count", "2"), ("offset", "3")],
    [("count", "0")],
    [("offset", "100"), ("count", "5")],
    [("filter", "sod")],
    [("filter", "natrium"), ("count", "5"), ("displayLanguage", "de")],
    [("filter", "diab mell"), ("count", "10"), ("includeDesignations", "true")],
    [("activeOnly", "true"), ("count", "4"), ("property", "CLASS")],
    [("excludeNested", "false")],
    [("count", "-1")],
    [("count", "x")],
    [("valueSetVersion", "1"), ("count", "2")],
    [("filter", "E11"), ("count", "2"), ("offset", "1")],
]
HEADERS: list[dict[str, str]] = [
    {},
    {"Accept": "application/fhir+json; fhirVersion=5.0"},
    {"Accept-Language": "de"},
    {"x-too-costly-threshold": "3"},
]


DEFAULT_BUDGET = attempts.INLINE_BUDGET


@pytest.mark.parametrize("budget", [DEFAULT_BUDGET, 0.0, 0.0003],
                         ids=["inline", "thread", "interrupted"])
def test_fast_path_answers_as_the_route(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                        budget: float) -> None:
    """Answered on the event loop, in a worker thread (no budget), or by a worker thread
    after an attempt the budget stopped part way (SQLite): the route's answer each time (the
    route's GET, itself not attempted, answers in a worker thread)."""
    monkeypatch.setattr(attempts, "INLINE_BUDGET", budget)
    cases = [([("url", url), *shape], headers)
             for url, shape, headers in itertools.product(URLS, SHAPES, HEADERS)]
    calls: list[object] = []
    real = fastpath.FastPath._expand

    async def spy(self: fastpath.FastPath, *args: Any) -> None:
        calls.append(args)
        await real(self, *args)

    inline: list[bool] = []
    attempt = attempts.attempt

    def attempted(store: Any, answer: Any) -> Any:
        done = attempt(store, answer)
        inline.append(bool(done))
        return done

    monkeypatch.setattr(fastpath.FastPath, "_expand", spy)
    monkeypatch.setattr(attempts, "attempt", attempted)
    fast = [_answer(api, params, headers) for params, headers in cases]
    assert len(calls) == len(cases), "the fast path did not answer"
    if api.app.state.store.inline_reads:  # type: ignore[attr-defined]
        if budget == 0.0:
            assert not any(inline)
        elif budget == DEFAULT_BUDGET:  # (the interrupted ones: as it happens)
            assert any(inline), "none answered on the event loop"
    else:  # PostgreSQL: every expansion in a worker thread
        assert not any(inline)
    monkeypatch.setattr(fastpath, "EXPAND", "/not-the-fast-path")  # to the FastAPI route
    routed = [_answer(api, params, headers) for params, headers in cases]
    assert len(calls) == len(cases)
    statuses = {status for status, _ in fast}
    assert {200, 400, 404} <= statuses or {200, 400, 422} <= statuses, statuses
    for (params, headers), f, r in zip(cases, fast, routed, strict=True):
        assert f == r, (params, headers)


def test_post_still_goes_to_the_route(api: TestClient) -> None:
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS}, {"name": "count", "valueInteger": 2}]}
    r = api.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 200 and len(r.json()["expansion"]["contains"]) == 2
