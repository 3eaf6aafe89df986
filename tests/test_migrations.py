"""Alembic migrations: a database the hand-rolled migrations left at any schema version 1..7
(built from that version's frozen DDL, tests/fixtures/legacy_schema) is upgraded to the head
revision with its data intact and a schema equal to a fresh one's; on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from termserver.errors import SchemaError
from termserver.store import Store, migrations
from termserver.store.schema import metadata
from tests.helpers import set_legacy_version

LEGACY = Path(__file__).parent / "fixtures" / "legacy_schema"
CS_URL = "http://example.org/cs"


def build_legacy(url: str, version: int) -> None:
    """The schema of hand-rolled version `version` with some content written at it."""
    engine = create_engine(url)
    dialect = engine.dialect.name
    ddl = (LEGACY / f"legacy.{dialect}.sql").read_text()
    with engine.begin() as conn:
        for statement in legacy_statements(ddl, version):
            conn.exec_driver_sql(statement.rstrip(";"))
        conn.execute(text("INSERT INTO schema_version (version, applied_at) "
                          "VALUES (:v, '2026-01-01')"), {"v": version})
        _content(conn, version)
    engine.dispose()


def legacy_statements(text: str, version: int) -> list[str]:
    """The DDL of `version`, in its order, from a `legacy.<backend>.sql` file: each distinct
    statement once, after a line `-- at v1:0 v2:0 …` (version: place; written by
    tests/fixtures/legacy_schema/snapshot.py)."""
    placed: list[tuple[int, str]] = []
    for chunk in text.split(";\n\n"):
        lines = chunk.strip().splitlines()
        while lines and not lines[0].startswith("-- at "):  # the file's header
            lines.pop(0)
        if not lines:
            continue
        places = dict(item.split(":") for item in lines[0][len("-- at "):].split())
        if f"v{version}" in places:
            placed.append((int(places[f"v{version}"]), "\n".join(lines[1:]).strip()))
    return [body for _, body in sorted(placed)]


def _content(conn: Any, version: int) -> None:
    row = ("INSERT INTO resource (pk, resource_type, id, url, version, name, status, "
           "version_id, last_updated, origin, json) VALUES (:pk, :type, :id, :url, '1', 'N', "
           "'active', 1, '2026-01-01', :origin, '{}')")
    conn.execute(text(row), {"pk": 1, "type": "CodeSystem", "id": "cs", "url": CS_URL,
                             "origin": "/data/release.zip"})
    conn.execute(text(row), {"pk": 2, "type": "ValueSet", "id": "vs",
                             "url": "http://example.org/vs", "origin": None})
    conn.execute(text(row), {"pk": 3, "type": "ConceptMap", "id": "cm",
                             "url": "http://example.org/cm", "origin": "workbench:lab"})
    conn.execute(text("INSERT INTO code_system (pk, resource_pk, url, version, content, "
                      "concept_count) VALUES (1, 1, :url, '1', 'complete', 3)"), {"url": CS_URL})
    for seq, code in enumerate(("A", "B", "C")):
        conn.execute(text("INSERT INTO concept (cs_pk, code, display, inactive, abstract, seq) "
                          "VALUES (1, :code, :display, :f, :f, :seq)"),
                     {"code": code, "display": f"concept {code}", "f": False, "seq": seq})
    conn.execute(text("INSERT INTO concept_parent (cs_pk, child, parent) VALUES "
                      "(1, 'B', 'A'), (1, 'C', 'B')"))
    if version >= 2:
        conn.execute(text("INSERT INTO closure_table (name, version) VALUES ('t', 3)"))
    if version >= 3:  # a closure made at version 3 (here deliberately partial) is kept
        conn.execute(text("INSERT INTO concept_closure (cs_pk, ancestor, descendant) "
                          "VALUES (1, 'A', 'B')"))
    if version >= 4:
        conn.execute(text(
            "INSERT INTO map_project (pk, id, title, source_system, target_system, language, "
            "dual, created) VALUES (1, 'p', 'Project', :url, 'http://loinc.org', 'de', :f, "
            "'2026-01-01')"), {"url": CS_URL, "f": False})
        conn.execute(text(
            "INSERT INTO map_job (id, project_pk, kind, state, done, total, started) "
            "VALUES ('job-1', 1, 'suggest', 'running', 5, 10, '2026-01-01')"))
    if version >= 5:
        conn.execute(text("INSERT INTO map_source_scope (project_pk, stamp, members) "
                          "VALUES (1, 's', 2)"))
    if version >= 6:  # owners recorded at version 6 are kept (the first is no inference)
        conn.execute(text("UPDATE resource SET owner = CASE pk WHEN 3 THEN 'workbench' "
                          "ELSE 'api' END"))


def schema_differences(url: str) -> list[Any]:
    """What differs between the database's schema and schema.py (objects only the database
    has, such as text indexes and the legacy version table, are left out); on SQLite also
    whether `code_system` has AUTOINCREMENT, which reflection does not see."""
    def ours(obj: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
        return not (reflected and other is None)

    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": ours})
        found = list(compare_metadata(context, metadata))
        if engine.dialect.name == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = "
                                    "'code_system'")).scalar()
            if "AUTOINCREMENT" not in str(sql).upper():
                found.append(("no AUTOINCREMENT", "code_system"))
    engine.dispose()
    return found


@pytest.mark.parametrize("version", sorted(migrations.LEGACY_REVISIONS))
def test_every_legacy_version_upgrades_with_its_data(db_url: str, version: int) -> None:
    build_legacy(db_url, version)
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            found = migrations.current(conn)
            owners = dict(conn.execute(text("SELECT id, owner FROM resource")).all())
            closure = set(conn.execute(text(
                "SELECT ancestor, descendant FROM concept_closure WHERE cs_pk = 1")).all())
            jobs = conn.execute(text(
                "SELECT id, state, done, claimed_by, lease_until FROM map_job")).all()
            legacy = conn.execute(text("SELECT max(version) FROM schema_version")).scalar()
        assert found == migrations.Revision(migrations.head(), None)
        assert migrations.schema_state(store.engine) is None
        assert legacy == version  # kept as history
        cs = store.code_systems()
        assert [(c.url, c.version, c.concept_count) for c in cs] == [(CS_URL, "1", 3)]
        assert store.descendants(cs[0].pk, "A") == ({"B", "C"} if version < 3 else {"B"})
        assert owners == ({"cs": "api", "vs": "api", "cm": "workbench"} if version >= 6 else
                          {"cs": "loader", "vs": "api", "cm": "workbench"})
        assert closure == ({("A", "B"), ("A", "C"), ("B", "C")} if version < 3 else
                           {("A", "B")})
        assert jobs == ([("job-1", "running", 5, None, None)] if version >= 4 else [])
    finally:
        store.close()
    assert schema_differences(db_url) == []


def test_an_old_sqlite_code_system_key_is_never_handed_out_again(tmp_path: Path) -> None:
    """A database made before schema 6 gets `code_system` rebuilt with AUTOINCREMENT (0008):
    its rows and their concepts survive, foreign keys are on again, and the key of a dropped
    CodeSystem is not reused."""
    url = f"sqlite:///{tmp_path / 'v5.db'}"
    build_legacy(url, 5)
    store = Store(url)
    try:
        with store.engine.begin() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            concepts = conn.execute(text("SELECT count(*) FROM concept")).scalar()
            assert concepts == 3
            conn.execute(text("INSERT INTO code_system (pk, resource_pk, url, content, "
                              "concept_count) VALUES (7, 2, 'http://x', 'complete', 0)"))
            conn.execute(text("DELETE FROM code_system WHERE pk = 7"))
            conn.execute(text("INSERT INTO code_system (resource_pk, url, content, "
                              "concept_count) VALUES (3, 'http://y', 'complete', 0)"))
            assert conn.execute(text("SELECT max(pk) FROM code_system")).scalar() == 8
    finally:
        store.close()
    assert schema_differences(url) == []


def test_a_fresh_database_equals_the_schema_and_is_at_head(db_url: str) -> None:
    Store(db_url).close()
    Store(db_url).close()  # reopening changes nothing
    assert schema_differences(db_url) == []
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.Revision(migrations.head(), None)
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()


def test_the_revision_chain_from_nothing_equals_a_fresh_database(db_url: str) -> None:
    """`alembic upgrade head` on an empty database (0001 onwards) makes the same schema."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(db_url)
    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(migrations.SCRIPTS))
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    engine.dispose()
    assert schema_differences(db_url) == []


