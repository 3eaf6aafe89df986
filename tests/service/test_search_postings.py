"""PostgreSQL reads a clause's texts from the words stored by the index build
(store/search_postings.py); kept bitsets follow a rebuild of the same code system's index by
another process (a variant's designations added) instead of answering from the old build."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from termserver.model import Designation
from termserver.store import Store, search_ancestors, search_bitsets, search_postings
from termserver.store.engine import read_connection
from tests.helpers import indexed_api
from tests.loaders.test_snomed import load_fixture
from tests.service.test_expand_ancestor_tokens import CS, SCT, _code_system, _vs
from tests.service.test_expand_paged import _both, _expand
from tests.service.test_search_bitsets import WORDED, _spied, _three


@pytest.fixture
def stored(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Store]]:
    """Every word's texts stored by the build (BITS_DF 1), so reads take the stored path."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the stored texts of words are PostgreSQL's (SQLite reads FTS5)")
    monkeypatch.setattr(search_postings, "BITS_DF", 1)
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        load_fixture(store)
        yield c, store


def _pk(store: Store, url: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT c.pk FROM code_system c JOIN search_meta m ON m.cs_pk = c.pk WHERE c.url "
            "= %s", (url,)).scalar_one())


def _gin(store: Store, cs_pk: int, query: str) -> set[int]:
    with store.engine.connect() as conn:
        return {int(r[0]) for r in conn.exec_driver_sql(
            f"SELECT id FROM search_term_{cs_pk} WHERE tsv @@ to_tsquery('simple', %s)",
            (query,))}


def _below(store: Store, cs_pk: int, token: str) -> set[int]:
    with store.engine.connect() as conn:
        return {int(r[0]) for r in conn.exec_driver_sql(
            f"SELECT id FROM search_term_{cs_pk} WHERE tsv @@ CAST(%s AS tsquery)",
            (f"'{token}'",))}


def _read(store: Store, cs_pk: int, clause: str) -> set[int] | None:
    with read_connection(store.engine) as raw:
        got = search_postings.read(raw, cs_pk, clause)
    return None if got is None else set(np.flatnonzero(got[1]).tolist())


@pytest.mark.parametrize("url", [CS, SCT])
def test_stored_texts_of_every_word_are_its_gin_matches(stored: tuple[TestClient, Store],
                                                        url: str) -> None:
    store = stored[1]
    cs_pk = _pk(store, url)
    with store.engine.connect() as conn:
        words = [str(r[0]) for r in conn.exec_driver_sql(
            f"SELECT term FROM search_vocab_{cs_pk}")]
        forms = {bool(r[0]) for r in conn.exec_driver_sql(
            f"SELECT ids FROM search_bits_{cs_pk}")}
    assert len(words) > 20
    if url == SCT:
        assert forms == {True, False}  # sparse words as ids, dense ones as bitsets
    for word in words:
        assert _read(store, cs_pk, f"w:{word}") == _gin(store, cs_pk, word), word
    pair = "|".join(words[:3])
    assert _read(store, cs_pk, f"w:{pair}") == _gin(store, cs_pk, " | ".join(words[:3]))


def test_a_subtree_clause_reads_the_texts_below_the_concept(
        stored: tuple[TestClient, Store]) -> None:
    store = stored[1]
    cs_pk = _pk(store, CS)
    for code in ("110", "100", "E11.9", "x"):
        found = _read(store, cs_pk, f"a:{code}")
        assert found and found == _below(store, cs_pk, search_ancestors.token(code)), code


def test_a_word_clause_too_long_for_gin_without_stored_texts_is_not_read(
        stored: tuple[TestClient, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    store = stored[1]
    cs_pk = _pk(store, CS)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM search_bits_{cs_pk} WHERE term = 'diabetes'")
    assert _read(store, cs_pk, "w:diabetes") == _gin(store, cs_pk, "diabetes")  # via GIN
    monkeypatch.setattr(search_postings, "GIN_MAX", 1)
    assert _read(store, cs_pk, "w:diabetes") is None
    assert _read(store, cs_pk, "x:diabetes") is None


@pytest.mark.parametrize(("op", "value", "params"), WORDED[:6])
def test_pages_from_stored_texts_answer_like_the_walk(stored: tuple[TestClient, Store],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      op: str, value: str,
                                                      params: dict[str, Any]) -> None:
    vs = _vs(CS, {"property": "concept", "op": op, "value": value})
    kept, walk, memory = _three(stored[0], monkeypatch, vs, **params)
    assert kept == walk == memory


def _eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_bitsets, "MIN_WORK", 0)
    monkeypatch.setattr(search_bitsets, "USES", 1)
    monkeypatch.setattr(search_bitsets, "BACKGROUND", False)


def test_kept_bits_follow_a_rebuild_by_another_process(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process adds designations to the same code system (its index is rebuilt
    under the same pk, the texts numbered anew): this one's kept bits are of the old build,
    so it answers by the walk, then keeps the new build's bits, never the old answer."""
    with indexed_api(db_url, monkeypatch, _code_system()) as (client, store):
        vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
        _eager(monkeypatch)
        before = _expand(client, vs, count=20, filter="kidney")
        assert sorted(c["code"] for c in before["contains"]) == ["120", "121"]
        assert search_bitsets._KEPT[store].bits  # kept for the first build
        other = Store(db_url)  # another process
        try:
            resource = other.resolve_code_system(CS, "1")
            assert resource is not None
            with other.writer() as w:
                pk = w.get("CodeSystem", resource.resource_id)
                assert pk is not None
                w.extend_code_system(pk.pk, [
                    Designation("111", "Zuckerkrankheit", "de"),
                    Designation("130", "Kidney and liver disorder", "en")])
        finally:
            other.close()
        used: list[bool] = []
        _spied(monkeypatch, used)
        after = _expand(client, vs, count=20, filter="kidney")
        codes = sorted(c["code"] for c in after["contains"])
        assert codes == ["120", "121", "130"]
        again, memory = _both(client, monkeypatch, vs, count=20, filter="kidney")
        _eager(monkeypatch)
        _spied(monkeypatch, used)
        assert _expand(client, vs, count=20, filter="kidney") == again == after
        assert used[-1]  # the new build's bits answer now
        assert memory["contains"] == after["contains"]


def test_a_new_text_table_is_vacuumed_after_the_commit(stored: tuple[TestClient, Store]) -> None:
    """Its visibility map is set at once, so subtree reads through the code index are
    index-only before autovacuum comes by."""
    store = stored[1]
    for url in (CS, SCT):
        with store.engine.connect() as conn:
            pages, visible = conn.exec_driver_sql(
                "SELECT relpages, relallvisible FROM pg_class WHERE relname = %s",
                (f"search_term_{_pk(store, url)}",)).one()
        assert pages > 0 and visible == pages, url
