"""`termserver translate` (termserver.cli_bulk) on a generated CSV: rows/s and peak RSS of
the CLI process (ru_maxrss of the child, from wait4) at 100,000 and 1,000,000 rows, in-process
(--db) and through a server (--server, a uvicorn child on 127.0.0.1:PORT, its peak RSS too).

The data: a local lab code system of 10,000 codes and a ConceptMap of 10,000 elements
(8,000 mapped, 2,000 noMap) to generated LOINC-shaped codes; the CSV rows draw their code from
those 10,000 plus 500 unknown ones (Zipf-like, as in a lab's results), 1 row in 50 without a
code. Runs: each size in-process and via --server with the client cache (the default), and
100,000 rows with --cache-size 0 (every distinct code of a batch sent).

    python bench/cli_bench.py [--rows 100000,1000000] [--port 18890] [--out bench/cli_results.md]

Each child is bounded by --timeout seconds. Writes the results table to --out.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAB = "http://bench.example/fhir/CodeSystem/labor"
CM = "http://bench.example/fhir/ConceptMap/labor-loinc"
LOINC = "http://loinc.org"
N_CODES = 10_000
N_MAPPED = 8_000
READING = ("Reading: most rows repeat a code, so the client cache answers them without a "
           "request and the CLI is bound by its own CSV work; `--cache-size 0` still sends "
           "each distinct code once per 10,000-row batch and shows the rate the bulk endpoint "
           "sets. Peak RSS of the CLI and of the server stays flat from 100,000 to 1,000,000 "
           "rows (streamed in batches; nothing grows with the file).")


def loinc_code(i: int) -> str:
    """A LOINC-shaped code (number and mod-10 check digit) for a generated target."""
    digits = str(10_000 + i)
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if n % 2 == 0 else 1)
        total += d // 10 + d % 10
    return f"{digits}-{(10 - total % 10) % 10}"


def resources() -> list[dict[str, Any]]:
    codes = [f"L{i:05d}" for i in range(N_CODES)]
    cs = {"resourceType": "CodeSystem", "id": "labor", "url": LAB, "version": "1",
          "status": "active", "content": "complete",
          "concept": [{"code": c, "display": f"Laborwert {c}"} for c in codes]}
    elements: list[dict[str, Any]] = []
    for i, c in enumerate(codes):
        if i < N_MAPPED:
            elements.append({"code": c, "target": [{"code": loinc_code(i), "display":
                                                    f"Analyte {i} [Moles/volume]",
                                                    "relationship": "equivalent"}]})
        else:
            elements.append({"code": c, "noMap": True})
    cm = {"resourceType": "ConceptMap", "id": "labor-loinc", "url": CM, "version": "1",
          "status": "active", "group": [{"source": LAB, "target": LOINC,
                                         "element": elements}]}
    return [cs, cm]


def make_db(path: Path) -> str:
    """A SQLite database holding the code system and the map (loaded through the app)."""
    sys.path.insert(0, str(ROOT))
    from fastapi.testclient import TestClient

    from termserver.api.app import create_app
    from termserver.settings import Settings
    from termserver.store import Store

    url = f"sqlite:///{path}"
    store = Store(url)
    with TestClient(create_app(Settings(db=url, log_level="WARNING"), store)) as c:
        for r in resources():
            response = c.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r)
            assert response.status_code in (200, 201), response.text[:300]
    store.close()
    return url


def make_csv(path: Path, rows: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    pool = [f"L{i:05d}" for i in range(N_CODES)] + [f"U{i:04d}" for i in range(500)]
    weights = [1 / (k + 1) for k in range(len(pool))]  # a few codes are most of the rows
    rng.shuffle(pool)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["fall", "datum", "code", "wert", "einheit"])
        step = 10_000
        for start in range(0, rows, step):
            codes = rng.choices(pool, weights, k=min(step, rows - start))
            for j, code in enumerate(codes):
                n = start + j
                w.writerow([f"F{n // 20:07d}", "2026-12-01", "" if n % 50 == 49 else code,
                            f"{rng.uniform(0, 200):.1f}", "mmol/L"])


def run_child(argv: list[str], timeout: float) -> tuple[float, int, int, str]:
    """(wall seconds, exit code, peak RSS in MiB, stderr tail) of a child process."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace").strip()
    found = text.rfind("termserver translate: ")
    tail = text[found + len("termserver translate: "):] if found >= 0 else text[-300:]
    return time.monotonic() - started, proc.returncode, usage.ru_maxrss // 1024, \
        " / ".join(x.strip() for x in tail.splitlines())


