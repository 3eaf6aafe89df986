"""Versioned schema migrations, so an existing database upgrades in place.

A fresh database gets the current schema and is stamped with SCHEMA_VERSION. An older one runs
each step after its recorded version, in order, in one transaction per step. A database newer
than this program is refused with a clear message rather than being touched.

The whole check-and-migrate runs under a lock (PostgreSQL: a session advisory lock; SQLite:
a flock on the database's folder), so server processes starting at the same moment on one
database migrate one after the other (the later ones find the schema current). Also here:
the probes /readyz and /metrics read (`schema_state`, `job_states`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from termserver.errors import SchemaError
from termserver.store.schema import (
    CLOSURE_TABLES,
    HIERARCHY_TABLES,
    JOB_QUEUE_COLUMNS,
    SCHEMA_VERSION,
    SOURCE_SCOPE_TABLES,
    WORKBENCH_TABLES,
    code_system,
    map_job,
    metadata,
    resource,
    schema_version,
)


def _add_closure_tables(conn: Connection) -> None:
    """1 → 2: the $closure tables."""
    metadata.create_all(conn, tables=list(CLOSURE_TABLES))


def _add_hierarchy_tables(conn: Connection) -> None:
    """2 → 3: hierarchy closure, attribute relationships and refset members; the closure of
    every stored code system is built at once."""
    from termserver.store.write import Writer

    metadata.create_all(conn, tables=list(HIERARCHY_TABLES))
    writer = Writer(conn)
    for cs_pk in conn.execute(select(code_system.c.pk)).scalars().all():
        writer.build_closure(int(cs_pk))


def _add_workbench_tables(conn: Connection) -> None:
    """3 → 4: the curation workbench (map projects, decisions, audit trail, jobs)."""
    metadata.create_all(conn, tables=list(WORKBENCH_TABLES))


def _add_source_scope_tables(conn: Connection) -> None:
    """4 → 5: map projects whose source codes a ValueSet restricts."""
    metadata.create_all(conn, tables=list(SOURCE_SCOPE_TABLES))


def _add_resource_owner(conn: Connection) -> None:
    """5 → 6: `resource.owner` (who wrote it), inferred from `origin` for existing rows: the
    workbench's own origins, none (the REST API), else a loader. Rows that have one keep it."""
    if "owner" not in {c["name"] for c in inspect(conn).get_columns("resource")}:
        conn.exec_driver_sql("ALTER TABLE resource ADD COLUMN owner VARCHAR(16)")
    origin = resource.c.origin
    workbench = or_(origin == "workbench", origin.like("workbench:%"))
    unset = resource.c.owner.is_(None)
    conn.execute(update(resource).where(unset, workbench).values(owner="workbench"))
    conn.execute(update(resource).where(unset, origin.is_(None)).values(owner="api"))
    conn.execute(update(resource).where(unset).values(owner="loader"))


def _add_job_queue_columns(conn: Connection) -> None:
    """6 → 7: `map_job.claimed_by` and `lease_until`, so any replica can claim a queued job
    (mappings.jobs). Jobs left running by a version-6 process have no lease and are reported
    failed after their heartbeat went stale, as before."""
    have = {c["name"] for c in inspect(conn).get_columns("map_job")}
    for name, sql_type in JOB_QUEUE_COLUMNS:
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE map_job ADD COLUMN {name} {sql_type}")


#: STEPS[n] upgrades a database from version n to n + 1. Append; never edit a released step.
STEPS: dict[int, Callable[[Connection], None]] = {1: _add_closure_tables,
                                                  2: _add_hierarchy_tables,
                                                  3: _add_workbench_tables,
                                                  4: _add_source_scope_tables,
                                                  5: _add_resource_owner,
                                                  6: _add_job_queue_columns}


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    found = conn.execute(select(schema_version.c.version).order_by(
        schema_version.c.version.desc()).limit(1)).scalar()
    return int(found) if found is not None else 0


#: pg_advisory_lock key of schema migrations (any constant 64-bit number unique to us).
MIGRATION_LOCK = 0x7465726D5F736368  # "term_sch"


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """PostgreSQL: hold the migration advisory lock (waiting for another process that holds
    it); released when done, or by the server if this process dies. SQLite file: an exclusive
    flock on the database's folder (never on the file itself: closing another descriptor of
    it would drop SQLite's own locks); none on Windows or in memory."""
    if engine.dialect.name == "sqlite":
        with _folder_lock(engine.url.database):
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        lock.commit()
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            lock.commit()


@contextmanager
def _folder_lock(database: str | None) -> Iterator[None]:
    if sys.platform == "win32" or not database or database == ":memory:" \
            or database.startswith("file:"):
        yield
        return
    import fcntl

    fd = os.open(Path(database).expanduser().parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def migrate(engine: Engine) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before (0 when fresh)."""
    from termserver.store import pages

    with _migration_lock(engine):
        found = _migrate(engine)
        pages.ensure_indexes(engine)  # outside the versioned schema, but raced the same way
        return found


def _migrate(engine: Engine) -> int:
    with engine.begin() as conn:
        found = current_version(conn)
        if found is None:
            metadata.create_all(conn)
            _stamp(conn, SCHEMA_VERSION)
            return 0
    if found > SCHEMA_VERSION:
        raise SchemaError(
            f"database schema version {found} is newer than this termserver supports "
            f"({SCHEMA_VERSION}); upgrade termserver or use another database"
        )
    for version in range(found, SCHEMA_VERSION):
        with engine.begin() as conn:
            STEPS[version](conn)
            _stamp(conn, version + 1)
    return found


def _stamp(conn: Connection, version: int) -> None:
    conn.execute(schema_version.insert().values(
        version=version, applied_at=datetime.now(UTC).isoformat(timespec="seconds")))


# -- probes ------------------------------------------------------------------------------------


def schema_state(engine: Engine) -> str | None:
    """None when the database answers and its schema is SCHEMA_VERSION; else why not, in one
    line (unreachable, not created, older or newer)."""
    try:
        with engine.connect() as conn:
            found = current_version(conn)
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        return f"database unreachable: {type(exc).__name__}: {first[:200]}"
    if found is None:
        return "database has no termserver schema"
    if found != SCHEMA_VERSION:
        return f"database schema version {found}, this termserver needs {SCHEMA_VERSION}"
    return None


def job_states(engine: Engine) -> dict[tuple[str, str], int]:
    """Workbench jobs in the database by (kind, state)."""
    with engine.connect() as conn:
        rows = conn.execute(select(map_job.c.kind, map_job.c.state, func.count())
                            .group_by(map_job.c.kind, map_job.c.state)).all()
    return {(str(kind), str(state)): int(n) for kind, state, n in rows}
