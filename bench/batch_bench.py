"""FHIR `batch` Bundles of terminology reads: set-based (termserver.api.batch_sets) against
entry-by-entry dispatch (TERMSERVER_BATCH_SETS=0), two servers on one database, same run.

A generated code system (`--codes` concepts) and a ConceptMap over all of them are loaded
into a fresh SQLite database; two `termserver serve` processes (one worker each) serve it,
one with sets and one without. Bundles of `--entries` entries ($translate by url, $lookup,
CodeSystem $validate-code: one kind a Bundle, codes drawn at random, 1 % unknown) are posted
to each, alternating, for `--seconds` per kind and server; reported: Bundles/s, entries/s and
the median Bundle time, and the ratio. The two answers of the same Bundle are compared.

    python bench/batch_bench.py [--codes 20000] [--entries 1000] [--seconds 8]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.servers import Served  # noqa: E402  (the subprocess server helper of the tests)

CS = "http://example.org/bench/batch-cs"
TARGET = "http://example.org/bench/batch-target"
CM = "http://example.org/bench/batch-cm"


def content(n: int) -> list[tuple[str, dict[str, Any]]]:
    codes = [f"B{i:06d}" for i in range(n)]
    cs = {"resourceType": "CodeSystem", "id": "batch-cs", "url": CS, "version": "1",
          "status": "active", "content": "complete",
          "concept": [{"code": c, "display": f"Bench concept {c}"} for c in codes]}
    target = {**cs, "id": "batch-target", "url": TARGET,
              "concept": [{"code": f"T{c}", "display": f"Target {c}"} for c in codes]}
    cm = {"resourceType": "ConceptMap", "id": "batch-cm", "url": CM, "version": "1",
          "status": "active", "group": [{"source": CS, "target": TARGET, "element": [
              {"code": c, "target": [{"code": f"T{c}", "equivalence": "equivalent"}]}
              for c in codes]}]}
    return [("CodeSystem/batch-cs", cs), ("CodeSystem/batch-target", target),
            ("ConceptMap/batch-cm", cm)]


def bundle(kind: str, codes: list[str], rng: random.Random, n: int) -> dict[str, Any]:
    entries = []
    for _ in range(n):
        code = rng.choice(codes) if rng.random() >= 0.01 else "UNKNOWN"
        query = {"translate": ("ConceptMap/$translate", {"url": CM, "system": CS, "code": code}),
                 "lookup": ("CodeSystem/$lookup", {"system": CS, "code": code}),
                 "validate": ("CodeSystem/$validate-code", {"url": CS, "code": code})}[kind]
        entries.append({"request": {"method": "GET",
                                    "url": f"{query[0]}?{urlencode(query[1])}"}})
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codes", type=int, default=20_000)
    ap.add_argument("--entries", type=int, default=1_000)
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    db = f"sqlite:///{work / 'batch.db'}"
    codes = [f"B{i:06d}" for i in range(args.codes)]
    servers = {"sets": Served(db), "dispatch": Served(db, env={"TERMSERVER_BATCH_SETS": "0"})}
    try:
        ports = {name: s.wait() for name, s in servers.items()}
        with httpx.Client(timeout=600) as client:
            for path, resource in content(args.codes):
                got = client.put(f"http://127.0.0.1:{ports['sets']}/fhir/{path}", json=resource)
                got.raise_for_status()
            rng = random.Random(7)
            print(f"{args.entries} entries a Bundle, {args.codes} codes, "
                  f"{args.seconds:.0f} s per kind and server")
            print("| kind | sets: Bundles/s, entries/s, median | dispatch: Bundles/s, "
                  "entries/s, median | ratio |")
            print("| --- | --- | --- | --- |")
            for kind in ("translate", "lookup", "validate"):
                times: dict[str, list[float]] = {"sets": [], "dispatch": []}
                spent = {"sets": 0.0, "dispatch": 0.0}
                while min(spent.values()) < args.seconds:
                    body = bundle(kind, codes, rng, args.entries)
                    answers = {}
                    for name, port in ports.items():
                        t0 = time.perf_counter()
                        got = client.post(f"http://127.0.0.1:{port}/fhir", json=body)
                        took = time.perf_counter() - t0
                        got.raise_for_status()
                        times[name].append(took)
                        spent[name] += took
                        answers[name] = [e.get("resource") for e in got.json()["entry"]]
                    if answers["sets"] != answers["dispatch"]:
                        raise SystemExit(f"{kind}: the two servers answered differently")
                cells = []
                for name in ("sets", "dispatch"):
                    rate = len(times[name]) / spent[name]
                    cells.append(f"{rate:.1f}, {rate * args.entries:,.0f}, "
                                 f"{statistics.median(times[name]) * 1000:.0f} ms")
                ratio = (len(times["sets"]) / spent["sets"]) / \
                    (len(times["dispatch"]) / spent["dispatch"])
                print(f"| {kind} | {cells[0]} | {cells[1]} | {ratio:.1f} × |", flush=True)
    finally:
        for s in servers.values():
            s.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
