"""Versioned schema migrations, so an existing database upgrades in place.

A fresh database gets the current schema and is stamped with SCHEMA_VERSION. An older one runs
each step after its recorded version, in order, in one transaction per step. A database newer
than this program is refused with a clear message rather than being touched.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, inspect, or_, select, update

from termserver.errors import SchemaError
from termserver.store.schema import (
    CLOSURE_TABLES,
    HIERARCHY_TABLES,
    SCHEMA_VERSION,
    SOURCE_SCOPE_TABLES,
    WORKBENCH_TABLES,
    code_system,
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


#: STEPS[n] upgrades a database from version n to n + 1. Append; never edit a released step.
STEPS: dict[int, Callable[[Connection], None]] = {1: _add_closure_tables,
                                                  2: _add_hierarchy_tables,
                                                  3: _add_workbench_tables,
                                                  4: _add_source_scope_tables,
                                                  5: _add_resource_owner}


def current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    found = conn.execute(select(schema_version.c.version).order_by(
        schema_version.c.version.desc()).limit(1)).scalar()
    return int(found) if found is not None else 0


def migrate(engine: Engine) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before (0 when fresh)."""
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
