"""Requests per second of `$lookup` and `$validate-code` next to a bare FastAPI endpoint.

Starts the real server (`python -m termserver serve`: uvicorn, one worker) on the benchmark
database and a bare FastAPI app (bench/bare_app.py, same uvicorn call) as subprocesses, then
drives each with the keep-alive load generator in bench/loadgen.py on this machine, in
interleaved rounds, with random codes of the 121,220-concept code system. Prints the median
rate per target and its ratio to the bare endpoint, and writes bench/results.md.

    python bench/run.py [--rounds 5] [--seconds 5] [--connections 8] [--db URL]

An operation whose route does not answer 200 is reported as "not available".
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
import make_codesystem as mk  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
HOST = "127.0.0.1"
TARGET_RATIO = 0.5


@dataclass
class Target:
    name: str
    server: str  # "bare" or "termserver"
    paths: list[str]
    rates: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # server CPU seconds per request
    errors: int = 0
    unavailable: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def measure_and_report(args: argparse.Namespace, prefix: str,
                       measure: Callable[[argparse.Namespace, Path], Any],
                       report: Callable[[Any, argparse.Namespace, str], str]) -> int:
    """Run `measure` in a temporary folder, write `report`'s text to `args.out` and print it
    (the main of bench/translate_bench.py and bench/bulk_bench.py)."""
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        out = measure(args, Path(tmp))
    text = report(out, args, started)
    args.out.write_text(text)
    print(text)
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], port: int, probe_path: str,
          env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"{' '.join(cmd)} exited early:\n{err}")
        try:
            if loadgen.probe(HOST, port, probe_path)[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"{' '.join(cmd)} did not answer on port {port}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def targets(codes: list[str]) -> list[Target]:
    cs, vs = quote(mk.CS_URL, safe=""), quote(mk.VS_URL, safe="")
    ev = quote(mk.ENUM_VS_URL, safe="")
    enc = [quote(c, safe="") for c in codes]
    return [
        Target("bare FastAPI, constant JSON", "bare", ["/constant"]),
        Target("CodeSystem/$lookup (GET system, code)", "termserver",
               [f"/fhir/CodeSystem/$lookup?system={cs}&code={c}" for c in enc]),
        Target("CodeSystem/$validate-code (GET url, code)", "termserver",
               [f"/fhir/CodeSystem/$validate-code?url={cs}&code={c}" for c in enc]),
        Target("ValueSet/$validate-code (GET url, system, code)", "termserver",
               [f"/fhir/ValueSet/$validate-code?url={vs}&system={cs}&code={c}" for c in enc]),
        Target(f"ValueSet/$validate-code, {mk.ENUM_SIZE:,} codes listed (GET url, system, code)",
               "termserver",
               [f"/fhir/ValueSet/$validate-code?url={ev}&system={cs}&code={c}" for c in enc]),
    ]


def measure(ts: list[Target], db: str, args: argparse.Namespace) -> None:
    """Start the bare app and `termserver serve --db DB`, then drive every target in turn for
    `args.rounds` interleaved rounds; rates, CPU per request and errors go into `ts`."""
    env = {**os.environ, "TERMSERVER_DB": db, "TERMSERVER_LOG_LEVEL": "WARNING"}
    env.pop("TERMSERVER_API_TOKENS", None)
    env.pop("TERMSERVER_READ_TOKENS", None)
    ports = {"bare": free_port(), "termserver": free_port()}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start([sys.executable, str(HERE / "bare_app.py"), "--port",
                            str(ports["bare"])], ports["bare"], "/constant", env))
        procs.append(start([sys.executable, "-m", "termserver", "serve", "--db", db,
                            "--port", str(ports["termserver"])], ports["termserver"],
                           "/fhir/metadata", env))
        pids = {"bare": procs[0].pid, "termserver": procs[1].pid}
        for t in ts:
            status, _ = loadgen.probe(HOST, ports[t.server], t.paths[0])
            if status != 200:
                t.unavailable = f"HTTP {status}"
        for r in range(args.rounds):
            for t in ts:
                if t.unavailable:
                    continue
                before = cpu_seconds(pids[t.server])
                res = loadgen.run(HOST, ports[t.server], t.paths,
                                  connections=args.connections, seconds=args.seconds)
                after = cpu_seconds(pids[t.server])
                t.rates.append(res.rate)
                t.errors += res.errors
                if before is not None and after is not None and res.completed:
                    t.cpu.append((after - before) / res.completed)
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{t.name.split(' (')[0]} {t.rates[-1]:,.0f}/s" for t in ts if t.rates))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def report(ts: list[Target], args: argparse.Namespace, started: str) -> str:
    bare = ts[0].median
    lines = [
        "# Benchmark results",
        "",
        f"Run {started} with `python bench/run.py --rounds {args.rounds} --seconds "
        f"{args.seconds} --connections {args.connections}` (`make bench`).",
        "",
        f"* Machine: {os.cpu_count()} CPUs ({_cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}.",
        "* Servers: uvicorn, 1 worker each (`termserver serve` for the real app); the load "
        "generator (bench/loadgen.py, asyncio, keep-alive HTTP/1.1) runs on the same machine.",
        f"* Data: {mk.CS_URL}|{mk.CS_VERSION}, {args.concepts:,} concepts, SQLite; random codes.",
        f"* Rates: requests/s, median of {args.rounds} interleaved rounds of {args.seconds} s "
        f"(after 1 s warm-up) with {args.connections} connections.",
        "* Server CPU: CPU time the server process used per request (user + system, from "
        "/proc), median over the rounds; less sensitive than req/s to other load.",
        f"* Target: at least {TARGET_RATIO:.0%} of the bare endpoint's median rate, no errors.",
        "",
        "| target | median req/s | min | max | vs bare | server CPU µs/req | non-200 | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for i, t in enumerate(ts):
        if t.unavailable:
            lines.append(f"| {t.name} | not available ({t.unavailable}) | | | | | | |")
            continue
        ratio = f"{t.median / bare:.0%}" if bare else "-"
        cpu = f"{statistics.median(t.cpu) * 1e6:,.0f}" if t.cpu else "-"
        met = "" if i == 0 else "met" if t.median >= TARGET_RATIO * bare and not t.errors \
            else "**not met**"
        lines.append(f"| {t.name} | {t.median:,.0f} | {min(t.rates):,.0f} | "
                     f"{max(t.rates):,.0f} | {ratio} | {cpu} | {t.errors} | {met} |")
    return "\n".join([*lines, ""])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=mk.DEFAULT_DB)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--output", type=Path, default=HERE / "results.md")
    args = parser.parse_args(argv)
    mk.main(["--db", args.db])
    codes = (mk.DATA / "codes.txt").read_text().split()
    args.concepts = len(codes)
    sample = random.Random(7).sample(codes, min(20_000, len(codes)))
    ts = targets(sample)
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    measure(ts, args.db, args)
    text = report(ts, args, started)
    args.output.write_text(text)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
