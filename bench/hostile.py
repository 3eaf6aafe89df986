"""Hostile requests against a real server, and how fast a concurrent $lookup is answered.

Issue 12 items 1 and 5 (and deeply nested ECL): each hostile request is sent on its own
while another client sends `$lookup`s back to back; the script reports the hostile
request's status and time and the concurrent lookups' count, p50 and max latency, next to
a baseline without a hostile request. Goals: every hostile request ends (4xx or a correct
answer) in bounded time, and a concurrent `$lookup` is answered within 1 s.

Content (loaded once into bench/data/hostile.db, or --db URL when empty): the real SNOMED
CT subset of the HL7 tx-ecosystem (../shared/data/snomed-ct/…, skipped when absent) and
the demo LOINC lab subset (demo/loinc, 9,272 terms).

    python bench/hostile.py [--db URL] [--port 18150] [--timeout 30] [--repeat 3]

A script, not a test: it prints a table and exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
SNOMED = ROOT.parent / "shared" / "data" / "snomed-ct" / \
    "hl7-tx-ecosystem-int-20250909-subontology"
LOINC = ROOT / "demo" / "loinc"
SCT, LOINC_URL = "http://snomed.info/sct", "http://loinc.org"
LOOKUP = {"system": LOINC_URL, "code": "2160-0"}
HOSTILE_REGEX = r"(.*)(.*)(.*)\1\2\3"
MAX_LOOKUPS = 20_000  # per hostile request (a bound, never reached in practice)


def _regex_vs() -> dict[str, object]:
    return {"resourceType": "ValueSet", "status": "active", "compose": {"include": [{
        "system": LOINC_URL, "filter": [
            {"property": "display", "op": "regex", "value": HOSTILE_REGEX}]}]}}


def _wild(stars: int) -> tuple[str, dict[str, str]]:
    ecl = '<< 404684003 {{ term = wild:"' + "*" * stars + '#" }}'
    return "/ValueSet/$expand", {"count": "5", "url": f"{SCT}?fhir_vs=ecl/{quote(ecl)}"}


@dataclass
class Hostile:
    name: str
    send: Callable[[httpx.Client], httpx.Response]
    needs_snomed: bool = False


def hostile_requests() -> list[Hostile]:
    out: list[Hostile] = []
    for stars in (5, 10, 30):
        path, params = _wild(stars)

        def wild(c: httpx.Client, p: str = path, q: dict[str, str] = params) -> httpx.Response:
            return c.get(p, params=q)
        out.append(Hostile(f"ECL wild:\"{'*' * stars}#\" $expand (item 1)", wild, True))
    deep = "(" * 2000 + "404684003" + ")" * 2000
    out.append(Hostile("ECL with 2,000 nested parentheses", lambda c: c.get(
        "/ValueSet/$expand", params={"url": f"{SCT}?fhir_vs=ecl/{quote(deep)}"}), True))
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": _regex_vs()}]}
    out.append(Hostile(f"POST $expand display regex {HOSTILE_REGEX} (item 5)",
                       lambda c: c.post("/ValueSet/$expand", json=body)))
    check = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": _regex_vs()},
        {"name": "coding", "valueCoding": {"system": LOINC_URL, "code": "2160-0"}}]}
    out.append(Hostile("POST ValueSet/$validate-code, same regex",
                       lambda c: c.post("/ValueSet/$validate-code", json=check)))
    return out


@dataclass
class Result:
    name: str
    status: int = 0
    seconds: float = 0.0
    lookups: list[float] = field(default_factory=list)
    note: str = ""


def ensure_content(db: str) -> bool:
    """Load the content into `db` unless it holds it already; True when SNOMED is there."""
    status = subprocess.run([sys.executable, "-m", "termserver", "status", "--db", db],
                            capture_output=True, text=True, check=False, cwd=ROOT).stdout
    if LOINC_URL not in status:
        _load(db, str(LOINC), "loinc", "--version", "2.78")
    if SCT not in status and SNOMED.exists():
        _load(db, str(SNOMED), "snomed-rf2")
    return SNOMED.exists() or SCT in status


def _load(db: str, path: str, fmt: str, *extra: str) -> None:
    print(f"loading {path} ({fmt}) …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "termserver", "load", path, "--format", fmt,
                    "--db", db, *extra], check=True, cwd=ROOT)


def start_server(db: str, port: int, timeout: float) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TERMSERVER_REQUEST_TIMEOUT=str(timeout),
               TERMSERVER_LOG_LEVEL="WARNING")
    proc = subprocess.Popen([sys.executable, "-m", "termserver", "serve", "--db", db,
                             "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}/fhir"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.terminate()
    raise SystemExit(f"the server did not start on port {port}")


def measure(base: str, hostile: Hostile | None, seconds: float = 3.0) -> Result:
    """Lookups back to back while `hostile` runs (or for `seconds` without one)."""
    result = Result(hostile.name if hostile else "baseline (no hostile request)")
    done = threading.Event()

    def run_hostile() -> None:
        assert hostile is not None
        with httpx.Client(base_url=base, timeout=600) as client:
            start = time.perf_counter()
            try:
                r = hostile.send(client)
                result.status = r.status_code
                if r.status_code >= 400:
                    result.note = json.loads(r.content)["issue"][0]["code"]
                elif "expansion" in r.text:
                    result.note = f"{r.json()['expansion'].get('total', '?')} codes"
                else:
                    result.note = "result " + str(
                        [p.get("valueBoolean") for p in r.json()["parameter"]
                         if p["name"] == "result"])
            except httpx.HTTPError as exc:
                result.note = type(exc).__name__
            result.seconds = time.perf_counter() - start
            done.set()

    if hostile is not None:
        threading.Thread(target=run_hostile, daemon=True).start()
        time.sleep(0.05)  # let the hostile request reach the server first
    end = time.perf_counter() + seconds
    with httpx.Client(base_url=base, timeout=600) as client:
        while len(result.lookups) < MAX_LOOKUPS:
            if hostile is not None and done.is_set():
                break
            if hostile is None and time.perf_counter() > end:
                break
            start = time.perf_counter()
            r = client.get("/CodeSystem/$lookup", params=LOOKUP)
            result.lookups.append(time.perf_counter() - start)
            if r.status_code != 200:
                result.note += f" lookup {r.status_code}"
    if hostile is not None:
        done.wait(600)
    return result


def report(results: list[Result], timeout: float) -> bool:
    ok = True
    print(f"\nTERMSERVER_REQUEST_TIMEOUT={timeout:g} s; concurrent GET $lookup {LOOKUP}\n")
    print("| hostile request | status | time | lookups during it | lookup p50 | lookup max |")
    print("|---|---|---|---|---|---|")
    for r in results:
        p50 = statistics.median(r.lookups) * 1000 if r.lookups else float("nan")
        worst = max(r.lookups) * 1000 if r.lookups else float("nan")
        status = f"{r.status} {r.note}".strip() if r.status or r.note else "-"
        took = f"{r.seconds:.2f} s" if r.status else "-"
        print(f"| {r.name} | {status} | {took} | {len(r.lookups)} | {p50:.1f} ms | "
              f"{worst:.1f} ms |")
        if r.lookups and max(r.lookups) > 1.0:
            ok = False
        if r.status and (r.status >= 500 or r.seconds > timeout + 5):
            ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=f"sqlite:///{DATA / 'hostile.db'}")
    parser.add_argument("--port", type=int, default=18150)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="TERMSERVER_REQUEST_TIMEOUT for the server (seconds)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each hostile request")
    args = parser.parse_args(argv)
    DATA.mkdir(exist_ok=True)
    has_snomed = ensure_content(args.db)
    proc = start_server(args.db, args.port, args.timeout)
    base = f"http://127.0.0.1:{args.port}/fhir"
    try:
        results = [measure(base, None)]
        for hostile in hostile_requests():
            if hostile.needs_snomed and not has_snomed:
                print(f"skipped (no SNOMED CT content): {hostile.name}", file=sys.stderr)
                continue
            for _ in range(max(1, args.repeat)):
                results.append(measure(base, hostile))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0 if report(results, args.timeout) else 1


if __name__ == "__main__":
    raise SystemExit(main())
