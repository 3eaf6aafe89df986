"""Single `$translate` next to `$lookup`, and the bulk `$translate-bulk` stream, on one server.

In one run on one uvicorn server (1 worker, real HTTP, keep-alive), on a fresh SQLite
database in a temporary folder:

1. requests/s of `CodeSystem/$lookup` (a LOINC subset CodeSystem) and of single GET
   `ConceptMap/$translate` by `url` and by `system` + `targetsystem`, on a 100-element and a
   100,000-element generated ConceptMap (local lab codes → real LOINC codes from
   LoincTableCore), interleaved rounds;
2. `$translate-bulk`: 100,000 and then 1,000,000 codings through a 10,000-element map in one
   streamed request each (a full-duplex client: it writes the body and reads the answer at
   once), checking order and ids; codings/s next to one GET per coding (a sample) and a plain
   Python dict lookup; the server's peak RSS after each stream.

    python bench/translate_bench.py [--seconds 4] [--rounds 2] [--connections 4]

Needs /work/shared/data/loinc/LoincTableCore_2.78.csv.gz (TERMSERVER_LOINC_CORE to point
elsewhere); exits with a clear message without it. Each phase is bounded in time. Writes
bench/translate_results.md.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402
from run import cpu_seconds, free_port, measure_and_report, start  # noqa: E402

HOST = "127.0.0.1"
LOINC = "http://loinc.org"
LOINC_CORE = Path(os.environ.get("TERMSERVER_LOINC_CORE",
                                 "/work/shared/data/loinc/LoincTableCore_2.78.csv.gz"))
LOCAL = "http://hospital.example.org/fhir/CodeSystem/lab-{n}"
MAP_URL = "http://hospital.example.org/fhir/ConceptMap/lab-{n}-to-loinc"
SECTIONS = ("HAEM", "CHEM", "URIN", "COAG", "IMMU", "ENDO", "SERO", "DRUG", "BGAS", "LIQU")
SEED = 20261206


def loinc_codes(limit: int) -> list[tuple[str, str]]:
    """(LOINC_NUM, LONG_COMMON_NAME) of the first `limit` active LOINC terms."""
    if not LOINC_CORE.exists():
        raise SystemExit(f"{LOINC_CORE} is missing: the bench needs real LOINC codes "
                         "(set TERMSERVER_LOINC_CORE)")
    out = []
    with gzip.open(LOINC_CORE, "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["STATUS"] == "ACTIVE":
                out.append((row["LOINC_NUM"], row["LONG_COMMON_NAME"]))
                if len(out) == limit:
                    break
    return out


def local_codes(n: int) -> list[str]:
    """Local lab codes as hospital LIS systems write them: section, number, specimen."""
    rnd = random.Random(SEED + n)
    return [f"{rnd.choice(SECTIONS)}-{i:06d}{rnd.choice('SBUP')}" for i in range(n)]


def concept_map(n: int, loinc: list[tuple[str, str]]) -> tuple[dict[str, Any], list[str]]:
    codes = local_codes(n)
    rnd = random.Random(SEED)
    elements = []
    for i, code in enumerate(codes):
        target, name = loinc[i % len(loinc)]
        eq = "equivalent" if rnd.random() < 0.85 else rnd.choice(("wider", "narrower"))
        elements.append({"code": code, "display": f"{name[:40]} (lokal)",
                         "target": [{"code": target, "display": name, "equivalence": eq}]})
    cm = {"resourceType": "ConceptMap", "id": f"lab-{n}", "url": MAP_URL.format(n=n),
          "version": "1", "status": "active", "name": f"Lab{n}ToLoinc",
          "group": [{"source": LOCAL.format(n=n), "target": LOINC, "element": elements}]}
    return cm, codes


def loinc_code_system(loinc: list[tuple[str, str]]) -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "id": "loinc-bench", "url": LOINC,
            "version": "2.78", "status": "active", "content": "fragment",
            "count": len(loinc), "concept": [{"code": c, "display": d} for c, d in loinc]}


def serve(port: int, db: str) -> None:
    """The server process: the app as `termserver serve` builds it, with the translate fast
    path and the bulk routes added when the app does not have them yet."""
    import uvicorn
    from starlette.middleware import Middleware

    from termserver.api.app import create_app
    from termserver.api.fastpath_translate import TranslateFastPath
    from termserver.api.routes import bulk
    from termserver.settings import Settings
    from termserver.store import Store

    settings = Settings.from_env()
    app = create_app(settings, Store(db))
    if not any(cast(Any, m).cls is TranslateFastPath for m in app.user_middleware):
        app.user_middleware.append(Middleware(TranslateFastPath))
    if not any(getattr(r, "path", "") == "/fhir/$translate-bulk" for r in app.routes):
        app.include_router(bulk.router, prefix="/fhir")
    uvicorn.run(app, host=HOST, port=port, log_level="warning")


def reset_peak_rss(pid: int) -> bool:
    """Start the process's VmHWM afresh (Linux: `5` into /proc/PID/clear_refs); False when
    not allowed (then VmHWM is the peak since the start)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process in MB (Linux)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmHWM", 0.0), values.get("VmRSS", 0.0)


