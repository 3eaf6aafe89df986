"""`termserver db current` / `db upgrade` and TERMSERVER_DB_UPGRADE=off, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from termserver.cli import main
from termserver.store import migrations
from termserver.store.engine import sqlite_file
from tests.test_migrations import CS_URL, build_legacy

HEAD = migrations.head()


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--db", db])
    out, err = capsys.readouterr()
    return code, out, err


def test_current_of_a_missing_sqlite_file_creates_nothing(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    code, out, _ = run(capsys, str(missing), "db", "current")
    assert (code, "no such file" in out, missing.exists()) == (1, True, False)


def test_current_and_upgrade_of_an_empty_database(capsys: pytest.CaptureFixture[str],
                                                  db_url: str) -> None:
    if (path := sqlite_file(db_url)) is not None:
        path.touch()  # an empty file is an empty SQLite database
    code, out, _ = run(capsys, db_url, "db", "current")
    assert code == 0
    assert out.splitlines()[1:] == ["current: no termserver schema", f"head: {HEAD}",
                                    "upgrade needed: yes (run `termserver db upgrade`)"]
    code, out, _ = run(capsys, db_url, "db", "upgrade")
    assert (code, out.split(": ", 1)[1]) == (0, f"created the schema at revision {HEAD}\n")
    code, out, _ = run(capsys, db_url, "db", "current")
    assert out.splitlines()[1:] == [f"current: revision {HEAD}", f"head: {HEAD}",
                                    "upgrade needed: no"]
    code, out, _ = run(capsys, db_url, "db", "upgrade")
    assert (code, out.split(": ", 1)[1]) == (0, f"already at the head revision {HEAD}\n")


def test_a_legacy_database_is_reported_and_upgraded(capsys: pytest.CaptureFixture[str],
                                                    db_url: str) -> None:
    build_legacy(db_url, 4)
    code, out, _ = run(capsys, db_url, "db", "current")
    assert out.splitlines()[1:] == [
        "current: schema version 4 (before Alembic) = revision 0004", f"head: {HEAD}",
        "upgrade needed: yes (run `termserver db upgrade`)"]
    code, out, _ = run(capsys, db_url, "db", "upgrade")
    assert (code, out.split(": ", 1)[1]) == (
        0, f"upgraded from schema version 4 (before Alembic) = revision 0004 to revision "
        f"{HEAD}\n")
    code, out, _ = run(capsys, db_url, "status", "--json")
    assert code == 0 and CS_URL in out


def test_with_the_automatic_upgrade_off_an_old_schema_is_refused_and_left_alone(
        capsys: pytest.CaptureFixture[str], db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    build_legacy(db_url, 6)
    monkeypatch.setenv("TERMSERVER_DB_UPGRADE", "off")
    code, _, err = run(capsys, db_url, "status")
    assert code == 1
    assert err == ("termserver: error: database at schema version 6 (before Alembic), this "
                   f"termserver needs revision {HEAD}: run `termserver db upgrade` (the "
                   "automatic upgrade is off: TERMSERVER_DB_UPGRADE=off)\n")
    code, out, _ = run(capsys, db_url, "db", "current")
    assert "current: schema version 6 (before Alembic) = revision 0006" in out.splitlines()
    assert run(capsys, db_url, "db", "upgrade")[0] == 0
    code, out, _ = run(capsys, db_url, "status", "--json")
    assert code == 0 and CS_URL in out


def test_a_newer_database_is_reported_and_refused(capsys: pytest.CaptureFixture[str],
                                                  db_url: str) -> None:
    run(capsys, db_url, "db", "upgrade")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    code, out, _ = run(capsys, db_url, "db", "current")
    assert out.splitlines()[1:] == ["current: revision ffff", f"head: {HEAD}",
                                    "upgrade needed: no; the database is newer than this "
                                    "termserver"]
    code, _, err = run(capsys, db_url, "db", "upgrade")
    assert code == 1 and "revision ffff is newer than this termserver supports" in err


def test_a_server_with_the_automatic_upgrade_off_refuses_an_old_schema(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from termserver.api.app import create_app
    from termserver.errors import SchemaError
    from termserver.settings import Settings

    build_legacy(db_url, 5)
    with pytest.raises(SchemaError, match=r"run `termserver db upgrade`"):
        with TestClient(create_app(Settings(db=db_url, db_upgrade=False))):
            pass
    engine = create_engine(db_url)
    assert migrations.revision_of(engine) == migrations.Revision(None, 5)  # left alone
    with TestClient(create_app(Settings(db=db_url))) as client:  # the default: upgraded
        assert client.get("/readyz").json() == {"status": "ready"}
    assert migrations.revision_of(engine) == migrations.Revision(HEAD, None)
    engine.dispose()
