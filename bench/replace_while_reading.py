"""Fault bench (issue 12): false answers while another process replaces a code system, and
`kill -9` of a `termserver load` in the middle of a large load.

Per database (`--db`, repeatable; SQLite file by default):

1. two servers (`termserver serve`, one worker each) on the same database: A takes
   `--replaces` PUTs of a generated code system (`--codes` concepts; new content of the same
   version, every third time a new version under the same id) while threads ask B for
   `$lookup` and `$validate-code` of codes present in every version, back to back;
2. the same while `termserver load` replaces it from a package (`--loads` times);
3. a large load (LOINC core from ../shared/data when present, else a generated code system of
   `--big` concepts) is run once to completion and timed, then run again and killed with
   SIGKILL halfway; B is read throughout. Then: every table's row count equals the count before,
   every sampled code is still answered, SQLite's integrity_check is ok, a new write succeeds.

A false answer is anything but 200 for `$lookup` and anything but `result: true` for
`$validate-code` (goal: 0). Ports: `--port` and the next one.

    python bench/replace_while_reading.py [--db URL]... [--codes 30000] [--replaces 10]
        [--loads 3] [--big 100000] [--port 18450] [--reset] [--no-kill]

`--reset` empties the database first (SQLite: deletes the file; PostgreSQL: drops and recreates
the `public` schema). Use a database of its own.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from loadtime import reset_database  # bench/ is on sys.path when run as a script

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.servers import Served  # noqa: E402  (one subprocess server helper for tests and bench)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
LOINC = ROOT.parent / "shared" / "data" / "loinc" / "LoincTableCore_2.78.csv.gz"
URL = "http://example.org/bench/replaced"
BIG_URL = "http://example.org/bench/big"
HOST = "127.0.0.1"


# -- content ------------------------------------------------------------------------------------


def code_system(url: str, n: int, codes: int, version: str = "1", id: str = "replaced"
                ) -> dict[str, Any]:
    """Content number `n`: codes K000000… (in every content) in a two-level hierarchy, with
    a German designation and a property, plus 100 codes only this content has."""
    groups = []
    per = 100
    for g in range(0, codes, per):
        leaves = [{"code": f"K{i:06d}", "display": f"Concept {i} (content {n})",
                   "designation": [{"language": "de", "value": f"Begriff {i}"}],
                   "property": [{"code": "rank", "valueInteger": i % 97}]}
                  for i in range(g + 1, min(g + per, codes))]
        groups.append({"code": f"K{g:06d}", "display": f"Group {g}", "concept": leaves})
    groups.append({"code": f"only-{n}", "display": "only here",
                   "concept": [{"code": f"only-{n}-{i}", "display": "x"} for i in range(99)]})
    return {"resourceType": "CodeSystem", "id": id, "url": url, "version": version,
            "name": "Replaced", "status": "active", "content": "complete",
            "hierarchyMeaning": "is-a", "property": [{"code": "rank", "type": "integer"}],
            "concept": groups}


def package(path: Path, resource: dict[str, Any]) -> Path:
    members = {"package/package.json": {"name": "bench.replace", "version": "1.0.0",
                                        "fhirVersions": ["4.0.1"]},
               f"package/CodeSystem-{resource['id']}.json": resource}
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            raw = json.dumps(content).encode()
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


# -- processes ----------------------------------------------------------------------------------


def env() -> dict[str, str]:
    out = {**os.environ, "TERMSERVER_LOG_LEVEL": "WARNING"}
    out.pop("TERMSERVER_API_TOKENS", None)
    out.pop("TERMSERVER_READ_TOKENS", None)
    return out


def cli(db: str, *args: str, timeout: float = 1800) -> float:
    """Run `termserver load …`; seconds taken."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "termserver", "load", "--db", db, *args],
                   check=True, env=env(), cwd=ROOT, timeout=timeout,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def server(db: str, port: int) -> Served:
    """`termserver serve` on `port`, once it listens (warnings only on its stderr)."""
    served = Served(db, port=port, env={"TERMSERVER_LOG_LEVEL": "WARNING"}, timeout=60)
    served.wait()
    return served