def serve(db: str, port: int) -> None:
    """Child: the app with the bulk routes on 127.0.0.1:port (until it is terminated)."""
    sys.path.insert(0, str(ROOT))
    import uvicorn

    from termserver.api.app import create_app
    from termserver.api.routes import bulk
    from termserver.settings import Settings

    app = create_app(Settings(db=db, log_level="WARNING"))
    if not any(getattr(r, "path", "") == "/fhir/$translate-bulk" for r in app.routes):
        app.include_router(bulk.router, prefix="/fhir")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def start_server(db: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", db, "--port", str(port)],
                            cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/fhir/metadata",
                                        timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--port", type=int, default=18890)
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "cli_results.md")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--make-db", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    if args.make_db:
        make_db(Path(args.make_db))
        return
    sizes = [int(x) for x in args.rows.split(",")]
    results: list[tuple[str, int, float, int, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="cli_bench_") as tmp:
        work = Path(tmp)
        print("building the database …", file=sys.stderr)
        # in a child: a forked child inherits its parent's peak RSS on Linux (ru_maxrss
        # survives exec), so the parent stays small (no app, no httpx imported here)
        subprocess.run([sys.executable, __file__, "--make-db", str(work / "bench.db")],
                       cwd=ROOT, check=True, timeout=args.timeout)
        db = f"sqlite:///{work / 'bench.db'}"
        cli = [sys.executable, "-m", "termserver.cli_bulk", "translate", "--system", LAB,
               "--conceptmap", CM, "--no-progress"]
        server = start_server(db, args.port)
        base = f"http://127.0.0.1:{args.port}/fhir"
        try:
            for rows in sizes:
                src = work / f"in_{rows}.csv"
                print(f"generating {rows:,} rows …", file=sys.stderr)
                make_csv(src, rows)
                modes = [("in-process --db", ["--db", db]), ("--server", ["--server", base])]
                if rows == min(sizes):
                    modes.append(("--server, --cache-size 0",
                                  ["--server", base, "--cache-size", "0"]))
                for label, flags in modes:
                    out = work / "out.csv"
                    seconds, code, rss, tail = run_child(
                        [*cli, *flags, "-i", str(src), "-o", str(out), "--column", "code"],
                        args.timeout)
                    with out.open(encoding="utf-8") as f:
                        written = sum(1 for _ in f) - 1
                    assert code == 0 and written == rows, (code, written, tail)
                    summary = tail
                    results.append((label, rows, seconds, rss, code, summary))
                    print(f"{label:28} {rows:>9,} rows {seconds:7.1f} s "
                          f"{rows / seconds:>9,.0f} rows/s  peak RSS {rss} MiB  | {summary}",
                          file=sys.stderr)
                src.unlink()
        finally:
            server.terminate()
            _, _, usage = os.wait4(server.pid, 0)
            server_rss = usage.ru_maxrss // 1024
    write(args.out, results, server_rss)


def write(path: Path, results: list[tuple[str, int, float, int, int, str]],
          server_rss: int) -> None:
    import resource

    parent_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    lines = ["# `termserver translate` (CLI) bench", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on this shared 2-core "
             "machine by `python bench/cli_bench.py` (one run; other work was running).", "",
             "CSV of 5 columns; codes drawn Zipf-like from 10,000 local codes (8,000 mapped, "
             "2,000 noMap) plus 500 unknown ones, 1 row in 50 without a code. Wall time of the "
             "whole CLI process (start-up included; the summary's own rate counts from the "
             "first row); peak RSS = ru_maxrss of the CLI process (the bench parent, whose "
             f"peak the child inherits on Linux, stays at {parent_rss} MiB).",
             "", "| mode | rows | seconds | rows/s | CLI peak RSS (MiB) | summary |",
             "|---|---:|---:|---:|---:|---|"]
    for label, rows, seconds, rss, _, summary in results:
        lines.append(f"| {label} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {rss} | "
                     f"{summary} |")
    lines += ["", f"Server (one uvicorn process, all --server runs): peak RSS {server_rss} MiB.",
              "", READING, ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
