"""GET ConceptMap/$translate on the fast path (termserver.api.fastpath_translate) answers
exactly what the FastAPI route answers: status and body compared over many inputs (stored
maps in R4 and R5 form, several versions of one map, dependsOn and product, noMap, `unmapped`
rules fixed / use-source-code / other-map, reverse, unknown codes, systems and maps), R4 and R5
output, on both backends. The element reads do not depend on the map's size."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.middleware import Middleware

from termserver.api.app import create_app
from termserver.api.fastpath_translate import TranslateFastPath
from termserver.fhir.params import pairs_from_query
from termserver.fhir.translation import simple_translate_request, translate_request
from termserver.settings import Settings
from termserver.store import Store
from termserver.store.bulk import map_rows_many

SRC, TGT, TGT2 = "http://example.org/cs/src", "http://example.org/cs/tgt", "http://x.org/t2"
A, B, C = "http://example.org/cm/a", "http://example.org/cm/b", "http://example.org/cm/c"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _maps() -> list[dict[str, Any]]:
    a1 = {"resourceType": "ConceptMap", "id": "a1", "url": A, "version": "1.0",
          "status": "active", "group": [{"source": SRC, "target": TGT, "element": [
              {"code": "a", "target": [{"code": "A", "display": "Big A",
                                        "relationship": "equivalent"}]},
              {"code": "b", "target": [
                  {"code": "B1", "relationship": "source-is-broader-than-target"},
                  {"code": "B2", "relationship": "related-to", "comment": "c",
                   "dependsOn": [{"attribute": "http://x/side", "valueCode": "left"}],
                   "product": [{"attribute": "http://x/unit", "valueString": "mg"}]}]},
              {"code": "n", "noMap": True}],
              "unmapped": {"mode": "fixed", "code": "UNK", "relationship": "related-to"}}]}
    a2 = {**a1, "id": "a2", "version": "2.0", "group": [{
        "source": SRC, "target": TGT, "element": [
            {"code": "a", "target": [{"code": "A2", "relationship": "equivalent"}]}],
        "unmapped": {"mode": "use-source-code"}}]}
    b = {"resourceType": "ConceptMap", "id": "b", "url": B, "version": "3",
         "status": "active", "group": [
             {"source": SRC, "sourceVersion": "2024", "target": TGT2, "element": [
                 {"code": "a", "target": [{"code": "X", "equivalence": "wider"}]},
                 {"code": "c", "display": "see", "target": [
                     {"code": "C", "equivalence": "equal", "product": [
                         {"property": "http://x/p", "system": TGT2, "value": "v"}]}]},
                 {"code": "d", "target": [{"code": "D", "equivalence": "disjoint"}]}]},
             {"source": SRC, "target": TGT, "element": [
                 {"code": "c", "target": [{"code": "A", "equivalence": "inexact"}]}]}]}
    c = {"resourceType": "ConceptMap", "id": "c", "url": C, "status": "active", "group": [
        {"source": SRC, "target": TGT2, "element": [
            {"code": "e", "target": [{"code": "E", "relationship": "equivalent"}]}],
         "unmapped": {"mode": "other-map", "otherMap": B}}]}
    return [a1, a2, b, c]


def with_fast_path(app: FastAPI, wanted: bool) -> FastAPI:
    """The app with the translate fast path innermost (wanted) or without it at all."""
    app.user_middleware = [m for m in app.user_middleware
                           if cast(Any, m).cls is not TranslateFastPath]
    if wanted:
        app.user_middleware.append(Middleware(TranslateFastPath))
    return app


@pytest.fixture
def clients(settings: Settings, store: Store) -> Iterator[tuple[TestClient, TestClient]]:
    fast = with_fast_path(create_app(settings, store), True)
    full = with_fast_path(create_app(settings, store), False)
    with TestClient(fast) as f, TestClient(full) as g:
        for cm in _maps():
            assert f.put(f"/fhir/ConceptMap/{cm['id']}", json=cm).status_code == 201
        yield f, g


def _queries() -> Iterator[list[tuple[str, str]]]:
    codes = ["a", "b", "c", "d", "e", "n", "zz"]
    for code, system, url, target in itertools.product(
            codes, [SRC, "http://nope"], [None, A, f"{A}|1.0", B, C, "http://nope/cm"],
            [None, TGT, TGT2]):
        q = [("code", code), ("system", system)]
        if url is not None:
            q.append(("url", url))
        if target is not None:
            q.append(("targetsystem", target))
        yield q
    for code in ("A", "B2", "X", "C", "nothing"):  # reverse, R4 and R5 forms
        yield [("code", code), ("system", TGT), ("reverse", "true")]
        yield [("targetCode", code), ("targetSystem", TGT2)]
        yield [("targetCode", code), ("targetSystem", TGT), ("url", A)]
    yield [("code", "a"), ("system", SRC), ("version", "2024")]  # source version
    yield [("code", "a"), ("system", SRC), ("url", A), ("conceptMapVersion", "2.0")]
    yield [("sourceCode", "c"), ("sourceSystem", SRC), ("targetSystem", TGT2)]
    yield [("code", "a")]  # errors answer alike too
    yield [("code", "a"), ("system", SRC), ("reverse", "maybe")]
    yield [("code", "a"), ("targetCode", "A"), ("system", SRC)]


def test_fast_path_answers_exactly_as_the_route(clients: tuple[TestClient, TestClient]) -> None:
    fast, full = clients
    compared = 0
    for query in _queries():
        for headers in ({}, R5):
            a = fast.get("/fhir/ConceptMap/$translate", params=query, headers=headers)
            b = full.get("/fhir/ConceptMap/$translate", params=query, headers=headers)
            assert (a.status_code, a.json()) == (b.status_code, b.json()), query
            compared += 1
    assert compared > 500


def test_fast_path_really_answers(clients: tuple[TestClient, TestClient],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path, not the route, answers a GET (the route is made to fail)."""
    from termserver.api.routes import conceptmap

    def broken(*_: Any) -> Any:
        raise AssertionError("the route answered")

    monkeypatch.setattr(conceptmap, "_translate", broken)
    fast, _ = clients
    r = fast.get("/fhir/ConceptMap/$translate", params={"code": "a", "system": SRC, "url": A},
                 headers=R5)
    assert r.status_code == 200
    parts = [p for m in r.json()["parameter"] if m["name"] == "match" for p in m["part"]]
    assert {"name": "relationship", "valueCode": "equivalent"} in parts
    assert {"name": "originMap", "valueCanonical": f"{A}|1.0"} in parts


