"""Kept bitsets of full-text clauses (store/search_bitsets.py) answer text below a concept as
the full-text walk and the in-memory expansion do, on SQLite and PostgreSQL; a clause is kept
only once asked for often enough, read in the background, and the kept bytes stay within
their bound."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from termserver.store import Store, search_ancestors, search_bitsets
from tests.helpers import indexed_api, join_background_work
from tests.loaders.test_snomed import load_fixture
from tests.service.test_expand_ancestor_tokens import CASES, CS, SCT, _code_system, _concept, _vs
from tests.service.test_expand_paged import _both, _expand


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Store]]:
    """On both backends, with the SNOMED CT fixture (PostgreSQL reads a clause's texts
    through store/search_postings, SQLite through FTS5)."""
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        load_fixture(store)
        yield c, store


def _bits(ids: list[int], texts: int) -> search_bitsets.Bits:
    flags = np.zeros(-(-(texts + 1) // 64) * 64, dtype=bool)
    flags[ids] = True
    return np.packbits(flags, bitorder="little").view(np.uint64)


@pytest.mark.parametrize("seed", range(6))
def test_first_gives_the_ids_set_in_every_bitset_in_order(seed: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    rng = np.random.default_rng(seed)
    texts = int(rng.integers(1, 5_000))
    sets = [set(rng.choice(np.arange(1, texts + 1), size=int(rng.integers(0, texts)) + 1,
                           replace=False).tolist()) for _ in range(int(rng.integers(1, 4)))]
    both = sorted(set.intersection(*sets))
    bits = [_bits(sorted(s), texts) for s in sets]
    for after in [0, *both[:3], *(both[-2:] if both else []), texts]:
        for want in (1, 3, 25):
            for window in (1, 512):  # windows of one word, growing; or the default
                monkeypatch.setattr(search_bitsets, "WINDOW", window)
                ids, done = search_bitsets.first(bits, after, want)
                later = [i for i in both if i > after]
                assert ids == later[:want]
                assert done == (len(later) < want)


def test_work_is_large_only_for_sparse_intersections_of_long_lists() -> None:
    texts = 1_500_000
    # two words in a tenth of the texts each, below a concept holding 6,000 texts
    assert search_bitsets.work([145_000, 145_000, 6_000], texts, 20) > search_bitsets.MIN_WORK
    # a word and a subtree that meet often: a page is found after a short walk
    assert search_bitsets.work([145_000, 600_000], texts, 20) < search_bitsets.MIN_WORK
    assert search_bitsets.work([50, 6_000], texts, 20) < search_bitsets.MIN_WORK


def _spied(monkeypatch: pytest.MonkeyPatch, used: list[bool]) -> None:
    """Note in `used` whether each call of search_bitsets.answer answered from bitsets."""
    real = search_bitsets.answer

    def spy(*args: Any) -> Iterator[Any] | None:
        found = real(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(search_bitsets, "answer", spy)


def _eager(monkeypatch: pytest.MonkeyPatch, used: list[bool], chunk: int) -> None:
    """Bitsets for every clause at once, however cheap the walk, read in the request."""
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    monkeypatch.setattr(search_bitsets, "USES", 1)
    monkeypatch.setattr(search_bitsets, "BACKGROUND", False)
    monkeypatch.setattr(search_bitsets, "CHUNK", chunk)
    _spied(monkeypatch, used)


def _three(client: TestClient, monkeypatch: pytest.MonkeyPatch, vs: dict[str, Any],
           chunk: int = search_bitsets.CHUNK, **params: Any
           ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The answer from bitsets (every clause kept at once, however cheap the walk; `chunk`
    texts read by id at a time), the full-text walk's and the in-memory one."""
    used: list[bool] = []
    _eager(monkeypatch, used, chunk)
    _both(client, monkeypatch, vs, **params)  # keeps the bitsets (the exact tier's too)
    _eager(monkeypatch, used, chunk)  # _both undid the patches
    kept, memory = _both(client, monkeypatch, vs, **params)
    assert any(used), "no tier was answered from bitsets"
    monkeypatch.setattr(search_bitsets, "MIN_WORK", float("inf"))
    walk, _ = _both(client, monkeypatch, vs, **params)
    if "total" not in kept:
        memory.pop("total", None)
        walk.pop("total", None)
    return kept, walk, memory


# cases whose words are indexed words or prefixes (a bare "x", "1" or "p", or a code with a
# word, match through other tiers)
WORDED = [c for c in CASES if c[2]["filter"] not in ("x", "1", "p")
          and not any(ch.isdigit() for ch in c[2]["filter"])]


@pytest.mark.parametrize(("op", "value", "params"), [
    *WORDED,
    # exact texts of concepts outside the subtree: the token's bitset must leave them out
    ("is-a", "200", {"count": 20, "filter": "diabetes mellitus"}),
    ("is-a", "110", {"count": 20, "filter": "kidney disorder"}),
    ("descendent-of", "111", {"count": 20, "filter": "diabetes mellitus"}),
])
def test_bitsets_answer_like_the_walk(api: tuple[TestClient, Store],
                                      monkeypatch: pytest.MonkeyPatch,
                                      op: str, value: str, params: dict[str, Any]) -> None:
    vs = _vs(CS, {"property": "concept", "op": op, "value": value})
    kept, walk, memory = _three(api[0], monkeypatch, vs, **params)
    assert kept == walk == memory


