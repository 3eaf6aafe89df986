"""Bulk `$translate`, `$validate-code` and `$lookup` end to end over HTTP through
termserver.client, on one server process, next to one request per coding and a plain dict.

In one run, on a fresh SQLite database in a temporary folder with the real LOINC 2.78 Table
Core loaded (`termserver load --format loinc`, 104,054 terms, any status):

- translate: a 10,000-element ConceptMap (local lab codes → LOINC, as bench/translate_bench.py);
- validate: a ValueSet that lists the first 100,000 LOINC codes (`compose.include.concept`),
  codes drawn from its active ones, the unknown ones from the 4,054 LOINC codes outside it;
- lookup: LOINC itself (every term once: 104,054).

Per operation: `Client.iter_*` (sync client, its defaults: batches of 10,000 lines, two in
flight; the client cache off, so every batch goes to the server) over 100,000 and then
1,000,000 codings drawn from 10,000 distinct codes (1 % unknown or not in the value set), each
in a child process (its peak RSS) while the server's VmHWM is reset; the result counts are
checked. Before those, every code once (no repeats: the miss path, where nothing comes from
the server's memo). Then one GET per coding (a 2,000-code sample; 1 and N keep-alive
connections) and a plain Python dict (orjson parse of the line + dict/set lookup) over the
same 1,000,000 lines.

    python bench/bulk_bench.py [--codings 1000000] [--small 100000] [--kinds translate,...]

Needs /work/shared/data/loinc/LoincTableCore_2.78.csv.gz. Writes bench/bulk_results.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402
import translate_bench as tb  # noqa: E402
from run import cpu_seconds, free_port, measure_and_report, start  # noqa: E402

HOST = tb.HOST
VS_URL = "http://hospital.example.org/fhir/ValueSet/loinc-100k"
VS_SIZE = 100_000
DISTINCT = 10_000
MAP_N = 10_000
KINDS = ("translate", "validate", "lookup")


def loinc_table() -> list[tuple[str, str]]:
    """(LOINC_NUM, STATUS) of every term of the LOINC Table Core, in file order."""
    if not tb.LOINC_CORE.exists():
        raise SystemExit(f"{tb.LOINC_CORE} is missing (set TERMSERVER_LOINC_CORE)")
    with gzip.open(tb.LOINC_CORE, "rt", encoding="utf-8") as f:
        return [(row["LOINC_NUM"], row["STATUS"]) for row in csv.DictReader(f)]


def vocab() -> dict[str, Any]:
    """The codes of each workload, the same in every process (seeded)."""
    table = loinc_table()
    loinc = [c for c, _ in table]
    outside = loinc[VS_SIZE:]
    active_in_vs = [c for c, status in table[:VS_SIZE] if status == "ACTIVE"]
    _, local = tb.concept_map(MAP_N, tb.loinc_codes(MAP_N))
    rnd = random.Random(tb.SEED + 7)
    return {
        "translate": {"codes": local, "distinct": local,
                      "unknown": lambda i: f"XX-{i}"},
        "validate": {"codes": rnd.sample(active_in_vs, DISTINCT), "distinct": active_in_vs,
                     "unknown": lambda i: outside[i % len(outside)]},
        "lookup": {"codes": rnd.sample(loinc, DISTINCT), "distinct": loinc,
                   "unknown": lambda i: f"99999{i}-0"},
    }


def items(kind: str, n: int, words: dict[str, Any]) -> Iterator[str]:
    """`n` codes (every 100th unknown to the map / outside the value set / not in LOINC)."""
    w = words[kind]
    if n == 0:  # every distinct code once, shuffled
        order = list(w["distinct"])
        random.Random(tb.SEED + 2).shuffle(order)
        yield from order
        return
    rnd = random.Random(tb.SEED + 1)
    codes, k = w["codes"], len(w["codes"])
    for i in range(n):
        yield w["unknown"](i) if i % 100 == 0 else codes[rnd.randrange(k)]


def client_kwargs(kind: str) -> dict[str, Any]:
    if kind == "translate":
        return {"system": tb.LOCAL.format(n=MAP_N), "conceptmap": tb.MAP_URL.format(n=MAP_N)}
    if kind == "validate":
        return {"system": tb.LOINC, "valueset": VS_URL}
    return {"system": tb.LOINC}


def client_run(kind: str, n: int, port: int) -> None:
    """Child process: `n` codings (0: every distinct code once) through the client; prints
    a JSON line (seconds, codings, positive answers, errors, client peak RSS)."""
    from termserver.client import Client

    words = vocab()
    base = f"http://{HOST}:{port}/fhir"
    tb.reset_peak_rss(os.getpid())
    seen = positive = errors = 0
    began = time.perf_counter()
    with Client(base, cache_size=0, timeout=600) as client:
        method: Any = {"translate": client.iter_translate, "validate": client.iter_validate,
                  "lookup": client.iter_lookup}[kind]
        for r in method(items(kind, n, words), **client_kwargs(kind)):
            seen += 1
            if r is None or r.error is not None:
                errors += 1
            elif getattr(r, "result", None) or getattr(r, "found", False):
                positive += 1
    seconds = time.perf_counter() - began
    print(json.dumps({"seconds": seconds, "codings": seen, "positive": positive,
                      "errors": errors, "client_peak_mb": tb.peak_rss_mb(os.getpid())[0]}))


def single_paths(kind: str, codes: list[str]) -> list[str]:
    enc = [quote(c, safe="") for c in codes]
    if kind == "translate":
        url, system = quote(tb.MAP_URL.format(n=MAP_N), safe=""), quote(
            tb.LOCAL.format(n=MAP_N), safe="")
        return [f"/fhir/ConceptMap/$translate?url={url}&system={system}&code={c}" for c in enc]
    loinc = quote(tb.LOINC, safe="")
    if kind == "validate":
        vs = quote(VS_URL, safe="")
        return [f"/fhir/ValueSet/$validate-code?url={vs}&system={loinc}&code={c}" for c in enc]
    return [f"/fhir/CodeSystem/$lookup?system={loinc}&code={c}" for c in enc]


def dict_rate(kind: str, n: int, words: dict[str, Any]) -> float:
    """Codings/s of a plain dict (or set) over the same lines, parsed as the server would."""
    table: Any = set(words[kind]["distinct"]) if kind == "validate" else \
        dict.fromkeys(words[kind]["distinct"], "x")
    lines = (b'{"id":%d,"code":"%s"}' % (i, c.encode()) for i, c in enumerate(items(kind, n,
                                                                                       words)))
    hits = 0
    began = time.perf_counter()
    for line in lines:
        hits += orjson.loads(line)["code"] in table
    return n / (time.perf_counter() - began)


def load_loinc(db: str, out: dict[str, Any]) -> None:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "termserver", "load", "--db", db, "--format", "loinc",
                    str(tb.LOINC_CORE)], check=True, cwd=ROOT, capture_output=True)
    out["loinc_load_seconds"] = time.perf_counter() - t


def setup(base: str, out: dict[str, Any]) -> None:
    cm, _ = tb.concept_map(MAP_N, tb.loinc_codes(MAP_N))
    codes = [c for c, _ in loinc_table()[:VS_SIZE]]
    vs = {"resourceType": "ValueSet", "id": "loinc-100k", "url": VS_URL, "version": "1",
          "status": "active", "compose": {"include": [
              {"system": tb.LOINC, "concept": [{"code": c} for c in codes]}]}}
    with httpx.Client(timeout=600) as client:
        t = time.perf_counter()
        for path, body in ((f"ConceptMap/lab-{MAP_N}", cm), ("ValueSet/loinc-100k", vs)):
            r = client.put(f"{base}/{path}", json=body)
            assert r.status_code in (200, 201), r.text[:300]
        out["resources_seconds"] = time.perf_counter() - t


def child(kind: str, n: int, port: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--client", kind,
                           str(n), str(port)], check=True, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    got: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return got


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    db = args.db or f"sqlite:///{work / 'bulk.db'}"
    port = args.port or free_port()
    env = {**os.environ, "TERMSERVER_DB": db, "TERMSERVER_LOG_LEVEL": "WARNING",
           "TERMSERVER_MAX_BODY_MB": "512", "PYTHONPATH": str(ROOT)}
    env.pop("TERMSERVER_API_TOKENS", None)
    env.pop("TERMSERVER_READ_TOKENS", None)
    out: dict[str, Any] = {"load": [os.getloadavg()[0]], "kinds": {}}
    if args.db:
        out["loinc_load_seconds"] = float("nan")  # loaded before
    else:
        load_loinc(db, out)
    proc = start([sys.executable, str(HERE / "translate_bench.py"), "--serve", str(port), db],
                  port, "/fhir/metadata", env)
    try:
        setup(f"http://{HOST}:{port}/fhir", out)
        words = vocab()
        for kind in args.kinds:
            res: dict[str, Any] = {"runs": []}
            out["kinds"][kind] = res
            before = cpu_seconds(proc.pid)
            res["distinct"] = child(kind, 0, port)
            after = cpu_seconds(proc.pid)
            if before is not None and after is not None:
                res["distinct"]["server_cpu_us"] = (after - before) / res["distinct"][
                    "codings"] * 1e6
            for n in (args.small, args.codings):
                tb.reset_peak_rss(proc.pid)
                before = cpu_seconds(proc.pid)
                run = child(kind, n, port)
                after = cpu_seconds(proc.pid)
                run["server_peak_mb"], run["server_rss_mb"] = tb.peak_rss_mb(proc.pid)
                if before is not None and after is not None:
                    run["server_cpu_us"] = (after - before) / n * 1e6
                expect = n - (n + 99) // 100  # lookup: an unknown code is an error line
                errors = n - expect if kind == "lookup" else 0
                if run["codings"] != n or run["positive"] != expect or run["errors"] != errors:
                    raise SystemExit(f"{kind} {n}: {run} (expected {expect} positive)")
                res["runs"].append(run)
                print(f"{kind} {n:,}: {n / run['seconds']:,.0f} codings/s, server peak "
                      f"{run['server_peak_mb']:.0f} MB, client peak "
                      f"{run['client_peak_mb']:.0f} MB", flush=True)
            paths = single_paths(kind, random.Random(tb.SEED).sample(words[kind]["codes"],
                                                                     2000))
            status, body = loadgen.probe(HOST, port, paths[0])
            if status != 200:
                raise SystemExit(f"{kind} single: HTTP {status} {body[:300]!r}")
            for conns in (1, args.connections):
                r = loadgen.run(HOST, port, paths, connections=conns, seconds=args.seconds,
                                warmup=0.5)
                res[f"single_{conns}"] = r.rate
            res["dict"] = dict_rate(kind, args.codings, words)
        out["load"].append(os.getloadavg()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return out


def report(out: dict[str, Any], args: argparse.Namespace, started: str) -> str:
    lines = [
        "# Bulk benchmark (bench/bulk_bench.py)", "",
        f"Run {started} UTC on this machine ({os.cpu_count()} cores, shared with other jobs); "
        f"one uvicorn server process (1 worker, SQLite), the client in a child process "
        f"(termserver.client.Client, sync, defaults: batches of 10,000, 2 in flight; cache "
        f"off). Load average (1 min) at the start and the end: "
        f"{' / '.join(f'{x:.1f}' for x in out['load'])}. LOINC 2.78 Table Core loaded in "
        f"{out['loinc_load_seconds']:.0f} s; the map and the 100,000-code value set PUT in "
        f"{out['resources_seconds']:.0f} s.", "",
        "| operation | codings | seconds | codings/s | server CPU µs/coding | server peak RSS "
        "(MB) | client peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for kind, res in out["kinds"].items():
        d = res["distinct"]
        lines.append(f"| {kind}, every code once | {d['codings']:,} | {d['seconds']:.1f} | "
                     f"{d['codings'] / d['seconds']:,.0f} | {d.get('server_cpu_us', 0):.1f} "
                     f"| | {d['client_peak_mb']:.0f} |")
        for r in res["runs"]:
            lines.append(f"| {kind} | {r['codings']:,} | {r['seconds']:.1f} | "
                         f"{r['codings'] / r['seconds']:,.0f} | {r.get('server_cpu_us', 0):.1f}"
                         f" | {r['server_peak_mb']:.0f} | {r['client_peak_mb']:.0f} |")
    lines += ["", "| operation | bulk codings/s (1M) | one GET per coding, 1 / "
              f"{args.connections} connections | bulk ÷ single ({args.connections} conn.) | "
              "plain dict codings/s | bulk ÷ dict |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for kind, res in out["kinds"].items():
        big = res["runs"][-1]
        rate = big["codings"] / big["seconds"]
        lines.append(f"| {kind} | {rate:,.0f} | {res['single_1']:,.0f} / "
                     f"{res[f'single_{args.connections}']:,.0f} | "
                     f"{rate / res[f'single_{args.connections}']:.0f} × | {res['dict']:,.0f} | "
                     f"{rate / res['dict']:.0%} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client"]:
        client_run(argv[1], int(argv[2]), int(argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codings", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--kinds", type=lambda s: s.split(","), default=list(KINDS))
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--db", help="a database that already holds LOINC (default: a fresh one)")
    ap.add_argument("--out", type=Path, default=HERE / "bulk_results.md")
    args = ap.parse_args(argv)
    return measure_and_report(args, "bulk-bench-", measure, report)


if __name__ == "__main__":
    raise SystemExit(main())
