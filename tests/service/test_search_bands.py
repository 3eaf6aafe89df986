"""PostgreSQL reads a text page band by band (store/search_bands.py): the same codes, order and
`total` as one read of every match and as the in-memory expansion, with and without a
hierarchy condition, prefixes, offsets and pages that cross bands; SQLite is unaffected."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.store import search, search_bands
from termserver.store.search_bands import SPLITS, bounds, groups, lexeme, lexeme_sql, raw_tsquery
from tests.helpers import indexed_api
from tests.service.test_expand_paged import _both, _expand

CS = "http://example.org/cs/bands"
WORDS = ("alpha", "beta", "gamma", "delta", "alphabet")


def _display(i: int) -> str:
    """1 to 4 words from WORDS, so that every word is frequent and texts differ in length."""
    n = 1 + i % 4
    return " ".join(WORDS[(i // (k + 1) + k) % len(WORDS)] for k in range(n)) + f" n{i}"


def _code_system(n: int = 240) -> dict[str, Any]:
    groups_: list[dict[str, Any]] = []
    for g in range(4):
        kids = [{"code": f"C{g}-{i}", "display": _display(g * 1000 + i),
                 **({"designation": [{"language": "de", "value": _display(i + 7)}]}
                    if i % 5 == 0 else {})}
                for i in range(n // 4)]
        groups_.append({"code": f"G{g}", "display": f"group {WORDS[g]}", "concept": kids})
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "hierarchyMeaning": "is-a", "name": "Bands",
            "concept": groups_}


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        yield c


def test_bounds_cover_every_id_once_each_band_twice_the_last() -> None:
    for total in (1, 5, 63, 64, 65, 1000, 1_500_001):
        ends = bounds(total)
        assert len(ends) == SPLITS + 1 and ends[-1] == total and ends == sorted(ends)
        assert ends[0] >= 1 and ends[0] >= total / 2 ** SPLITS
        for before, end in zip(ends[:-2], ends[1:-1], strict=True):
            assert end <= 2 * before


def test_lexeme_sql_puts_each_id_in_its_band() -> None:
    db = sqlite3.connect(":memory:")  # the CASE is plain SQL: SQLite evaluates it the same
    for total in (7, 64, 1000):
        ends = bounds(total)
        for i in range(1, total + 1):
            band = next(j for j, end in enumerate(ends) if i <= end)
            got = db.execute(f"SELECT {lexeme_sql(str(i), total)}").fetchone()[0]
            assert got == lexeme(band), (total, i)


def test_groups_start_where_a_page_is_expected_then_grow() -> None:
    total = 64_000
    ends = bounds(total)
    for density in (0.5, 0.05, 0.01):
        found = groups(total, density, 20)
        want = search_bands.MARGIN * 20
        first = found[0][2]
        assert first is not None and first == tuple(range(len(first)))
        assert found[0][1] * density >= want  # the first group likely fills the page …
        assert len(first) == 1 or ends[len(first) - 2] * density < want  # … and no fewer do
        assert [g[0] for g in found[1:]] == [g[1] + 1 for g in found[:-1]]  # contiguous
        assert found[-1][1] == total
        for _, _, bands_ in found[1:]:
            assert bands_ and len(bands_) <= search_bands.STEP
            assert max(bands_) <= search_bands.TOKEN_BANDS or \
                min(bands_) > search_bands.TOKEN_BANDS  # never across the banded tokens
    assert groups(total, 1e-6, 20) == [(1, total, None)]  # sparse: one read of every match
    # below a concept: its banded tokens first (a walk of its texts in those bands only)
    token = search_bands.TOKEN_BANDS
    assert groups(total, 1e-6, 20, token=True) == [
        (1, ends[token], tuple(range(token + 1))),
        *[(ends[b - 1] + 1, ends[b], (b,)) for b in range(token + 1, SPLITS + 1)]]


def test_raw_tsquery_uses_banded_tokens_in_the_first_bands() -> None:
    assert raw_tsquery(None, None) == ""
    assert raw_tsquery("_42", None) == "'_42'"
    assert raw_tsquery(None, (0, 1)) == "('_y0' | '_y1')"
    assert raw_tsquery("_42", (0, 1)) == "('_42.0' | '_42.1')"
    last = search_bands.TOKEN_BANDS + 1
    assert raw_tsquery("_42", (last,)) == f"'_42' & ('_y{last}')"


@pytest.mark.parametrize("margin", [0.01, search_bands.MARGIN])
@pytest.mark.parametrize(("include", "params"), [
    ({"system": CS}, {"count": 20, "filter": "alpha beta"}),
    ({"system": CS}, {"count": 7, "offset": 30, "filter": "alpha"}),
    ({"system": CS}, {"count": 10, "filter": "alp gam"}),
    ({"system": CS}, {"count": 10, "filter": "alphab"}),
    ({"system": CS}, {"count": 100, "filter": "delta"}),
    ({"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "G1"}]},
     {"count": 10, "filter": "beta gamma"}),
    ({"system": CS, "filter": [{"property": "concept", "op": "descendent-of", "value": "G2"}]},
     {"count": 5, "offset": 5, "filter": "gam del"}),
    ({"system": CS}, {"count": 10, "filter": "gamma", "displayLanguage": "de"}),
])
def test_band_reads_answer_as_one_read_and_in_memory(
        api: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch, margin: float,
        include: dict[str, Any], params: dict[str, Any]) -> None:
    read: list[list[search_bands.Group]] = []
    real = search_bands.groups

    def spy(total: int, density: float, need: int, token: bool = False
            ) -> list[search_bands.Group]:
        found = real(total, density, need, token)
        read.append(found)
        return found

    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/bands", "status": "active",
          "compose": {"include": [include]}}
    monkeypatch.setattr(search_bands, "groups", spy)
    monkeypatch.setattr(search_bands, "MARGIN", margin)
    monkeypatch.setattr(search, "DRIVE_MAX", -1)  # every word frequent
    paged, memory = _both(api, monkeypatch, vs, **params)
    if "total" not in paged:
        memory.pop("total", None)
    assert paged == memory
    assert paged.get("contains")
    if db_url.startswith("postgresql"):
        assert read, "no band read"
        if margin < 1:
            assert any(len(g) > 1 for g in read), "one group only"
        monkeypatch.setattr(search, "SEARCH_MIN", 1)
        monkeypatch.setattr(search_bands, "ENABLED", False)
        whole = _expand(api, vs, **params)
        if "total" not in paged:
            whole.pop("total", None)
        assert whole == paged
    else:
        assert not read  # FTS5 reads in rank order already


def _tiers_read(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The text tiers a page reads, in order (False: whole words, True: prefixes)."""
    tiers: list[bool] = []
    real = search._source

    def spy(store: Any, cs_pk: int, qwords: list[str], prefix: bool, *a: Any, **k: Any
            ) -> search_bands.Source:
        tiers.append(prefix)
        return real(store, cs_pk, qwords, prefix, *a, **k)

    monkeypatch.setattr(search, "_source", spy)
    return tiers


