"""The reads of one expansion page on one database connection.

`Store._hot_query` checks a pooled connection out per query; on PostgreSQL each checkout costs
a ping and each return a reset, two round trips besides the query. A page takes several
queries (the page, its total, its concepts' details), so `one_connection` checks one out for
all of them and `query` runs on it; SQLite keeps its per-thread connection (no round trips).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from termserver.store.read import Store

def paramstyled(conn_or_sqlite: Connection | bool, sql: str) -> str:
    """`sql`, written with `?` marks, in the driver's paramstyle (psycopg: `%s`); the first
    argument a connection or whether it is SQLite's."""
    sqlite = conn_or_sqlite if isinstance(conn_or_sqlite, bool) else \
        conn_or_sqlite.dialect.paramstyle == "qmark"
    return sql if sqlite else sql.replace("?", "%s")


Runner = Callable[[str, tuple[Any, ...]], list[Any]]
_CURRENT: ContextVar[tuple[Store, Runner] | None] = ContextVar("termserver_page_reads",
                                                                  default=None)


@contextmanager
def one_connection(store: Store) -> Iterator[None]:
    """Within: `query(store, …)` runs on one connection (PostgreSQL; SQLite: as before)."""
    if store.dialect == "sqlite" or _CURRENT.get() is not None:
        yield
        return
    raw = store.engine.raw_connection()
    cur = raw.cursor()

    def run(sql: str, params: tuple[Any, ...]) -> list[Any]:
        cur.execute(sql, params)
        return list(cur.fetchall())

    token = _CURRENT.set((store, run))
    try:
        yield
    finally:
        _CURRENT.reset(token)
        cur.close()
        raw.close()  # back to the pool, which rolls the read transaction back


def query(store: Store, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows of one read: on the connection of the enclosing `one_connection`, if any."""
    current = _CURRENT.get()
    if current is not None and current[0] is store:
        return current[1](sql, params)
    return store._hot_query(sql, params)
