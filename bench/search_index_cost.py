"""What the ancestor tokens (termserver/store/search_ancestors.py) cost the text index of one
code system: build time, size and peak RSS, with and without them, each built inside a
transaction that is rolled back (the database is left as it was).

    python bench/search_index_cost.py [--db URL] [--system http://snomed.info/sct]

Size: SQLite, the pages the index takes (page_count − freelist_count after `search.drop`
and after the build); PostgreSQL, pg_total_relation_size of the texts table (with its GIN
and code indexes) and the vocabulary.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import Connection  # noqa: E402

from termserver.store import Store, search, search_ancestors  # noqa: E402


def _used(conn: Connection, cs_pk: int) -> int:
    """Bytes the database (SQLite) or the index's tables (PostgreSQL) take."""
    if conn.dialect.name == "sqlite":
        size = int(conn.exec_driver_sql("PRAGMA page_size").scalar_one())
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
        free = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar_one())
        return (pages - free) * size
    total = 0
    for table in (f"search_term_{cs_pk}", f"search_vocab_{cs_pk}"):
        found = conn.exec_driver_sql("SELECT pg_total_relation_size(to_regclass(%s))",
                                     (table,)).scalar()
        total += int(found or 0)
    return total


def measure(store: Store, cs_pk: int, tokens: bool) -> dict[str, Any]:
    real = search_ancestors.stage
    if not tokens:
        search_ancestors.stage = lambda conn, pk: None  # type: ignore[assignment]
    try:
        with store.engine.connect() as conn:
            trans = conn.begin()
            search.ensure_meta(conn)
            if conn.dialect.name == "sqlite":  # pysqlite autocommits DDL until a DML statement
                conn.exec_driver_sql("DELETE FROM search_meta WHERE 1 = 0")  # opens the transaction
            search.drop(conn, cs_pk)
            before = _used(conn, cs_pk) if conn.dialect.name == "sqlite" else 0
            started = time.monotonic()
            texts = search.build(conn, cs_pk)
            seconds = time.monotonic() - started
            size = _used(conn, cs_pk) - before
            trans.rollback()
    finally:
        search_ancestors.stage = real  # type: ignore[assignment]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"tokens": tokens, "texts": texts, "seconds": seconds, "mib": size / 2**20,
            "peak_rss_mib": rss}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'search' / 'search.db'}")
    p.add_argument("--system", default="http://snomed.info/sct")
    args = p.parse_args(argv)
    store = Store(args.db)
    try:
        cs = store.resolve_code_system(args.system)
        if cs is None:
            raise SystemExit(f"{args.system} is not loaded in {args.db}")
        with store.engine.connect() as conn:
            pairs = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM concept_ancestor WHERE cs_pk = "
                f"{int(cs.pk)}").scalar_one()
        print(f"{args.system}|{cs.version}: {cs.concept_count} concepts, {pairs} "
              "(descendant, ancestor) pairs")
        for tokens in (False, True):  # peak RSS is cumulative: the smaller build first
            got = measure(store, cs.pk, tokens)
            print(f"tokens={got['tokens']}: {got['texts']} texts, {got['seconds']:.0f} s, "
                  f"{got['mib']:.0f} MiB, peak RSS so far {got['peak_rss_mib']:.0f} MiB",
                  flush=True)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