@pytest.mark.parametrize("text", ["alph bet", "alpha bet", "alphab gam", "gamm", "alpha beta"])
@pytest.mark.parametrize("include", [{"system": CS}, {"system": CS, "filter": [
    {"property": "concept", "op": "is-a", "value": "G1"}]}])
def test_a_query_word_no_text_holds_whole_reads_no_whole_word_tier(
        api: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch, text: str,
        include: dict[str, Any]) -> None:
    """PostgreSQL reads the words each prefix begins before the whole-word tier; when a query
    word is no indexed word, no text can hold every word whole and that tier is not read.
    Same answer as in memory either way."""
    tiers = _tiers_read(monkeypatch)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/bands", "status": "active",
          "compose": {"include": [include]}}
    paged, memory = _both(api, monkeypatch, vs, filter=text, count=5)
    memory.pop("total", None)
    paged.pop("total", None)
    assert paged == memory and paged.get("contains")
    whole = all(w in WORDS for w in text.split())
    if db_url.startswith("postgresql"):
        assert (False in tiers) is whole, tiers  # the whole-word tier read only when it can match


def test_a_prefix_that_begins_no_indexed_word_reads_no_text(
        api: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tiers = _tiers_read(monkeypatch)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/bands", "status": "active",
          "compose": {"include": [{"system": CS}]}}
    paged, memory = _both(api, monkeypatch, vs, filter="alpha zzq", count=5)
    assert not paged.get("contains") and not memory.get("contains")
    assert paged.get("total") == 0
    if db_url.startswith("postgresql"):
        assert tiers == []


@pytest.mark.parametrize("include", [{"system": CS}, {"system": CS, "filter": [
    {"property": "concept", "op": "is-a", "value": "G2"}]}])
def test_the_last_group_is_read_after_the_last_id_without_band_lexemes(
        api: TestClient, db_url: str, monkeypatch: pytest.MonkeyPatch,
        include: dict[str, Any]) -> None:
    """The group that runs to the last id reads `id > last id read` with no band lexemes
    (an OR of the biggest posting lists); same answer as in memory."""
    asked: list[tuple[int, ...] | None] = []
    real = search_bands.Source.where

    def where(self: search_bands.Source, band: tuple[int, ...] | None = None
              ) -> tuple[str, list[Any]]:
        asked.append(band)
        return real(self, band)

    monkeypatch.setattr(search_bands.Source, "where", where)
    monkeypatch.setattr(search_bands, "MARGIN", 0.01)  # many groups
    monkeypatch.setattr(search, "DRIVE_MAX", -1)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/bands", "status": "active",
          "compose": {"include": [include]}}
    paged, memory = _both(api, monkeypatch, vs, filter="alpha", count=200)
    assert paged == memory and paged.get("contains")
    if db_url.startswith("postgresql"):
        banded = [b for b in asked if b is not None]
        assert banded and asked[-1] is None, asked  # groups with bands, then the tail
        assert all(search_bands.SPLITS not in b for b in banded)
