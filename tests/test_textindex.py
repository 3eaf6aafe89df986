"""The workbench's former text index (termserver/store/textindex.py) is dropped from older
databases by `load`/`reindex`; the workbench reads the one index of `$expand` instead."""

from __future__ import annotations

from sqlalchemy import inspect

from mappings.textsearch import build_indexes
from termserver.store import Store, textindex

#: The layout an older version left behind (SQLite FTS5 there; a plain table is enough here).
OLD_TABLES = (
    "CREATE TABLE textindex_meta (cs_pk BIGINT PRIMARY KEY, fingerprint TEXT NOT NULL, "
    "docs INTEGER NOT NULL, active INTEGER NOT NULL, terms INTEGER NOT NULL, "
    "built_at VARCHAR(40) NOT NULL)",
    "INSERT INTO textindex_meta VALUES (7, 'x', 1, 1, 1, '2026-01-01T00:00:00')",
    "CREATE TABLE textindex_doc_7 (id INTEGER PRIMARY KEY, code TEXT, body TEXT)",
    "CREATE TABLE textindex_vocab_7 (term TEXT PRIMARY KEY, df INTEGER)",
)


def _tables(store: Store) -> set[str]:
    return {t for t in inspect(store.engine).get_table_names() if t.startswith("textindex")}


def test_the_former_index_is_dropped_once(store: Store) -> None:
    with store.engine.begin() as conn:
        for sql in OLD_TABLES:
            conn.exec_driver_sql(sql)
    assert _tables(store) == {"textindex_meta", "textindex_doc_7", "textindex_vocab_7"}
    told: list[str] = []
    assert build_indexes(store, told.append) == [7]
    assert _tables(store) == set() and "dropped" in told[0]
    assert build_indexes(store, told.append) == [] and len(told) == 1  # nothing left
    assert textindex.drop_all(store) == []