def test_the_legacy_versions_map_onto_the_revision_chain() -> None:
    chain = [s.revision for s in reversed(list(migrations.scripts().walk_revisions()))]
    assert chain[:7] == [migrations.LEGACY_REVISIONS[n] for n in range(1, 8)]
    assert migrations.head() == chain[-1]


def test_a_newer_revision_is_refused(db_url: str) -> None:
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="revision ffff is newer than this termserver"):
        Store(db_url)
    engine = create_engine(db_url)
    assert migrations.schema_state(engine) == (
        f"database at revision ffff, this termserver needs revision {migrations.head()}")
    engine.dispose()


def test_a_newer_legacy_version_is_refused(db_url: str) -> None:
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        set_legacy_version(conn, 99)
    engine.dispose()
    with pytest.raises(SchemaError, match="schema version 99 .* is newer than this"):
        Store(db_url)


def test_an_empty_legacy_version_table_is_refused(db_url: str) -> None:
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        set_legacy_version(conn, 1)
        conn.execute(text("DELETE FROM schema_version"))
    engine.dispose()
    with pytest.raises(SchemaError, match="schema_version table without a version"):
        Store(db_url)


def test_an_older_revision_runs_the_missing_revisions(db_url: str) -> None:
    """A database stamped 0006 (the columns of 0007 absent) gets them from 0007."""
    Store(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE map_job DROP COLUMN lease_until"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    assert migrations.schema_state(engine) == (
        f"database at revision 0006, this termserver needs revision {migrations.head()}")
    Store(db_url).close()
    assert migrations.schema_state(engine) is None
    engine.dispose()
    assert schema_differences(db_url) == []


def test_four_processes_upgrade_a_legacy_database_at_the_same_moment(db_url: str) -> None:
    """The stamp and the revisions run once, under the migration lock: every process comes up,
    and the closure the 0003 revision builds is there once."""
    from tests.test_startup import open_at_once

    build_legacy(db_url, 2)
    assert open_at_once(db_url) == ["ok"] * 4
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert migrations.current(conn) == migrations.Revision(migrations.head(), None)
        pairs = conn.execute(text("SELECT ancestor, descendant FROM concept_closure")).all()
    engine.dispose()
    assert sorted(pairs) == [("A", "B"), ("A", "C"), ("B", "C")]