@pytest.mark.parametrize(("ecl", "words"), [
    ("<< 404684003", "disorder"), ("< 64572001", "liver"), ("<< 64572001", "dis"),
    ("<< 138875005", "structure"), ("< 138875005", "finding site"),
])
def test_ecl_over_snomed_from_bitsets(api: tuple[TestClient, Store],
                                      monkeypatch: pytest.MonkeyPatch,
                                      ecl: str, words: str) -> None:
    vs = _vs(SCT, {"property": "constraint", "op": "=", "value": ecl})
    for params in ({"count": 20}, {"count": 2}, {"count": 3, "offset": 2}):
        kept, walk, memory = _three(api[0], monkeypatch, vs, filter=words, **params)
        assert kept == walk == memory


def test_pages_deep_into_many_matches_read_in_chunks(api: tuple[TestClient, Store],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
    kept, walk, memory = _three(api[0], monkeypatch, vs, chunk=1, count=3, offset=1,
                                filter="dis")
    assert kept == walk == memory and len(kept["contains"]) == 3


def test_a_clause_is_kept_only_after_it_was_asked_for_often_enough(
        api: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    client, store = api
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    monkeypatch.setattr(search_bitsets, "USES", 2)
    monkeypatch.setattr(search_bitsets, "BACKGROUND", False)
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
    state = search_bitsets._KEPT.get(store)
    before = len(state.bits) if state else 0
    first = _expand(client, vs, count=20, filter="diabetes")
    state = search_bitsets._KEPT[store]
    assert len(state.bits) == before  # asked once: the walk answered, nothing was read
    again = _expand(client, vs, count=20, filter="diabetes")
    assert again == first
    assert len(state.bits) >= before + 2  # the word and the token of 100, at least
    assert state.size == sum(b.nbytes for b in state.bits.values())


def test_kept_bytes_stay_within_the_bound(api: tuple[TestClient, Store],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    client, store = api
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    monkeypatch.setattr(search_bitsets, "USES", 1)
    monkeypatch.setattr(search_bitsets, "BACKGROUND", False)
    monkeypatch.setattr(search_bitsets, "CACHE_BYTES", 1)  # room for one bitset at most
    for value, words in (("100", "diabetes"), ("110", "sodium"), ("200", "finding")):
        vs = _vs(CS, {"property": "concept", "op": "is-a", "value": value})
        paged, memory = _both(client, monkeypatch, vs, count=20, filter=words)
        monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
        monkeypatch.setattr(search_bitsets, "USES", 1)
        monkeypatch.setattr(search_bitsets, "BACKGROUND", False)
        monkeypatch.setattr(search_bitsets, "CACHE_BYTES", 1)
        assert paged == memory
        state = search_bitsets._KEPT[store]
        assert len(state.bits) == 1 and state.size == next(iter(state.bits.values())).nbytes


def test_bitsets_follow_a_replaced_code_system(api: tuple[TestClient, Store],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A replaced code system has a new pk, so the bits kept for the old one are never read
    for it."""
    client = api[0]
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "200"})
    kept, _, _ = _three(client, monkeypatch, vs, count=20, filter="diabetes")
    changed = _code_system([_concept("N1", "Diabetes new finding", parents=("220",))])
    changed["id"] = client.get(f"/fhir/CodeSystem?url={CS}").json()["entry"][0]["resource"]["id"]
    assert client.put(f"/fhir/CodeSystem/{changed['id']}", json=changed).status_code == 200
    kept, walk, memory = _three(client, monkeypatch, vs, count=20, filter="diabetes")
    assert kept == walk == memory
    assert sorted(c["code"] for c in kept["contains"]) == ["210", "M1", "N1"]


@pytest.mark.parametrize("tokens", [True, False])
def test_bitsets_only_with_ancestor_tokens(
        api: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch,
        tokens: bool) -> None:
    monkeypatch.setattr(search_ancestors, "ENABLED", tokens)
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    monkeypatch.setattr(search_bitsets, "USES", 1)
    monkeypatch.setattr(search_bitsets, "BACKGROUND", False)
    called: list[object] = []
    monkeypatch.setattr(search_bitsets, "answer", lambda *a: called.append(a))
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
    paged, memory = _both(api[0], monkeypatch, vs, count=20, filter="diabetes")
    assert paged == memory
    assert bool(called) == tokens


def test_a_clause_asked_for_often_enough_is_read_in_the_background(
        api: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """The request that makes a clause worth keeping is answered by the walk; a background
    thread reads the bitsets, and later requests use them, to the same answer."""
    client, store = api
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    used: list[bool] = []
    _spied(monkeypatch, used)
    release = threading.Event()
    read = search_bitsets._read

    def held(*args: Any) -> tuple[str, search_bitsets.Bits] | None:
        assert release.wait(30)
        return read(*args)

    monkeypatch.setattr(search_bitsets, "_read", held)  # the reader waits for the requests
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
    first = [_expand(client, vs, count=20, filter="diabetes") for _ in range(search_bitsets.USES)]
    assert not any(used)  # asked USES times: answered by the walk, the read still waits
    assert search_bitsets._KEPT[store].pending
    release.set()
    join_background_work()
    assert len(search_bitsets._KEPT[store].bits) >= 2
    assert not search_bitsets._KEPT[store].pending
    assert _expand(client, vs, count=20, filter="diabetes") == first[0]
    assert used[-1]
