"""The reads of one request on one database connection.

`Store._hot_query` checks a pooled connection out per query; on PostgreSQL each checkout costs
a ping besides the query. An expansion takes several queries (its value set's stamps, the
page, its total, its concepts' details), so `one_connection` checks one out for all of them
(in autocommit: engine.read_connection) and every `query` and `Store._hot_query` within runs
on it; SQLite keeps its per-thread connection (no round trips).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from termserver.store.engine import read_connection

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


#: Scopes holding a connection at once, per engine: half the pool. Code inside a scope may
#: still check out another connection (engine.connect() of a read that is not a hot query);
#: with at most half the pool held by scopes, those nested checkouts always find one, so
#: scopes can never wait on each other. A scope that finds none free reads as before.
_SCOPES: weakref.WeakKeyDictionary[Engine, threading.BoundedSemaphore] = \
    weakref.WeakKeyDictionary()
_SCOPES_LOCK = threading.Lock()


def _scopes(engine: Engine) -> threading.BoundedSemaphore:
    with _SCOPES_LOCK:
        found = _SCOPES.get(engine)
        if found is None:
            pool = engine.pool
            size = pool.size() + max(0, getattr(pool, "_max_overflow", 0)) \
                if isinstance(pool, QueuePool) else 2
            found = _SCOPES[engine] = threading.BoundedSemaphore(max(1, size // 2))
        return found


@contextmanager
def one_connection(store: Store) -> Iterator[None]:
    """Within: `query(store, …)` and `Store._hot_query` run on one connection (PostgreSQL;
    SQLite: as before; when half the pool is held by other scopes, also as before)."""
    if store.dialect == "sqlite" or _CURRENT.get() is not None:
        yield
        return
    scopes = _scopes(store.engine)
    if not scopes.acquire(blocking=False):
        yield
        return
    try:
        with read_connection(store.engine) as raw:
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
    finally:
        scopes.release()


def current(store: Store) -> Runner | None:
    """The runner of the enclosing `one_connection` of `store`, if any."""
    found = _CURRENT.get()
    return found[1] if found is not None and found[0] is store else None


def query(store: Store, sql: str, params: tuple[Any, ...]) -> list[Any]:
    """Rows of one read: on the connection of the enclosing `one_connection`, if any."""
    return store._hot_query(sql, params)  # which joins the enclosing one_connection


#: Facts kept per store by `pk_fact` at most (then forgotten and read again).
FACTS_MAX = 10_000


def pk_fact(store: Store, facts: weakref.WeakKeyDictionary[Store, dict[int, bool]],
            lock: threading.Lock, cs_pk: int, sql: str) -> bool:
    """Whether `sql` (one `?`, the code system pk) finds a row, read once per store and pk and
    kept in `facts` (under `lock`): for what never changes for a pk (its concepts, its
    hierarchy; a new load is a new pk)."""
    with lock:
        found = facts.setdefault(store, {}).get(cs_pk)
    if found is not None:
        return found
    found = bool(query(store, paramstyled(store.dialect == "sqlite", sql), (cs_pk,)))
    with lock:
        cache = facts.setdefault(store, {})
        if len(cache) > FACTS_MAX:
            cache.clear()
        cache[cs_pk] = found
    return found
