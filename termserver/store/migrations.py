"""Schema migrations with Alembic (scripts in store/alembic/), so a database upgrades in place.

An empty database gets the current schema (schema.py) and is stamped with the head revision.
Any other runs the revisions after its own, one transaction each. A database the hand-rolled
migrations made (a `schema_version` table, versions 1..7, no `alembic_version`) is first
stamped with the revision of its version (LEGACY_REVISIONS), then upgraded; its
`schema_version` table is kept as history and no longer read. A database at a revision this
program does not know (a newer termserver wrote it) is refused rather than touched.

The whole check-and-upgrade runs under a lock (PostgreSQL: a session advisory lock; SQLite:
a flock on the database's folder), so server processes starting at the same moment on one
database upgrade one after the other (the later ones find the schema current). Also here:
the probes /readyz and /metrics read (`schema_state`, `job_states`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from termserver.errors import SchemaError
from termserver.store.schema import map_job, metadata

if TYPE_CHECKING:  # Alembic itself is imported when first needed (not by every command)
    from alembic.script import ScriptDirectory

#: The Alembic scripts (env.py, versions/), shipped inside the package.
SCRIPTS = Path(__file__).with_name("alembic")

#: The version table of the hand-rolled migrations (schema versions 1..7), read once.
legacy_version = Table("schema_version", MetaData(),
                       Column("version", Integer, primary_key=True),
                       Column("applied_at", String(40), nullable=False))

#: Alembic's version table, as Alembic makes it (read by `current`, written by `_stamp`).
alembic_version = Table("alembic_version", MetaData(),
                        Column("version_num", String(32), nullable=False),
                        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))

#: Hand-rolled schema version → the revision with the same schema.
LEGACY_REVISIONS = {n: f"{n:04d}" for n in range(1, 8)}


@cache
def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPTS))


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None, "no Alembic revisions"
    return found


@dataclass(frozen=True)
class Revision:
    """Where a database stands: its Alembic revision, or else its hand-rolled version."""

    revision: str | None  # None: no alembic_version (empty, or made before Alembic)
    legacy: int | None  # the hand-rolled schema version, when there is no revision

    @property
    def empty(self) -> bool:
        return self.revision is None and self.legacy is None

    @property
    def known(self) -> bool:
        """Whether this program can upgrade it (or it is current)."""
        if self.revision is not None:
            return self.revision in _revisions()
        return self.legacy is None or self.legacy in LEGACY_REVISIONS

    @property
    def effective(self) -> str | None:
        """The revision its schema is at (a legacy version mapped), None when empty."""
        if self.revision is not None or self.legacy is None:
            return self.revision
        return LEGACY_REVISIONS.get(self.legacy)

    def describe(self) -> str:
        if self.revision is not None:
            return f"revision {self.revision}"
        if self.legacy is not None:
            return f"schema version {self.legacy} (before Alembic)"
        return "no termserver schema"


@cache
def _revisions() -> frozenset[str]:
    return frozenset(s.revision for s in scripts().walk_revisions())


def current(conn: Connection) -> Revision:
    """The revision (or hand-rolled version) the database is at (read directly, not through
    MigrationContext, which logs two lines per call: /readyz calls this)."""
    tables = inspect(conn)
    if tables.has_table("alembic_version"):
        revs = conn.execute(select(alembic_version.c.version_num)).scalars().all()
        if revs:  # several (branches) never match a known revision: refused
            return Revision(",".join(sorted(revs)), None)
    if not tables.has_table("schema_version"):
        return Revision(None, None)
    found = conn.execute(select(func.max(legacy_version.c.version))).scalar()
    return Revision(None, int(found) if found is not None else 0)


def revision_of(engine: Engine) -> Revision:
    with engine.connect() as conn:
        return current(conn)


def needs_upgrade(found: Revision) -> bool:
    return found.effective != head()


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


def migrate(engine: Engine) -> Revision:
    """Bring the schema to the head revision; return where it was before."""
    from termserver.store import pages

    with _migration_lock(engine):
        found = _migrate(engine)
        pages.ensure_indexes(engine)  # outside the versioned schema, but raced the same way
        return found


def _migrate(engine: Engine) -> Revision:
    with engine.connect() as conn:
        found = current(conn)
        if found.legacy is not None and found.legacy < min(LEGACY_REVISIONS):
            raise SchemaError("database has a schema_version table without a version: not "
                              "one termserver can upgrade; use another database")
        if not found.known:
            raise SchemaError(
                f"database {found.describe()} is newer than this termserver supports (head "
                f"revision {head()}); upgrade termserver or use another database")
        if found.revision is None:
            if found.empty:  # (tables made by hand without a version are kept: checkfirst)
                metadata.create_all(conn)
            _stamp(conn, found.effective or head())
            conn.commit()
            if found.empty:
                return found
        elif found.revision == head():
            return found
    from alembic import command
    from alembic.config import Config

    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(SCRIPTS))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return found


def _stamp(conn: Connection, revision: str) -> None:
    """Record `revision` as Alembic's `stamp` does (without its log lines on every start)."""
    alembic_version.create(conn, checkfirst=True)
    conn.execute(alembic_version.delete())
    conn.execute(alembic_version.insert().values(version_num=revision))


# -- probes ------------------------------------------------------------------------------------


def schema_state(engine: Engine) -> str | None:
    """None when the database answers and its schema is at the head revision; else why not, in
    one line (unreachable, not created, older or newer)."""
    try:
        with engine.connect() as conn:
            found = current(conn)
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        return f"database unreachable: {type(exc).__name__}: {first[:200]}"
    if found.empty:
        return "database has no termserver schema"
    if needs_upgrade(found):
        return f"database at {found.describe()}, this termserver needs revision {head()}"
    return None


def job_states(engine: Engine) -> dict[tuple[str, str], int]:
    """Workbench jobs in the database by (kind, state)."""
    with engine.connect() as conn:
        rows = conn.execute(select(map_job.c.kind, map_job.c.state, func.count())
                            .group_by(map_job.c.kind, map_job.c.state)).all()
    return {(str(kind), str(state)): int(n) for kind, state, n in rows}
