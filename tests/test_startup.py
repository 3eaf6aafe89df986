"""Starting the server: the "serving" line only once the port answers, a port clash and a
`--db` in a missing folder as clear errors, the default data folder created, the demo only on
request (and its LOINC a fragment), and several processes starting at the same moment on an
empty PostgreSQL database all coming up."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from termserver.cli import main
from termserver.settings import Settings
from tests.conftest import PG_URL, _reset_postgres
from tests.servers import ROOT, Served


@contextmanager
def served(db: str, n: int = 1) -> Iterator[list[Served]]:
    servers = [Served(db) for _ in range(n)]
    try:
        yield servers
    finally:
        for s in servers:
            s.stop()


def test_the_serving_line_comes_once_the_port_answers(tmp_path: Path) -> None:
    with served(f"sqlite:///{tmp_path / 'x.db'}") as (server,):
        server.wait()
        # no retry: the line is printed only after uvicorn listens
        assert server.send("GET", "/livez") == (200, b'{"status":"ok"}')
        status, body = server.send("GET", "/readyz")
        assert (status, json.loads(body)) == (200, {"status": "ready"})


def test_a_port_clash_is_a_clear_error(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        db = tmp_path / "x.db"
        assert main(["serve", "--port", str(port), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"termserver: error: cannot listen on 127.0.0.1:{port}: "), err
    assert "serving" not in err
    assert not db.exists()  # nothing was opened before the port was ours


@pytest.mark.parametrize("form", ["path", "url"])
def test_a_db_in_a_missing_folder_is_an_error(tmp_path: Path, form: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nonexistent" / "dir" / "x.db"
    db = str(path) if form == "path" else f"sqlite:///{path}"
    assert main(["status", "--db", db]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (f"termserver: error: cannot open database {path}: the folder "
                           f"{path.parent} does not exist (create it, or check the path)")
    assert not (tmp_path / "nonexistent").exists()


def test_the_default_data_folder_is_created(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "fresh" / "data"
    monkeypatch.delenv("TERMSERVER_DB", raising=False)
    monkeypatch.setenv("TERMSERVER_DATA_DIR", str(data))
    assert main(["status"]) == 0
    assert (data / "termserver.db").is_file()


def test_the_demo_is_loaded_only_on_request() -> None:
    assert Settings.from_env({}).demo_dir is None
    assert Settings.from_env({"TERMSERVER_DEMO": "1"}).demo_dir == Path("demo")
    assert Settings.from_env({"TERMSERVER_DEMO": "1", "TERMSERVER_DEMO_DIR": "/opt/d"}
                             ).demo_dir == Path("/opt/d")


def test_the_demo_loinc_subset_is_a_fragment(tmp_path: Path) -> None:
    from termserver.cli import _load_demo
    from termserver.store import Store

    demo = tmp_path / "demo"
    shutil.copytree(ROOT / "demo" / "loinc", demo / "loinc")  # LOINC only, no packages
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        _load_demo(store, demo)
        (loinc,) = [cs for cs in store.code_systems() if cs.url == "http://loinc.org"]
        assert (loinc.version, loinc.content) == ("2.78", "fragment")
        assert store.read_resource("CodeSystem", loinc.resource_id).resource[
            "content"] == "fragment"
        # the German names were still added to it
        detail = store.concept_detail(loinc.pk, "2160-0")
        assert detail is not None and any(d.language == "de-DE" for d in detail.designations)
    finally:
        store.close()


OPEN_AT = """
import sys, time
from termserver.store import Store
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
try:
    Store(sys.argv[1]).close()
    print("ok")
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
"""


def open_at_once(db_url: str, n: int = 4) -> list[str]:
    """What `n` processes print that open a Store on `db_url` at the same moment (OPEN_AT)."""
    start = f"{time.time() + 8:.3f}"  # after every interpreter has imported the store
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, db_url, start],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(n)]
    return [p.communicate(timeout=120)[0].strip() for p in procs]


def test_four_processes_migrate_an_empty_database_at_the_same_moment(db_url: str) -> None:
    """Without the migration lock two of them create the schema at once and one fails
    (PostgreSQL: UniqueViolation on pg_type; SQLite: table already exists)."""
    assert open_at_once(db_url) == ["ok"] * 4


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set TERMSERVER_TEST_PG_URL")
def test_four_processes_start_at_once_on_an_empty_postgresql_database(tmp_path: Path) -> None:
    """The schema is created once, under an advisory lock; every process comes up ready."""
    assert PG_URL is not None
    _reset_postgres(PG_URL)
    with served(PG_URL, n=4) as servers:
        ports = [s.wait() for s in servers]
        assert len(set(ports)) == 4
        for s in servers:
            status, body = s.send("GET", "/readyz")
            assert (status, json.loads(body)) == (200, {"status": "ready"}), "".join(s.lines)
            assert not any("Traceback" in line for line in s.lines), "".join(s.lines)
