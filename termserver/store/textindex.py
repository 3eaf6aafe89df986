"""The workbench's former full-text index (``textindex_meta``, ``textindex_doc_<cs_pk>``,
``textindex_vocab_<cs_pk>``), kept only to remove it from databases built by older versions:
the workbench now searches the text index of `$expand` (termserver.store.search), so the
product has one search engine. `termserver load` and `reindex` call `drop_all`
(mappings.textsearch.build_indexes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from termserver.store.read import Store


def drop_all(store: Store) -> list[int]:
    """Drop every table of the former index; returns the code systems it had indexed.
    Idempotent (a database without it is left as it is)."""
    with store.engine.begin() as conn:
        names = set(store.engine.dialect.get_table_names(conn))
        if "textindex_meta" not in names:
            return []
        pks = [int(r[0]) for r in conn.exec_driver_sql("SELECT cs_pk FROM textindex_meta")]
        for name in sorted(names):
            if name.startswith(("textindex_doc_", "textindex_vocab_")):
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        conn.exec_driver_sql("DROP TABLE textindex_meta")
    return pks
