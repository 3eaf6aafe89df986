"""Workbench jobs as a database queue (mappings.jobs, termserver.store.jobqueue): the v6 → v7
migration on both backends, claiming (one winner, a cancelled job is left alone, an expired
lease is reclaimed and resumed), and two real server processes on one PostgreSQL database: a
"suggest all" started through one shows its progress on the other and, after `kill -9` of the
process running it, is finished by the other; a ConceptMap written or published through one,
and a code system loaded by `termserver load`, are served by both after the documented lag;
both are ready."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, inspect, update

from mappings.jobs import JobRunner, QueueSettings
from mappings.model import Job, JobState
from mappings.workbench import Workbench
from termserver.store import Store
from termserver.store.jobqueue import JobQueue
from termserver.store.read import RESOLVE_TTL
from termserver.store.schema import map_job
from termserver.store.workbench import stamp
from tests.conftest import PG_URL, _reset_postgres
from tests.helpers import code_system, make_package
from tests.mappings.test_workbench import LAB, LOINC, ROWS, make_workbench
from tests.servers import Served

DEADLINE = 180.0  # seconds for any one wait below (a busy 2-core machine)


def _job(wb: Workbench, id: str, state: JobState = "queued") -> None:
    wb.store.workbench.create_job(wb.get_project("lab").pk,
                                  Job(id, "lab", "suggest", state, started=stamp()), "bot")


# -- schema ------------------------------------------------------------------------------------

def test_a_version_6_database_gets_the_lease_columns(db_url: str) -> None:
    from termserver.store import migrations
    from tests.helpers import set_legacy_version

    Store(db_url).close()  # the current schema, then taken back to version 6
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for column in ("claimed_by", "lease_until"):
            conn.exec_driver_sql(f"ALTER TABLE map_job DROP COLUMN {column}")
        set_legacy_version(conn, 6)
    engine.dispose()
    store = Store(db_url)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("map_job")}
        assert {"claimed_by", "lease_until"} <= columns
        with store.engine.connect() as conn:
            assert migrations.current(conn).revision == migrations.head()
    finally:
        store.close()


# -- claiming ----------------------------------------------------------------------------------

def test_one_claim_per_job_and_an_expired_lease_is_reclaimed(store: Store) -> None:
    wb = make_workbench(store)
    queue = JobQueue(store.engine)
    _job(wb, "j1")
    _job(wb, "j2")
    _job(wb, "gone", state="cancelled")
    first, second = queue.claim("w1", 60), queue.claim("w2", 60)
    assert first is not None and second is not None
    assert (first.id, second.id, first.resumed) == ("j1", "j2", False)
    assert queue.claim("w3", 60) is None  # nothing left: cancelled jobs are never claimed
    assert queue.write("j1", "w1", done=3, total=6)
    assert not queue.write("j1", "w2", done=4)  # not its job
    assert queue.leased("j1") and queue.holder("j1") == "w1"
    with store.engine.begin() as conn:  # w1 died: its lease ran out
        conn.execute(update(map_job).where(map_job.c.id == "j1").values(
            lease_until="2000-01-01T00:00:00.000000Z"))
    assert not queue.leased("j1")
    again = queue.claim("w3", 60)
    assert again is not None and (again.id, again.done, again.resumed) == ("j1", 3, True)
    assert not queue.write("j1", "w1", done=5)  # the old worker is stopped at its next write
    assert queue.holder("j1") == "w3"


def test_a_reclaimed_job_resumes_after_the_codes_done(store: Store) -> None:
    wb = make_workbench(store)
    _job(wb, "half")
    queue = JobQueue(store.engine)
    assert queue.claim("dead", 60) is not None
    done = sorted(r.code for r in ROWS)[:2]  # the dead worker finished the first two codes
    with store.engine.begin() as conn:
        conn.execute(update(map_job).where(map_job.c.id == "half").values(
            done=2, total=6, lease_until="2000-01-01T00:00:00.000000Z"))
    runner = JobRunner(store, wb.scopes, settings=QueueSettings(resident=False, lease=60))
    runner._ensure_worker()
    runner.wait("half", 60)
    job = wb.job("half")
    assert (job.state, job.done, job.total, job.error) == ("done", 6, 6, None)
    assert queue.holder("half") == runner.worker_id
    items = {i.source.code: i for i in wb.worklist("lab")[0]}
    # the codes the dead worker had done were not suggested again (it wrote nothing for them
    # here), every other code was
    assert {c for c, i in items.items() if i.suggestions} == {r.code for r in ROWS} - set(done)


def test_a_clean_stop_requeues_and_a_cancel_elsewhere_stops_the_runner(store: Store) -> None:
    wb = make_workbench(store)
    slow = QueueSettings(resident=True, poll=0.1, lease=60, batch=1, pause=0.5)
    one = JobRunner(store, wb.scopes, settings=slow)
    _job(wb, "stop")
    one.start_worker()
    _until("progress", lambda: wb.job("stop").done >= 1)
    one.stop_worker()
    stopped = wb.job("stop")
    assert stopped.state == "queued" and 1 <= stopped.done < len(ROWS)
    assert JobQueue(store.engine).holder("stop") is None
    two = JobRunner(store, wb.scopes, settings=slow)  # another replica resumes it
    two.start_worker()
    try:
        _until("progress after the resume", lambda: wb.job("stop").done > stopped.done)
        other = Workbench(store)  # a replica that does not run the job cancels it
        assert other.cancel_job("stop").state == "cancelled"
        _until("the runner letting go", lambda: not two.running("stop"))
        after = wb.job("stop")
        assert after.state == "cancelled" and after.done < len(ROWS)
    finally:
        two.stop_worker()
    assert wb.job("stop").state == "cancelled"  # the stop did not requeue a cancelled job


# -- two server processes ----------------------------------------------------------------------

def _until(what: str, check: Any) -> Any:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured: set TERMSERVER_TEST_PG_URL "
                                       "(two replicas need a shared database server)")
def test_two_replicas_share_jobs_and_resources(tmp_path: Path) -> None:
    assert PG_URL is not None
    _reset_postgres(PG_URL)
    store = Store(PG_URL)
    try:
        make_workbench(store)  # a 6-code lab list, a 6-term LOINC fragment, project "lab"
    finally:
        store.close()
    # one code per batch, a pause between batches: the job outlives the kill below; a short
    # lease so the survivor reclaims it quickly. TERMSERVER_TEST_PORT_BASE pins the ports.
    env = {"TERMSERVER_JOB_WORKER": "1", "TERMSERVER_JOB_BATCH": "1", "TERMSERVER_JOB_PAUSE": "1.0",
           "TERMSERVER_JOB_LEASE": "3", "TERMSERVER_JOB_POLL": "0.3"}
    base = int(os.environ.get("TERMSERVER_TEST_PORT_BASE", "0"))
    replicas = [Served(PG_URL, port=base + i if base else 0, env=env, timeout=DEADLINE,
                       headers={"X-Curator": "bot"}) for i in range(2)]
    try:
        for r in replicas:
            r.wait()
        for r in replicas:
            assert r.call("GET", "/readyz") == (200, {"status": "ready"}), r.output()
        a, b = replicas

        # a ConceptMap written through one is served by the other
        cm = {"resourceType": "ConceptMap", "id": "lab-h", "url": "http://example.org/cm/lab-h",
              "version": "1", "status": "draft", "group": [{
                  "source": "http://example.org/lab", "target": LOINC,
                  "element": [{"code": "GLU", "target": [
                      {"code": "2345-7", "equivalence": "equivalent"}]}]}]}
        status, _ = a.call("PUT", "/fhir/ConceptMap/lab-h", cm)
        assert status in (200, 201)
        got = _until("the ConceptMap on the other replica",
                     lambda: (s := b.call("GET", "/fhir/ConceptMap/lab-h"))[0] == 200 and s[1])
        assert got["url"] == cm["url"]

        # a publish through one and a load by a third process: after the documented lag (the
        # resolution cache's RESOLVE_TTL), the first read on either replica sees both
        status, body = a.call("PUT", "/workbench/api/projects/lab/codes/GLU/decision",
                              {"status": "accepted", "targets": [{"code": "2345-7"}]})
        assert status == 200, body
        status, published = a.call("POST", "/workbench/api/projects/lab/publish",
                                   {"version": "7", "status": "active"})
        assert status == 200, published
        later = "http://example.org/CodeSystem/later"
        package = make_package(tmp_path / "later.tgz", [code_system(later, id="later")])
        loaded = subprocess.run([sys.executable, "-m", "termserver", "load", str(package),
                                 "--db", PG_URL], capture_output=True, text=True, timeout=300)
        assert loaded.returncode == 0, loaded.stderr
        time.sleep(RESOLVE_TTL)
        for r in replicas:
            status, found = r.call("GET", "/fhir/ConceptMap?" + urlencode(
                {"url": published["url"], "version": "7"}))
            assert (status, found["total"]) == (200, 1), found
            status, answer = r.call("GET", "/fhir/ConceptMap/$translate?" + urlencode(
                {"url": published["url"], "system": LAB, "code": "GLU"}))
            assert status == 200 and answer["parameter"][0]["valueBoolean"] is True, answer
            status, answer = r.call("GET", "/fhir/CodeSystem/$lookup?" + urlencode(
                {"system": later, "code": "a"}))
            assert status == 200, answer

        # a job started through one replica: progress visible through the other
        status, job = a.call("POST", "/workbench/api/projects/lab/jobs/suggest")
        assert status == 202 and job["state"] == "queued"
        path = f"/workbench/api/jobs/{job['id']}"
        seen = _until("progress through the other replica",
                      lambda: (s := b.call("GET", path)[1])["done"] >= 1 and s)
        assert seen["state"] == "running" and seen["total"] == len(ROWS)
        assert a.call("GET", path)[1]["id"] == job["id"]

        # kill -9 the process holding the job; the other reclaims and finishes it
        engine = create_engine(PG_URL)
        try:
            holder = JobQueue(engine).holder(job["id"]) or ""
        finally:
            engine.dispose()
        pids = {r.proc.pid: r for r in replicas}
        runner = pids[int(holder.split(":")[1])]
        survivor = b if runner is a else a
        at_kill = survivor.call("GET", path)[1]["done"]
        assert at_kill < len(ROWS), "the job ended before the kill: slow it down"
        os.kill(runner.proc.pid, signal.SIGKILL)
        runner.proc.wait(30)
        progress: list[int] = []

        def finished() -> Any:
            found = survivor.call("GET", path)[1]
            progress.append(found["done"])
            return found["state"] not in ("queued", "running") and found

        end = _until("the survivor finishing the job", finished)
        assert (end["state"], end["done"], end["total"], end["error"]) == \
            ("done", len(ROWS), len(ROWS), None), survivor.output()
        assert progress == sorted(progress) and min(progress) >= at_kill  # resumed, not redone
        engine = create_engine(PG_URL)
        try:
            last = JobQueue(engine).holder(job["id"]) or ""
            assert last.split(":")[1] == str(survivor.proc.pid)
        finally:
            engine.dispose()
        status, counts = survivor.call("GET", "/workbench/api/projects/lab/progress")
        assert (status, counts["by_status"].get("suggested"),
                counts["by_status"].get("accepted")) == (200, len(ROWS) - 1, 1), counts
        assert survivor.call("GET", "/readyz") == (200, {"status": "ready"})
    finally:
        for r in replicas:
            r.stop()
