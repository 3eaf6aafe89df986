"""Workbench cold start for bench/search_bench.py: the first suggestion after a server restart
against warm ones, on the real LOINC table, through the JSON API /workbench/api.

A small project (eight local lab codes with German names and units, imported as a CSV) maps
to http://loinc.org (no target ValueSet: all 104,054 terms). One suggestion primes whatever
is built on first use; then the server restarts, the curator's page is opened (the project and
its worklist), and the first suggestion is timed, followed by two warm passes over the codes.

Alone, over a database that already holds LOINC (e.g. one built by bench/load_loinc.py):

    python bench/search_workbench.py --db sqlite:///bench/data/loinc.db [--port N]
                                     [--server-root CHECKOUT] [--restarts 3]

runs the same measurement `--restarts` times (a restart each) and prints the cold first
suggestion, the warm p50 and their ratio (goal: at most 2); bench/search_bench.py takes the
medians of --wb-restarts runs (`repeated`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import httpx

PROJECT = "bench-search-wb"
SOURCE = "http://example.org/fhir/CodeSystem/bench-search-lab"
LOINC = "http://loinc.org"
CODES = (("NA", "Natrium", "mmol/l"), ("K", "Kalium", "mmol/l"),
         ("CREA", "Kreatinin", "mg/dl"), ("HB", "Hämoglobin", "g/dl"),
         ("GLU", "Glucose im Serum", "mg/dl"), ("TSH", "TSH basal", "mU/l"),
         ("CRP", "C-reaktives Protein", "mg/l"), ("LEUKO", "Leukozyten im Blut", "/nl"))


class Restartable(Protocol):
    port: int

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _client(port: int, timeout: float) -> httpx.Client:
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout,
                        headers={"X-Curator": "bench"})


def _setup(c: httpx.Client) -> None:
    rows = "code,display,unit\n" + "".join(f"{a},{b},{u}\n" for a, b, u in CODES)
    r = c.post("/workbench/api/codesystems/import",
               files={"file": ("bench-lab.csv", rows.encode(), "text/csv")},
               data={"url": SOURCE, "version": "1", "code_column": "code",
                     "display_column": "display", "unit_column": "unit"})
    if r.status_code != 200:
        raise RuntimeError(f"import: HTTP {r.status_code} {r.text[:200]}")
    if c.get(f"/workbench/api/projects/{PROJECT}").status_code == 404:
        r = c.post("/workbench/api/projects", json={
            "id": PROJECT, "title": "search bench: lab codes to LOINC", "source_system": SOURCE,
            "source_version": "1", "target_system": LOINC, "language": "de"})
        if r.status_code != 201:
            raise RuntimeError(f"create project: HTTP {r.status_code} {r.text[:200]}")


def _cpu(server: Restartable) -> float | None:
    """CPU seconds the server process used so far (Linux /proc, in clock ticks of 10 ms), None
    when unknown: the cost of a request apart from what other processes on the machine take."""
    pid = getattr(getattr(server, "proc", None), "pid", None)
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(server: Restartable, c: httpx.Client, code: str) -> tuple[float, str, float | None]:
    """(seconds, first suggested code, server CPU seconds) of one suggestion."""
    before = _cpu(server)
    took, top = _suggest(c, code)
    after = _cpu(server)
    return took, top, None if before is None or after is None else after - before


def _suggest(c: httpx.Client, code: str) -> tuple[float, str]:
    """(seconds, first suggested code or the error)."""
    started = time.perf_counter()
    try:
        r = c.get(f"/workbench/api/projects/{PROJECT}/codes/{code}", params={"limit": "5"})
    except httpx.TimeoutException:
        return time.perf_counter() - started, "timeout"
    took = time.perf_counter() - started
    if r.status_code != 200:
        return took, f"HTTP {r.status_code}"
    found = r.json().get("suggestions") or [{}]
    return took, str(found[0].get("code", "-"))


def measure(server: Restartable, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        with _client(server.port, args.wb_timeout) as c:
            _setup(c)
            out["prime_s"], out["prime_top"] = _suggest(c, CODES[0][0])
        started = time.perf_counter()
        server.stop()
        server.start()
        out["restart_s"] = time.perf_counter() - started
        with _client(server.port, args.wb_timeout) as c:
            c.get(f"/workbench/api/projects/{PROJECT}")
            c.get(f"/workbench/api/projects/{PROJECT}/worklist", params={"count": "50"})
            out["cold_s"], out["cold_top"], cold_cpu = _timed(server, c, CODES[0][0])
            warm: list[tuple[float, str, float | None]] = []
            for code, _, _ in (*CODES[1:], CODES[0]) * 2:
                warm.append(_timed(server, c, code))
                if warm[-1][1] == "timeout":  # bounded: one timeout ends the warm passes
                    break
        out["warm_s"] = [s for s, _, _ in warm]
        out["warm_p50_s"] = statistics.median(out["warm_s"])
        out["tops"] = {code: top for (code, _, _), (_, top, _) in zip(CODES[1:] + CODES[:1],
                                                                     warm, strict=False)}
        out["ratio"] = out["cold_s"] / out["warm_p50_s"]
        warm_cpu = [x for _, _, x in warm if x is not None]
        if cold_cpu is not None and warm_cpu and statistics.median(warm_cpu) > 0:
            out["cold_cpu_s"] = cold_cpu
            out["warm_cpu_p50_s"] = statistics.median(warm_cpu)
            out["cpu_ratio"] = cold_cpu / out["warm_cpu_p50_s"]
    except (RuntimeError, httpx.HTTPError) as e:
        out["error"] = str(e)
    return out


def repeated(server: Restartable, args: argparse.Namespace, restarts: int) -> dict[str, Any]:
    """`measure` `restarts` times (a restart each): the first run's keys, with the cold first
    suggestion and the warm p50 the medians over the runs (one cold request is one sample:
    a noisy machine moves it by tens of milliseconds) and each run's pair in `runs`."""
    runs = [measure(server, args) for _ in range(max(1, restarts))]
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    out = dict(ok[0])
    out["cold_s"] = statistics.median(r["cold_s"] for r in ok)
    out["warm_p50_s"] = statistics.median(r["warm_p50_s"] for r in ok)
    out["warm_s"] = [s for r in ok for s in r["warm_s"]]
    out["ratio"] = out["cold_s"] / out["warm_p50_s"]
    out["runs"] = [(r["cold_s"], r["warm_p50_s"]) for r in ok]
    return out


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    import search_bench

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--server-root", type=Path, default=here.parent)
    p.add_argument("--wb-timeout", type=float, default=300.0)
    p.add_argument("--restarts", type=int, default=3)
    args = p.parse_args(argv)
    args.server_root = args.server_root.resolve()
    server = search_bench.Server(args)
    server.start()
    runs = []
    try:
        for _ in range(args.restarts):
            out = measure(server, args)
            runs.append(out)
            print(json.dumps({k: v for k, v in out.items() if k != "warm_s"}), flush=True)
    finally:
        server.stop()
    ok = [r for r in runs if "error" not in r]
    if ok:
        cold = statistics.median(r["cold_s"] for r in ok)
        warm = statistics.median(r["warm_p50_s"] for r in ok)
        print(f"cold first suggestion {cold * 1000:.0f} ms (median of {len(ok)} restarts), "
              f"warm p50 {warm * 1000:.0f} ms, ratio {cold / warm:.2f} (goal <= 2)")
        cpu = [r for r in ok if "cpu_ratio" in r]
        if cpu:
            print(f"server CPU: cold {statistics.median(r['cold_cpu_s'] for r in cpu) * 1000:.0f}"
                  f" ms, warm p50 {statistics.median(r['warm_cpu_p50_s'] for r in cpu) * 1000:.0f}"
                  f" ms, ratio {statistics.median(r['cpu_ratio'] for r in cpu):.2f}")
    return 0 if len(ok) == len(runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