def test_element_reads_are_by_code_not_by_map(settings: Settings, store: Store) -> None:
    """A read for one code returns that code's rows (and the group's unmapped rule) only,
    in map order, however many elements the map has."""
    with TestClient(create_app(settings, store)) as c:
        elements = [{"code": f"L{i}", "target": [{"code": f"T{i}", "equivalence": "equal"}]}
                    for i in range(3000)]
        cm = {"resourceType": "ConceptMap", "id": "big", "url": "http://x/big",
              "status": "active", "group": [{"source": SRC, "target": TGT,
                                             "element": elements}]}
        assert c.put("/fhir/ConceptMap/big", json=cm).status_code == 201
    rows = map_rows_many(store, ["L7", "L2999", "nope"], SRC, url="http://x/big")
    assert [(r[3].source_code, r[3].target_code) for r in rows] == [("L7", "T7"),
                                                                  ("L2999", "T2999")]


@pytest.mark.parametrize("query", [
    [("code", "a"), ("system", SRC)],
    [("code", "a"), ("system", SRC), ("version", ""), ("url", f"{A}|1.0")],
    [("url", A), ("conceptMapVersion", "2.0"), ("system", SRC), ("code", "b")],
    [("code", "a"), ("system", SRC), ("targetSystem", ""), ("targetsystem", TGT)],
    [("code", "a"), ("system", SRC), ("targetsystem", f"{SRC}|2024"), ("version", "2023")],
    [("code", "a"), ("system", SRC), ("url", "")],
])
def test_the_one_pass_reader_reads_as_the_general_one(query: list[tuple[str, str]]) -> None:
    pairs = pairs_from_query(query)
    assert simple_translate_request(pairs) == translate_request(pairs)


@pytest.mark.parametrize("query", [
    [("code", "a")], [("code", ""), ("system", SRC)], [("code", "a"), ("system", SRC),
                                                      ("reverse", "true")],
    [("code", "a"), ("system", SRC), ("dependency", "x")],
    [("sourceCode", "a"), ("sourceSystem", SRC)],
])
def test_anything_else_is_left_to_the_general_reader(query: list[tuple[str, str]]) -> None:
    assert simple_translate_request(pairs_from_query(query)) is None


def test_query_pieces_decode_as_parse_qsl() -> None:
    """The fast paths' query reader (escaped pieces decoded once, then reused) reads every
    query string as parse_qsl(keep_blank_values=True) does, the second time too."""
    from urllib.parse import parse_qsl

    from termserver.api.fastpath import query_pairs

    for raw in (b"a=1&b=%2F&&c&d=&e=x+y&e=x+y&%C3%A9=%ZZ&f=a=b&=v", b"", b"&", b"code=\xe4",
                b"url=http%3A%2F%2Fx%7C1&code=%E4&system=http%3A%2F%2Fx"):
        for _ in range(2):
            assert query_pairs(raw) == parse_qsl(raw.decode("latin-1"),
                                                 keep_blank_values=True), raw
