"""Engine creation and per-dialect tuning."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import PoolProxiedConnection, QueuePool

from termserver import budget
from termserver.errors import InvalidRequest

#: Seconds a PostgreSQL connection attempt may take (a URL's own `connect_timeout` wins).
CONNECT_TIMEOUT = 10


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL or bare path (None for other databases and in-memory ones)."""
    if "://" not in url:
        return Path(url).expanduser()
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def open_engine(url: str) -> Engine:
    """An Engine for a `sqlite:///path` or `postgresql+psycopg://…` URL (a bare path is SQLite)."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidRequest(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            if not folder.is_dir():
                raise InvalidRequest(f"cannot open database {database}: the folder {folder} "
                                     "does not exist (create it, or check the path)")
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               pool_size=8, max_overflow=8)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkout", _not_in_an_attempt)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            url = str(parsed.set(drivername="postgresql+psycopg"))
        connect_args = {} if "connect_timeout" in parsed.query else \
            {"connect_timeout": CONNECT_TIMEOUT}
        return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True,
                             connect_args=connect_args)
    raise InvalidRequest(
        f"unsupported database {parsed.get_backend_name()!r}: use sqlite:///PATH or "
        "postgresql+psycopg://USER@HOST/DB")


@contextmanager
def read_connection(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A pooled DB-API connection for reads only, in autocommit while checked out.

    On PostgreSQL a read in a transaction costs two round trips besides the query (BEGIN, and
    the pool's ROLLBACK on return); under READ COMMITTED each statement has its own snapshot
    anyway, so reads lose nothing without one (and one failed read does not abort the next).
    The connection goes back to the pool as it came (autocommit off); one that cannot be put
    back so is invalidated. Never write on it: nothing would roll back."""
    raw = engine.raw_connection()
    driver = raw.driver_connection
    switched = False
    try:
        if engine.dialect.name == "postgresql" and driver is not None \
                and not getattr(driver, "autocommit", True):
            driver.rollback()  # no round trip when idle, as after the pool's reset
            driver.autocommit = True
            switched = True
        yield raw
    finally:
        if switched:
            try:
                driver.autocommit = False  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - a broken connection: never pooled again
                raw.invalidate()
        raw.close()


def pool_status(engine: Engine) -> dict[str, int]:
    """The connection pool now: size, checked in, checked out, overflow (empty when the pool
    does not count them)."""
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return {}
    return {"size": pool.size(), "checked_in": pool.checkedin(),
            "checked_out": pool.checkedout(), "overflow": max(pool.overflow(), 0)}


#: SQLite virtual machine steps between two calls of the progress handler (tens of µs).
PROGRESS_STEPS = 10_000


def _not_in_an_attempt(_dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """An attempt on the event loop (termserver.budget) reads only on its thread's own
    autocommit connection (Store._hot_query): a pooled connection may wait for the pool or
    for a lock, so taking one gives the attempt up (the connection goes back unused)."""
    budget.leave("a pooled connection")


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA mmap_size=268435456")
    cur.close()
    # an attempt on the event loop (termserver.budget) stops its statement when its budget
    # is spent; outside an attempt the handler returns False (a context variable read)
    dbapi_conn.set_progress_handler(budget.spent, PROGRESS_STEPS)


#: KiB of page cache of a hot-read connection (Store._hot_query, one per thread): its reads go
#: through the file mapping, or, in an unmapped thread, this cache and the OS's file cache.
HOT_CACHE_KIB = 4096
_THREAD = threading.local()


def unmapped_reads() -> None:
    """Hot-read connections that this thread opens from now on read the SQLite file without
    mapping it (`mmap_size=0`). For long-lived threads that read much of the file (the bulk
    threads, termserver.api.routes.bulk): mapped pages count in the process's RSS once per
    connection that touched them, up to mmap_size (256 MiB) each, so a bulk thread kept a
    mapping of every page it ever read; unmapped, the pages stay in the OS's file cache
    (shared, not the process's) and the process keeps HOT_CACHE_KIB."""
    _THREAD.unmapped = True


def hot_pragmas(conn: sqlite3.Connection) -> None:
    """The pragmas of a hot-read connection: the engine's, a small page cache, and no mapping
    in a thread that asked for `unmapped_reads`."""
    _sqlite_pragmas(conn, None)
    conn.execute(f"PRAGMA cache_size=-{HOT_CACHE_KIB}")
    if getattr(_THREAD, "unmapped", False):
        conn.execute("PRAGMA mmap_size=0")


#: Most milliseconds a shutdown checkpoint waits for other processes' readers and writers.
CHECKPOINT_WAIT_MS = 2000


def checkpoint(path: str) -> bool:
    """Fold a SQLite file's write-ahead log into the file and truncate it, so the .db file
    alone is a full copy after a clean stop. True when done; False when another process is
    still reading or writing (it then stays for that process to finish) or on any error."""
    if not Path(path).exists():
        return False
    try:
        conn = sqlite3.connect(path, timeout=CHECKPOINT_WAIT_MS / 1000)
    except sqlite3.Error:
        return False
    try:
        conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return row is not None and row[0] == 0
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def analyze(engine: Engine) -> None:
    """Refresh the query planner's statistics after a big load: PostgreSQL `ANALYZE` (a fresh
    load has none, and pages then take the wrong plans), SQLite `PRAGMA optimize`."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name != "sqlite" else "PRAGMA optimize")