class Readers:
    """`threads` threads asking `server` for $lookup / $validate-code of `codes`, back to back,
    until `stop()` (at most `limit` seconds)."""

    def __init__(self, server: Served, url: str, codes: list[str], threads: int = 2,
                 limit: float = 900) -> None:
        self.server, self.url, self.codes, self.limit = server, url, codes, limit
        self.done = 0
        self.false: list[Any] = []
        self.latencies: list[float] = []
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True)
                        for k in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection(HOST, self.server.port, timeout=120)
        deadline = time.monotonic() + self.limit
        n = 0
        while not self.halt.is_set() and time.monotonic() < deadline:
            code = rng.choice(self.codes)
            n += 1
            op = "$lookup" if n % 2 else "$validate-code"
            query = {"system": self.url, "code": code} if op == "$lookup" else \
                {"url": self.url, "code": code}
            t0 = time.monotonic()
            try:
                status, body = self.server.call(
                    "GET", f"/fhir/CodeSystem/{op}?{urlencode(query)}", conn=conn)
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.false.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.server.port, timeout=120)
                continue
            elapsed = time.monotonic() - t0
            ok = status == 200 and (op == "$lookup" or _result(body))
            with self.lock:
                self.done += 1
                self.latencies.append(elapsed)
                if not ok:
                    self.false.append((op, code, status, _message(body)))
        conn.close()

    def stop(self) -> None:
        self.halt.set()
        for t in self.threads:
            t.join(60)

    def summary(self) -> str:
        lat = sorted(self.latencies)
        p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else 0.0
        mx = lat[-1] * 1000 if lat else 0.0
        return (f"{self.done:,} answers, {len(self.false)} false; latency p99 {p99:.0f} ms, "
                f"max {mx:.0f} ms")


def _result(body: Any) -> bool:
    for p in (body or {}).get("parameter", []):
        if p.get("name") == "result":
            return bool(p.get("valueBoolean"))
    return False


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for p in body.get("parameter", []):
            if p.get("name") == "message":
                return str(p.get("valueString"))[:120]
        for issue in body.get("issue", []):
            return str(issue.get("diagnostics") or issue.get("details"))[:120]
    return str(body)[:120]


# -- phases -------------------------------------------------------------------------------------


def replace_phase(db: str, a: Served, b: Served, args: argparse.Namespace
                  ) -> tuple[list[str], int]:
    """(report lines, false answers)."""
    keep = [f"K{i:06d}" for i in range(1, args.codes, 7)]
    out = []
    readers = Readers(b, URL, keep)
    times = []
    try:
        time.sleep(1.0)
        for n in range(1, args.replaces + 1):
            version = str(n) if n % 3 == 0 else "1"
            t0 = time.monotonic()
            status, body = a.call("PUT", "/fhir/CodeSystem/replaced",
                                  code_system(URL, n, args.codes, version))
            times.append(time.monotonic() - t0)
            if status not in (200, 201):
                raise SystemExit(f"PUT answered {status}: {_message(body)}")
            time.sleep(0.5)
    finally:
        readers.stop()
    out.append(f"{args.replaces} PUTs through A (median {statistics.median(times):.1f} s "
               f"each), reads on B: {readers.summary()}")
    out += [f"  false: {f}" for f in readers.false[:5]]
    false = len(readers.false)
    pkgs = [package(DATA / f"replace-{n}.tgz", code_system(URL, 100 + n, args.codes, "1"))
            for n in (1, 2)]
    readers = Readers(b, URL, keep)
    times = []
    try:
        time.sleep(1.0)
        for n in range(args.loads):
            times.append(cli(db, str(pkgs[n % 2])))
            time.sleep(0.5)
    finally:
        readers.stop()
    out.append(f"{args.loads} `termserver load` replacing it (median "
               f"{statistics.median(times):.1f} s each), reads on B: {readers.summary()}")
    out += [f"  false: {f}" for f in readers.false[:5]]
    return out, false + len(readers.false)


