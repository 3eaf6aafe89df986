"""Workbench cold start for bench/search_bench.py: the first suggestion after a server restart
against warm ones, on the real LOINC table, through the JSON API /workbench/api.

A small project (eight local lab codes with German names and units, imported as a CSV) maps
to http://loinc.org (no target ValueSet: all 104,054 terms). One suggestion primes whatever
is built on first use; then the server restarts, the curator's page is opened (the project and
its worklist), and the first suggestion is timed, followed by two warm passes over the codes.
"""

from __future__ import annotations

import argparse
import statistics
import time
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
            out["cold_s"], out["cold_top"] = _suggest(c, CODES[0][0])
            warm: list[tuple[float, str]] = []
            for code, _, _ in (*CODES[1:], CODES[0]) * 2:
                warm.append(_suggest(c, code))
                if warm[-1][1] == "timeout":  # bounded: one timeout ends the warm passes
                    break
        out["warm_s"] = [s for s, _ in warm]
        out["warm_p50_s"] = statistics.median(out["warm_s"])
        out["tops"] = {code: top for (code, _, _), (_, top) in zip(CODES[1:] + CODES[:1],
                                                                  warm, strict=False)}
        out["ratio"] = out["cold_s"] / out["warm_p50_s"]
    except (RuntimeError, httpx.HTTPError) as e:
        out["error"] = str(e)
    return out
