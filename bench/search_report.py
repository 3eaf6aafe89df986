"""Markdown report of bench/search_bench.py."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
from collections import Counter
from typing import Any

import run
import search_queries as sq

GOAL_RATIO, GOAL_WB = 3.0, 2.0


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:,.1f}"


def _pooled(ks: list[Any], group: str) -> float | None:
    values = [s for k in ks if k.group == group for s in k.seconds]
    return statistics.median(values) if values else None


def _where(args: argparse.Namespace) -> str:
    db = args.db.split("://", 1)[0]
    try:
        rev = subprocess.run(["git", "-C", str(args.server_root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        rev = ""
    code = f"`{args.server_root}`" + (f" (git {rev})" if rev else " (not a git checkout)")
    return f"database {db}, code {code}"


def render(res: dict[str, Any], args: argparse.Namespace) -> str:
    qs: sq.QuerySet = res["queries"]
    ks = res.get("kinds", [])
    lines = [
        "# Search benchmark results", "",
        f"Run {res['started']} with `python bench/search_bench.py` ({_where(args)}); "
        f"--requests {args.requests}, --max-seconds {args.max_seconds:g}, --timeout "
        f"{args.timeout:g} s, --max-timeouts {args.max_timeouts}.", "",
        f"* Machine: {os.cpu_count()} CPUs ({run._cpu_model()}), {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}; server uvicorn, 1 worker; "
        "client on the same machine.",
        "* Content: LOINC 2.78 + deDE variant, ICD-10-GM 2015/2016/2017/2021/2024/2025, "
        f"synthetic SNOMED CT (370,000 concepts). ICD-10-GM value set: `{res.get('icd_vs')}`.",
        f"* Queries: {len(qs.queries)} ({_query_mix(qs)}); ECL roots: "
        + ", ".join(f"{c} ({n:,})" for c, n in qs.ecl_roots) + ".",
    ]
    if res.get("loads"):
        lines.append("* Loaded in this run: " + "; ".join(res["loads"]) + ".")
    lines += ["", "## One client (keep-alive)", "",
              "| request | sent | 200 | p50 ms | p95 ms | max ms | p50 / lookup p50 | other "
              "answers | timeouts | stopped by |",
              "|---|---:|---:|---:|---:|---:|---:|---|---:|---|"]
    lookup = _pooled(ks, "lookup")
    for k in ks:
        ratio = f"{k.pct(0.5) / lookup:.1f}" if lookup and k.seconds else "-"
        other = ", ".join(f"{s}×{n}" for s, n in sorted(k.statuses.items()) if s != 200)
        top = max(k.seconds) if k.seconds else None
        lines.append(f"| {k.name} | {k.sent} | {len(k.seconds)} | {_ms(k.pct(0.5))} | "
                     f"{_ms(k.pct(0.95))} | {_ms(top)} | {ratio} | {other} | {k.timeouts} | "
                     f"{k.stopped} |")
    lines += ["", *_goals(ks, lookup), *_rates(ks, args), *_judged(res), *_memory(res),
              *_alloc(res), *_workbench(res), ""]
    return "\n".join(lines)


def _query_mix(qs: sq.QuerySet) -> str:
    by = Counter(q.system for q in qs.queries)
    origin = Counter(q.origin for q in qs.queries)
    return ", ".join(f"{n} {s}" for s, n in by.items()) + "; " + \
        ", ".join(f"{n} {o}" for o, n in origin.items())


def _goals(ks: list[Any], lookup: float | None) -> list[str]:
    out = [f"`$lookup` p50 (all three systems): {_ms(lookup)} ms."]
    text = _pooled(ks, "filter")
    for label, value in (("text `$expand` (filter, top 20), all systems", text),
                         *((k.name, k.pct(0.5)) for k in ks if k.group in ("page", "ecl"))):
        if value is None or lookup is None:
            out.append(f"* {label}: no 200 answers — **not met**")
            continue
        verdict = "met" if value <= GOAL_RATIO * lookup else "**not met**"
        out.append(f"* {label}: p50 {_ms(value)} ms = {value / lookup:.1f} × lookup "
                   f"(goal ≤ {GOAL_RATIO:g}): {verdict}")
    return out


def _rates(ks: list[Any], args: argparse.Namespace) -> list[str]:
    rated = [k for k in ks if k.rates]
    out = ["", "## Several clients", "",
           f"Requests/s over {args.rate_seconds:g} s (bench/loadgen.py, keep-alive), for kinds "
           f"whose one-client p95 is under {args.rate_limit:g} s."]
    if not rated:
        return [*out, "", "No kind was fast enough to measure (or --skip rates)."]
    head = " | ".join(f"{c} client{'s' if c > 1 else ''} req/s" for c in args.clients)
    out += ["", f"| request | {head} | non-200 |",
            "|---|" + "---:|" * (len(args.clients) + 1)]
    for k in rated:
        cells = " | ".join(f"{k.rates[c][0]:,.0f}" if c in k.rates else "-"
                           for c in args.clients)
        out.append(f"| {k.name} | {cells} | {sum(e for _, e in k.rates.values())} |")
    skipped = [k.name for k in ks if not k.rates]
    if skipped:
        out.append(f"\nNot rated (too slow or no answers): {', '.join(skipped)}.")
    return out


def _judged(res: dict[str, Any]) -> list[str]:
    if "judged" not in res:
        return []
    out = ["", "## Judged queries", ""]
    for label, rows in (("tests/test_search_quality.py (asserted there)", res["judged"]),
                        ("harder single words (bench only)", res["harder"])):
        hits = sum(1 for _, h, _ in rows if h)
        exact = [(j, h) for j, h, _ in rows if j.exact]
        unasked = sum(1 for _, h, codes in rows if h is None and not codes)
        out.append(f"* {label}: **{hits}/{len(rows)}** hit ({hits / len(rows):.0%}); exact "
                   f"names and codes first: {sum(1 for _, h in exact if h)}/{len(exact)}"
                   + (f"; {unasked} not asked (timeouts, --judged-seconds)" if unasked else "")
                   + ".")
        for j, h, codes in rows:
            if not h and codes:
                want = "first" if j.exact else "top 10"
                out.append(f"  * miss `{j.query}` ({j.system}, want {sorted(j.expected)} "
                           f"{want}): got {', '.join(codes[:5]) or 'nothing'}")
    return out


def _memory(res: dict[str, Any]) -> list[str]:
    out = ["", "## Memory", "", f"Server RSS after start: {res.get('rss_start', 0):,.0f} MiB."]
    if "memory" not in res:
        return out
    samples, stop = res["memory"]
    n0, first = samples[0]
    n1, last = samples[-1]
    trail = ", ".join(f"{n:,}: {v:,.0f}" for n, v in samples)
    out.append(f"Filtered expansions (cycling the filtered pages of all systems): RSS "
               f"{first:,.0f} MiB before, {last:,.0f} MiB after {n1:,} requests "
               f"({last - first:+,.0f} MiB; stopped: {stop}). Samples (requests: MiB): {trail}.")
    if len(samples) > 2:
        later = samples[1][1]
        out.append(f"After the first 1,000 (caches filled): {later:,.0f} → {last:,.0f} MiB "
                   f"({last - later:+,.0f} MiB).")
    return out


def _alloc(res: dict[str, Any]) -> list[str]:
    if "alloc" not in res:
        return []
    a = res["alloc"]
    if "error" in a:
        return ["", "## Allocation of one LOINC page", "", f"Not measured: {a['error']}."]
    return ["", "## Allocation of one LOINC page", "",
            "tracemalloc peak of one `$expand` in-process (create_app + TestClient, after one "
            "identical warm-up request):", "",
            f"* `url=http://loinc.org/vs&count=20`: **{a['page_peak_mib']:,.1f} MiB** peak, "
            f"{a['page_seconds']:.2f} s under tracemalloc, HTTP {a['page_status']:.0f}",
            f"* `url=http://loinc.org/vs&filter=Natrium&count=20`: "
            f"**{a['filtered_peak_mib']:,.1f} MiB** peak, {a['filtered_seconds']:.2f} s, "
            f"HTTP {a['filtered_status']:.0f}"]


def _median_of(w: dict[str, Any]) -> str:
    runs = w.get("runs", ())
    return f", median of {len(runs)} restarts" if len(runs) > 1 else ""


def _workbench(res: dict[str, Any]) -> list[str]:
    if "workbench" not in res:
        return []
    w = res["workbench"]
    out = ["", "## Workbench cold start", ""]
    if "error" in w:
        return [*out, f"Not measured: {w['error']}."]
    verdict = "met" if w["ratio"] <= GOAL_WB else "**not met**"
    return [*out,
            "Project of 8 local lab codes → all of LOINC (German names), suggestions from "
            "`GET /workbench/api/projects/{id}/codes/{code}?limit=5`.", "",
            f"* first suggestion ever (builds what is built on first use): {w['prime_s']:.2f} s",
            f"* server restart: {w['restart_s']:.1f} s; then the project page (project, "
            "worklist) is opened",
            f"* first suggestion after the restart: **{w['cold_s']:.3f} s** "
            f"(top: {w['cold_top']}){_median_of(w)}",
            f"* warm suggestions (2 passes over the 8 codes): p50 **{w['warm_p50_s']:.3f} s**, "
            f"max {max(w['warm_s']):.3f} s",
            *(["* each restart (cold, warm p50): " + ", ".join(
                f"{c:.3f} / {m:.3f} s" for c, m in w["runs"])] if len(w.get("runs", ())) > 1
              else []),
            f"* ratio cold / warm p50: **{w['ratio']:.1f}** (goal ≤ {GOAL_WB:g}): {verdict}",
            "* top suggestions: " + ", ".join(f"{c} → {t}" for c, t in w["tops"].items())]