def distinct_lines(codes: list[str]) -> Iterator[bytes]:
    """Every code once, shuffled: no line repeats another (the stream's memo never hits)."""
    order = list(codes)
    random.Random(SEED + 2).shuffle(order)
    for i, code in enumerate(order):
        yield b'{"id":"r%d","code":"%s"}\n' % (i, code.encode())


def bulk_lines(codes: list[str], n: int, unknown_every: int = 100) -> Iterator[bytes]:
    """`n` NDJSON lines cycling through `codes` (every `unknown_every`-th an unknown code)."""
    rnd = random.Random(SEED + 1)
    k = len(codes)
    for i in range(n):
        code = f"XX-{i}" if i % unknown_every == 0 else codes[rnd.randrange(k)]
        yield b'{"id":"r%d","code":"%s"}\n' % (i, code.encode())


async def bulk_stream(port: int, query: str, lines: Iterator[bytes], n: int,
                      timeout: float) -> tuple[float, int, int]:
    """POST the lines (chunked) while reading the answer; (seconds, result lines, lines
    with `"result":true`). Checks that the ids come back in order."""
    reader, writer = await asyncio.open_connection(HOST, port, limit=1 << 22)
    writer.write((f"POST /fhir/$translate-bulk?{query} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                  "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n"
                  "Connection: close\r\n\r\n").encode())
    began = time.perf_counter()

    async def send() -> None:
        batch: list[bytes] = []
        for line in lines:
            batch.append(line)
            if len(batch) == 2000:
                data = b"".join(batch)
                writer.write(b"%x\r\n%s\r\n" % (len(data), data))
                await writer.drain()
                batch = []
        if batch:
            data = b"".join(batch)
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async def receive() -> tuple[int, int]:
        head = await reader.readuntil(b"\r\n\r\n")
        if head[9:12] != b"200":
            raise SystemExit(f"bulk: HTTP {head[9:12].decode()}: {head!r}")
        seen = found = 0
        rest = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            if size == 0:
                break
            data = rest + await reader.readexactly(size)
            await reader.readexactly(2)
            parts = data.split(b"\n")
            rest = parts.pop()
            for part in parts:
                if not part:
                    continue
                if not part.startswith(b'{"line":%d,"id":"r%d"' % (seen + 1, seen)):
                    raise SystemExit(f"bulk: line {seen + 1} out of order: {part[:80]!r}")
                seen += 1
                found += b'"result":true' in part
        return seen, found

    sender = asyncio.create_task(send())
    seen, found = await asyncio.wait_for(receive(), timeout)
    await sender
    writer.close()
    seconds = time.perf_counter() - began
    if seen != n:
        raise SystemExit(f"bulk: {seen} result lines for {n} input lines")
    return seconds, seen, found