def kill_phase(db: str, a: Served, b: Served, args: argparse.Namespace
               ) -> tuple[list[str], int]:
    """(report lines, problems: false answers, changed counts, lost codes, failed checks)."""
    from termserver.store import Store

    if LOINC.exists() and not args.generated:
        url, what = "http://loinc.org", f"LOINC core ({LOINC.name})"
        load_args = ["--format", "loinc", str(LOINC)]
        again_args = load_args
    else:
        url, what = BIG_URL, f"a generated code system of {args.big:,} concepts"
        load_args = [str(package(DATA / "big-1.tgz", code_system(
            BIG_URL, 1, args.big, "1", id="big")))]
        again_args = [str(package(DATA / "big-2.tgz", code_system(
            BIG_URL, 2, args.big, "1", id="big")))]
    full = cli(db, *load_args)
    store = Store(db)
    try:
        cs = store.resolve_code_system(url)
        assert cs is not None
        codes = sorted(store.concept_codes(cs.pk, include_inactive=True))
        before = store.count_rows()
    finally:
        store.close()
    sample = random.Random(1).sample(codes, min(2000, len(codes)))
    readers = Readers(b, url, sample)
    try:
        time.sleep(1.0)
        proc = subprocess.Popen([sys.executable, "-m", "termserver", "load", "--db", db,
                                 *again_args], env=env(), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full / 2)
        killed = proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        time.sleep(2.0)  # PostgreSQL notices the closed connection and rolls back
    finally:
        readers.stop()
    store = Store(db)
    try:
        after = store.count_rows()
        cs_after = store.resolve_code_system(url)
        served = 0 if cs_after is None else len(store.existing_codes(cs_after.pk, codes))
    finally:
        store.close()
    missing = [c for c in sample if b.call("GET", "/fhir/CodeSystem/$lookup?" + urlencode(
        {"system": url, "code": c}))[0] != 200]
    integrity = "n/a"
    if db.startswith("sqlite:///"):
        conn = sqlite3.connect(db[len("sqlite:///"):])
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        conn.close()
    t0 = time.monotonic()
    status, _ = a.call("PUT", "/fhir/CodeSystem/after-kill", {
        "resourceType": "CodeSystem", "id": "after-kill", "url": "http://example.org/after",
        "status": "active", "content": "complete", "concept": [{"code": "x"}]})
    changed = {t: (before[t], after[t]) for t in before if before[t] != after.get(t)}
    problems = len(readers.false) + len(changed) + len(missing) + (served != len(codes)) + \
        (integrity not in ("ok", "n/a")) + (status != 201)
    return [
        f"kill -9 of `termserver load` of {what} after {full / 2:.0f} s (a full load takes "
        f"{full:.0f} s; {'killed mid-load' if killed else 'it had already finished!'})",
        f"  row counts equal to before: {not changed}{'' if not changed else f' {changed}'}",
        f"  codes of the previous version still stored: {served:,} of {len(codes):,}; "
        f"sample of {len(sample):,} answered by $lookup afterwards: "
        f"{len(sample) - len(missing):,}",
        f"  SQLite integrity_check: {integrity}; a write right after: HTTP {status} in "
        f"{time.monotonic() - t0:.1f} s",
        f"  reads on B during the load and the kill: {readers.summary()}",
        *[f"  false: {f}" for f in readers.false[:5]],
    ], problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append",
                        help=f"database URL (repeatable; default sqlite:///{DATA}/replace.db)")
    parser.add_argument("--codes", type=int, default=30_000)
    parser.add_argument("--replaces", type=int, default=10)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--generated", action="store_true",
                        help="kill phase on a generated code system even if LOINC is there")
    parser.add_argument("--port", type=int, default=18450)
    parser.add_argument("--reset", action="store_true", help="empty each database first")
    parser.add_argument("--no-kill", action="store_true", help="skip the kill -9 phase")
    args = parser.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    dbs = args.db or [f"sqlite:///{DATA / 'replace.db'}"]
    sys.path.insert(0, str(ROOT))
    problems = 0
    for db in dbs:
        if args.reset or not args.db:
            reset_database(db)
        seed = package(DATA / "replace-0.tgz", code_system(URL, 0, args.codes))
        cli(db, str(seed))
        print(f"## {db.split('@')[-1]}", flush=True)
        servers = []
        try:
            servers.append(server(db, args.port))
            servers.append(server(db, args.port + 1))
            a, b = servers
            lines, bad = replace_phase(db, a, b, args)
            for line in lines:
                print(line, flush=True)
            if not args.no_kill:
                lines, more = kill_phase(db, a, b, args)
                bad += more
                for line in lines:
                    print(line, flush=True)
        finally:
            for s in servers:
                s.stop()
        problems += bad
    print(f"problems (false answers, lost rows, failed checks): {problems}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
