"""Several processes on one database (issue 12, item 4): a reader sees the old content or the
new, never neither, while another process (a server or `termserver load`) replaces a code system.

The first tests use two Store instances on one database (what two processes hold: separate
caches, separate connections); the last ones start two real servers (uvicorn subprocesses) and a
CLI load. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from termserver import ingest
from termserver.api.tx import stored_value_set
from termserver.store import Store
from tests.helpers import code_system, make_package, value_set
from tests.servers import Served

URL = "http://example.org/CodeSystem/replaced"
KEEP = tuple(f"keep-{i}" for i in range(20))  # in every version


def version_of(n: int, *, version: str = "1", id: str = "rep") -> dict[str, Any]:
    """Content number `n`: the KEEP codes plus codes only this content has, a hierarchy."""
    cs = code_system(URL, version, id=id, codes=(*KEEP, *(f"only-{n}-{i}" for i in range(30))))
    cs["concept"][0]["concept"] = [{"code": f"child-{n}", "display": "child"}]
    return cs


@pytest.fixture
def two(db_url: str) -> Iterator[tuple[Store, Store]]:
    """(a, b): two stores on one database, as two server processes hold them."""
    a, b = Store(db_url), Store(db_url)
    yield a, b
    b.close()
    a.close()


def put(store: Store, data: dict[str, Any]) -> None:
    with store.writer() as w:
        ingest.save_resource(w, data, mode="update", id=str(data["id"]))


# -- two Store instances -------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["put-same-version", "put-new-version", "delete-and-create"])
def test_a_code_system_replaced_elsewhere_is_read_from_its_new_rows(
        two: tuple[Store, Store], how: str) -> None:
    a, b = two
    put(a, version_of(0))
    put(a, code_system("http://example.org/CodeSystem/other", id="other"))  # SQLite reuses
    old = b.resolve_code_system(URL)  # the highest rowid; here the replace gets a new pk
    assert old is not None and b.resolve_code_system(URL) is old  # cached in b
    if how == "put-same-version":
        put(a, version_of(1))
    elif how == "put-new-version":
        put(a, version_of(1, version="2"))
    else:  # one transaction: the resource and the code system get new pks
        with a.writer() as w:
            ingest.delete_resource(w, "CodeSystem", "rep")
            ingest.save_resource(w, version_of(1, id="rep2"), mode="update", id="rep2")
    stale = b.resolve_code_system(URL)
    assert stale is not None and stale.pk == old.pk  # b still trusts its cache (TTL)
    for code in KEEP:
        detail = b.concept_detail(stale.pk, code)
        assert detail is not None and detail.concept.code == code
    assert b.concept(stale.pk, "keep-3") is not None
    assert b.has_code(stale.pk, "keep-4")
    assert b.code_folded(stale.pk, "KEEP-5") == "keep-5"
    assert b.descendants(stale.pk, "keep-0") == {"child-1"}
    assert b.ancestors(stale.pk, "child-1") == {"keep-0"}
    assert b.subsumed(stale.pk, "keep-0", "child-1")
    assert set(KEEP) <= b.concept_codes(stale.pk)
    assert b.existing_codes(stale.pk, (c for c in KEEP)) == dict.fromkeys(KEEP, False)
    assert {d.concept.code for d in b.concept_details(stale.pk)} >= set(KEEP)
    assert b.concept_detail(stale.pk, "only-0-1") is None  # the old version's own code: gone
    fresh = b.resolve_code_system(URL)
    assert fresh is not None and fresh.pk != old.pk  # the cache was dropped on the way


def test_a_read_of_several_statements_sees_one_snapshot(two: tuple[Store, Store]) -> None:
    """Chunked reads (existing_codes of 1,000 codes is two queries) never mix two states."""
    from sqlalchemy import text

    a, b = two
    put(a, version_of(0))
    new = text("SELECT count(*) FROM code_system WHERE version = '2'")
    with b._snapshot() as conn:
        assert conn.execute(new).scalar() == 0
        put(a, version_of(1, version="2"))  # commits while b's read is open
        assert conn.execute(new).scalar() == 0
    with b._snapshot() as conn:
        assert conn.execute(new).scalar() == 1


def test_true_negatives_stay_negative(two: tuple[Store, Store]) -> None:
    a, b = two
    put(a, version_of(0))
    cs = b.resolve_code_system(URL)
    assert cs is not None
    assert b.concept_detail(cs.pk, "nope") is None
    assert not b.has_code(cs.pk, "nope")
    assert b.descendants(cs.pk, "child-0") == set()
    assert b.resolve_code_system(URL) is cs  # no replace: the cached resolution stays


def test_a_pinned_version_that_was_replaced_by_another_version_is_not_answered(
        two: tuple[Store, Store]) -> None:
    a, b = two
    put(a, version_of(0))
    put(a, code_system("http://example.org/CodeSystem/other", id="other"))  # a new pk below
    old = b.resolve_code_system(URL, "1")
    assert old is not None
    put(a, version_of(1, version="2"))
    assert b.concept_detail(old.pk, "keep-1") is None  # version 1 is gone; 2 was not asked for


def test_an_unknown_code_system_is_never_cached(two: tuple[Store, Store]) -> None:
    a, b = two
    assert b.resolve_code_system(URL) is None
    assert b.resolve_code_system(URL, "1") is None
    put(a, version_of(0))
    assert b.resolve_code_system(URL) is not None
    assert b.resolve_code_system(URL, "1") is not None
    assert [cs.version for cs in b.code_systems(URL)] == ["1"]


def test_an_unknown_value_set_is_never_cached(two: tuple[Store, Store]) -> None:
    a, b = two
    resolve = stored_value_set(b)
    vs_url = "http://example.org/ValueSet/later"
    assert resolve(vs_url, None) is None
    with a.writer() as w:
        ingest.save_resource(w, value_set(vs_url, id="later", compose={
            "include": [{"system": URL}]}), mode="update", id="later")
    found = resolve(vs_url, None)
    assert found is not None and found.url == vs_url


# -- real processes ------------------------------------------------------------------------------


class Reader(threading.Thread):
    """$lookup of the KEEP codes on `server`, back to back, until stopped (at most 120 s)."""

    def __init__(self, server: Served) -> None:
        super().__init__(daemon=True)
        self.server, self.done = server, 0
        self.false: list[Any] = []
        self.halt = threading.Event()

    def run(self) -> None:
        conn = self.server.connect()
        deadline = time.monotonic() + 120
        i = 0
        while not self.halt.is_set() and time.monotonic() < deadline:
            code = KEEP[i % len(KEEP)]
            i += 1
            path = "/fhir/CodeSystem/$lookup?" + urlencode({"system": URL, "code": code})
            try:
                status, body = self.server.call("GET", path, conn=conn)
            except (OSError, http.client.HTTPException) as exc:
                self.false.append(repr(exc))
                conn.close()
                conn = self.server.connect()
                continue
            self.done += 1
            if status != 200:
                self.false.append((code, status, body))
        conn.close()

    def finish(self) -> None:
        self.halt.set()
        self.join(30)


@pytest.fixture
def reader_and_writer(db_url: str, tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    seed = Store(db_url)
    put(seed, version_of(0))
    put(seed, code_system("http://example.org/CodeSystem/other", id="other"))  # SQLite reuses
    seed.close()  # the highest rowid: here every replace gets a new pk, as on PostgreSQL
    servers: list[Served] = []
    try:
        servers.append(Served(db_url))
        servers.append(Served(db_url))
        for s in servers:
            s.wait()
        yield servers[0], servers[1]
    finally:
        for s in servers:
            s.stop()


def test_replacing_through_one_server_never_hides_a_code_from_another(
        reader_and_writer: tuple[Served, Served]) -> None:
    """The acceptance case: 10 replaces through A (PUT of new content, of a new version, and
    delete + create under a new id), $lookup on B back to back: no false answer."""
    b, a = reader_and_writer
    reader = Reader(b)
    reader.start()
    try:
        time.sleep(0.5)  # B has resolved (and cached) the code system
        for n in range(1, 11):
            if n % 3 == 0:  # a new version under the same id
                status, body = a.call("PUT", "/fhir/CodeSystem/rep",
                                         version_of(n, version=str(n)))
            else:
                status, body = a.call("PUT", "/fhir/CodeSystem/rep", version_of(n))
            assert status in (200, 201), body
            time.sleep(0.3)
    finally:
        reader.finish()
    assert reader.done > 50
    assert reader.false == []


def test_a_cli_load_never_hides_a_code_from_a_running_server(
        reader_and_writer: tuple[Served, Served], db_url: str, tmp_path: Path) -> None:
    b, _ = reader_and_writer
    packages = [make_package(tmp_path / f"p{n}.tgz", [version_of(n)]) for n in (1, 2)]
    reader = Reader(b)
    reader.start()
    try:
        time.sleep(0.5)
        for n in range(4):
            done = subprocess.run(
                [sys.executable, "-m", "termserver", "load", str(packages[n % 2]),
                 "--db", db_url], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            time.sleep(0.3)
    finally:
        reader.finish()
    assert reader.done > 50
    assert reader.false == []


# -- SQLite: a clean stop leaves no write-ahead log ----------------------------------------------


def test_a_stopped_sqlite_server_leaves_a_full_db_file(tmp_path: Path) -> None:
    """SIGTERM (uvicorn's clean stop) checkpoints the write-ahead log into the .db file."""
    db = tmp_path / "t.db"
    seed = Store(f"sqlite:///{db}")  # the server does not create the schema concurrently
    seed.close()
    server = Served(f"sqlite:///{db}")
    try:
        server.wait()
        status, body = server.call("PUT", "/fhir/CodeSystem/rep", version_of(0))
        assert status == 201, body
        wal = Path(f"{db}-wal")
        assert wal.exists() and wal.stat().st_size > 0
    finally:
        server.stop()
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)  # the .db file alone: a full backup
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("SELECT count(*) FROM concept").fetchone()[0] == len(KEEP) + 31
    finally:
        conn.close()


def test_a_paged_expansion_of_a_replaced_code_system_is_never_empty(
        two: tuple[Store, Store]) -> None:
    from termserver.fhir.valueset import value_set_definition
    from termserver.model import ExpandRequest
    from termserver.service.context import TxContext
    from termserver.service.expand import expand

    a, b = two
    put(a, version_of(0))
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/all", "status": "active",
          "compose": {"include": [{"system": URL}]}}
    definition = value_set_definition(vs)

    def codes(store: Store) -> set[str]:
        found = expand(TxContext(store), ExpandRequest(value_set=definition, count=100))
        return {e.code for e in found.entries}

    assert set(KEEP) <= codes(b)  # b resolves and caches the pk
    put(a, version_of(1))  # a replaces the code system: its rows get a new pk
    assert set(KEEP) <= codes(b)
