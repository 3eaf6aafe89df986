"""Text search below a concept answers alike whether the hierarchy (store/expand_subtree.py) or
the text index drives the read, and as the in-memory expansion does, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.store import expand_subtree, search, search_ancestors, search_bands
from tests.service.test_expand_paged import CS, _both, _vs, api  # noqa: F401 - the fixture

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("is-a", "D", {"count": 10, "filter": "diabetes"}),
    ("is-a", "D", {"count": 10, "filter": "diab mel"}),
    ("descendent-of", "D", {"count": 2, "offset": 1, "filter": "dia"}),
    ("is-a", "E11", {"count": 10, "filter": "type 2"}),
    ("is-a", "D", {"count": 10, "filter": "hamoglobin", "displayLanguage": "de"}),
    ("descendent-of", "D", {"count": 10, "filter": "sodium"}),
]


@pytest.mark.parametrize("cost", [0.0, 1e9])
@pytest.mark.parametrize(("op", "value", "params"), CASES)
def test_subtree_or_index_driven_alike(api: TestClient,  # noqa: F811 - the fixture
                                       monkeypatch: pytest.MonkeyPatch, cost: float, op: str,
                                       value: str, params: dict[str, Any]) -> None:
    calls: list[object] = []
    real = expand_subtree.rows

    def spy(*args: Any) -> Any:
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(search_ancestors, "ENABLED", False)
    monkeypatch.setattr(expand_subtree, "SUBTREE_COST", cost)
    monkeypatch.setattr(expand_subtree, "rows", spy)
    include = {"system": CS, "filter": [{"property": "concept", "op": op, "value": value}]}
    paged, memory = _both(api, monkeypatch, _vs(include), **params)
    if "total" not in paged:
        memory.pop("total", None)
    assert paged == memory
    if cost == 0.0 and memory.get("contains"):
        assert calls, "the subtree did not drive the read"
    if cost > 1:
        assert not calls


@pytest.mark.parametrize("intersect", [True, False])
@pytest.mark.parametrize(("op", "value", "params"), CASES)
def test_frequent_words_intersected_or_scanned_alike(
        api: TestClient, db_url: str,  # noqa: F811 - the fixture
        monkeypatch: pytest.MonkeyPatch, intersect: bool, op: str, value: str,
        params: dict[str, Any]) -> None:
    """Every word counts as frequent; PostgreSQL reads the GIN intersection (`id + 0` order)
    or scans the texts in id order, both with the hierarchy test, to the same answer."""
    calls: list[float] = []

    def choose(store: object, cs_pk: int, freqs: list[int], need: int, share: float) -> bool:
        calls.append(share)
        return intersect

    monkeypatch.setattr(search_ancestors, "ENABLED", False)
    monkeypatch.setattr(search_bands, "ENABLED", False)  # tests/service/test_search_bands.py
    monkeypatch.setattr(search, "DRIVE_MAX", -1)
    monkeypatch.setattr(search, "_intersect", choose)
    monkeypatch.setattr(expand_subtree, "SUBTREE_COST", 1e9)
    include = {"system": CS, "filter": [{"property": "concept", "op": op, "value": value}]}
    paged, memory = _both(api, monkeypatch, _vs(include), **params)
    if "total" not in paged:
        memory.pop("total", None)
    assert paged == memory
    if db_url.startswith("postgresql"):
        assert calls and all(0 < s <= 1 for s in calls)