def dict_rate(cm: dict[str, Any], codes: list[str], n: int) -> float:
    """Codings/s of a plain Python dict lookup over the same lines (parsed as the server
    would: one JSON object a line), the limit of any translation."""
    table = {e["code"]: (e["target"][0]["code"], e["target"][0]["display"])
             for e in cm["group"][0]["element"]}
    began = time.perf_counter()
    hits = 0
    for line in bulk_lines(codes, n):
        hits += orjson.loads(line)["code"] in table
    plain = time.perf_counter() - began
    assert hits
    return n / plain


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    db = f"sqlite:///{work / 'translate.db'}"
    port = args.port or free_port()
    env = {**os.environ, "TERMSERVER_DB": db, "TERMSERVER_LOG_LEVEL": "WARNING",
           "TERMSERVER_MAX_BODY_MB": "2048",  # until the bulk paths have their own limit
           "PYTHONPATH": str(ROOT)}
    env.pop("TERMSERVER_API_TOKENS", None)
    env.pop("TERMSERVER_READ_TOKENS", None)
    loinc = loinc_codes(100_000)
    maps = {n: concept_map(n, loinc) for n in (100, 10_000, 100_000)}
    proc = start([sys.executable, str(Path(__file__).resolve()), "--serve", str(port), db],
                 port, "/fhir/metadata", env)
    out: dict[str, Any] = {"rates": {}, "cpu": {}, "load": [os.getloadavg()[0]]}
    try:
        base = f"http://{HOST}:{port}/fhir"
        with httpx.Client(timeout=300) as client:
            t = time.perf_counter()
            r = client.put(f"{base}/CodeSystem/loinc-bench", json=loinc_code_system(loinc[:10_000]))
            assert r.status_code in (200, 201), r.text[:300]
            for n, (cm, _) in maps.items():
                r = client.put(f"{base}/ConceptMap/lab-{n}", json=cm)
                assert r.status_code in (200, 201), r.text[:300]
            out["load_seconds"] = time.perf_counter() - t
        rnd = random.Random(SEED)
        sample = {n: [codes[rnd.randrange(len(codes))] for _ in range(2000)]
                  for n, (_, codes) in maps.items()}
        lookups = [f"/fhir/CodeSystem/$lookup?system={quote(LOINC, safe='')}&code={c}"
                   for c, _ in loinc[:10_000:5]]
        targets = {"CodeSystem/$lookup": lookups}
        for n in (100, 100_000):
            url, system = quote(MAP_URL.format(n=n), safe=""), quote(LOCAL.format(n=n), safe="")
            targets[f"$translate url, {n:,}-element map"] = [
                f"/fhir/ConceptMap/$translate?url={url}&system={system}&code={quote(c)}"
                for c in sample[n]]
            targets[f"$translate system+targetsystem, {n:,}-element map"] = [
                f"/fhir/ConceptMap/$translate?system={system}&code={quote(c)}"
                f"&targetsystem={quote(LOINC, safe='')}" for c in sample[n]]
        for name, paths in targets.items():
            status, body = loadgen.probe(HOST, port, paths[0])
            if status != 200 or (b'"valueBoolean":true' not in body and "lookup" not in name):
                raise SystemExit(f"{name}: HTTP {status} {body[:300]!r}")
        for rnd_i in range(args.rounds):
            for name, paths in targets.items():
                before = cpu_seconds(proc.pid)
                res = loadgen.run(HOST, port, paths, connections=args.connections,
                                  seconds=args.seconds, warmup=0.5)
                after = cpu_seconds(proc.pid)
                if res.errors:
                    raise SystemExit(f"{name}: {res.errors} errors {res.statuses}")
                out["rates"].setdefault(name, []).append(res.rate)
                if before is not None and after is not None and res.completed:
                    out["cpu"].setdefault(name, []).append((after - before) / res.completed)
            print(f"round {rnd_i + 1}: " + ", ".join(
                f"{k} {v[-1]:,.0f}/s" for k, v in out["rates"].items()), flush=True)
        # one request per coding, on the bulk map (a sample), for the bulk comparison
        url10, sys10 = quote(MAP_URL.format(n=10_000), safe=""), quote(LOCAL.format(n=10_000),
                                                                       safe="")
        single = [f"/fhir/ConceptMap/$translate?url={url10}&system={sys10}&code={quote(c)}"
                  for c in sample[10_000]]
        res = loadgen.run(HOST, port, single, connections=1, seconds=args.seconds, warmup=0.5)
        out["one_per_request_1conn"] = res.rate
        res = loadgen.run(HOST, port, single, connections=args.connections,
                          seconds=args.seconds, warmup=0.5)
        out["one_per_request"] = res.rate
        query = f"url={url10}&system={sys10}"
        codes10 = maps[10_000][1]
        seconds, seen, found = asyncio.run(bulk_stream(
            port, query, distinct_lines(codes10), len(codes10), timeout=args.bulk_timeout))
        out["bulk_distinct"] = {"codings": seen, "seconds": seconds, "rate": seen / seconds,
                                "translated": found}
        for n in (100_000, 1_000_000):
            out["hwm_reset"] = reset_peak_rss(proc.pid)
            seconds, seen, found = asyncio.run(bulk_stream(
                port, query, bulk_lines(codes10, n), n, timeout=args.bulk_timeout))
            hwm, rss = peak_rss_mb(proc.pid)
            out.setdefault("bulk", []).append({"codings": n, "seconds": seconds,
                                               "rate": n / seconds, "translated": found,
                                               "peak_rss_mb": hwm, "rss_mb": rss})
            print(f"bulk {n:,}: {n / seconds:,.0f} codings/s, {found:,} translated, "
                  f"peak RSS {hwm:,.0f} MB", flush=True)
        out["dict_rate"] = dict_rate(maps[10_000][0], codes10, 1_000_000)
        out["load"].append(os.getloadavg()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except Exception:  # noqa: BLE001
            proc.kill()
    return out


def report(out: dict[str, Any], args: argparse.Namespace, started: str) -> str:
    def median(v: list[float]) -> float:
        return sorted(v)[len(v) // 2]

    lookup = median(out["rates"]["CodeSystem/$lookup"])
    lines = [
        "# $translate benchmark (bench/translate_bench.py)", "",
        f"Run {started} UTC on this machine ({os.cpu_count()} cores, shared); one uvicorn "
        f"server, 1 worker, SQLite; {args.connections} keep-alive connections, "
        f"{args.rounds} interleaved rounds of {args.seconds:g} s (median shown). "
        f"Loading the LOINC subset and the three maps over HTTP took "
        f"{out['load_seconds']:.1f} s. Load average (1 min) at the start and the end: "
        f"{' / '.join(f'{x:.1f}' for x in out['load'])}.", "",
        "## Single requests", "",
        "| operation | requests/s | × $lookup | server CPU ms/request |",
        "| --- | ---: | ---: | ---: |"]
    for name, rates in out["rates"].items():
        cpu = out["cpu"].get(name)
        lines.append(f"| {name} | {median(rates):,.0f} | {median(rates) / lookup:.2f} | "
                     f"{median(cpu) * 1000:.2f} |" if cpu else f"| {name} | "
                     f"{median(rates):,.0f} | {median(rates) / lookup:.2f} | |")
    bulk = out["bulk"]
    big = bulk[-1]
    lines += [
        "", "## Bulk: $translate-bulk through a 10,000-element map", "",
        "One streamed POST each (chunked NDJSON, one result line per input line checked in "
        "order with its id; 1 % unknown codes). Peak RSS is the server's during that stream "
        + ("(VmHWM reset before it)." if out.get("hwm_reset") else
           "(VmHWM since the server started: it includes loading the maps)."), "",
        "| codings | seconds | codings/s | translated | server peak RSS (MB) | RSS after (MB) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for b in bulk:
        lines.append(f"| {b['codings']:,} | {b['seconds']:.1f} | {b['rate']:,.0f} | "
                     f"{b['translated']:,} | {b['peak_rss_mb']:,.0f} | {b['rss_mb']:,.0f} |")
    d = out["bulk_distinct"]
    lines += [
        "",
        f"- every one of the map's {d['codings']:,} codes once (no line repeats another, so "
        f"nothing comes from the stream's memo): {d['rate']:,.0f} codings/s.",
        f"- one GET `$translate` per coding (same map, a 2,000-code sample): "
        f"{out['one_per_request']:,.0f}/s with {args.connections} connections, "
        f"{out['one_per_request_1conn']:,.0f}/s with one; bulk is "
        f"{big['rate'] / out['one_per_request']:.0f} × / "
        f"{big['rate'] / out['one_per_request_1conn']:.0f} × that.",
        f"- plain Python dict lookup of the same 1,000,000 lines (orjson parse + dict.get, "
        f"no I/O): {out['dict_rate']:,.0f}/s; bulk reaches "
        f"{big['rate'] / out['dict_rate']:.0%} of it.",
        ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]), argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    ap.add_argument("--bulk-timeout", type=float, default=900.0)
    ap.add_argument("--out", type=Path, default=HERE / "translate_results.md")
    args = ap.parse_args(argv)
    return measure_and_report(args, "translate-bench-", measure, report)


if __name__ == "__main__":
    raise SystemExit(main())

