"""The non-LOINC part of bench/mapping_eval.py: local texts → ICD-10-GM 2025 (bench/other_gold.py).

The product path is measured: mappings.othertargets.GenericStoreSearch over the store's text
index of ICD-10-GM 2025 (what a map project whose target is ICD-10-GM gets), in a database
`--icd-db` (SQLite by default, bench/data/othertargets.db, built on first use with
`python -m termserver load --format bfarm-txt icd10gm2025syst_kodes.txt.gz`). Next to it the
Usagi-style baseline of bench/mapping_eval.py over the same selectable concepts (terminal
codes, German titles). Results go into their own section of bench/mapping_results.md (between
the markers below), leaving the LOINC part as it is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from other_gold import GM2025, ICD_URL, SETS, available, rows

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DB = f"sqlite:///{HERE / 'data' / 'othertargets.db'}"
BEGIN, END = "<!-- other-targets: begin -->", "<!-- other-targets: end -->"


def ensure_icd(db: str) -> None:
    """Load ICD-10-GM 2025 into `db` unless it is there."""
    from termserver.store import Store

    store = Store(db)
    try:
        found = store.resolve_code_system(ICD_URL, "2025")
    finally:
        store.close()
    if found is None:
        print(f"loading {GM2025.name} into {db}", flush=True)
        subprocess.run([sys.executable, "-m", "termserver", "load", "--db", db,
                        "--format", "bfarm-txt", str(GM2025)], check=True, cwd=ROOT)


def _ranks(cases: Sequence[Any], ranker: Callable[[str], list[str]]) -> tuple[list[int], float]:
    out, start = [], time.perf_counter()
    for c in cases:
        codes = ranker(c.text)[:5]
        out.append(codes.index(c.gold) + 1 if c.gold in codes else 0)
    return out, (time.perf_counter() - start) * 1000 / max(len(cases), 1)


def _summary(found: list[int]) -> tuple[float, float, float]:
    n = max(len(found), 1)
    return (sum(r == 1 for r in found) / n, sum(r > 0 for r in found) / n,
            sum(1 / r for r in found if r) / n)


def report(names: Sequence[str], db: str, baseline_cls: Callable[[list[Any]], Any] | None,
           limit: int = 0) -> list[str]:
    """Table lines (markdown) for the gold sets `names`: held-out and tuned halves apart,
    `mappings.othertargets` and the baseline (None: left out)."""
    from mappings.othertargets import GenericStoreSearch
    from mappings.suggest import term_from_detail
    from termserver.store import Store

    for n in [n for n in names if available(n)]:
        print(f"{n}: missing {', '.join(map(str, available(n)))}; skipped")
    names = [n for n in names if not available(n)]
    if not names:
        return []
    ensure_icd(db)
    store = Store(db, migrate=False)
    try:
        search = GenericStoreSearch(store, [(ICD_URL, "2025")])
        baseline = terms = None
        if baseline_cls is not None:
            cs = store.resolve_code_system(ICD_URL, "2025")
            assert cs is not None
            terms = [term_from_detail(d) for d in store.concept_details(cs.pk)
                     if not d.concept.abstract and not d.concept.inactive]
            baseline = baseline_cls(terms)
        lines = [BEGIN, "## Other targets: ICD-10-GM (issue 17)", "",
                 "Target scope: the terminal codes of ICD-10-GM 2025 (BfArM kodes file, German "
                 f"titles only), db `{db.replace(str(ROOT) + '/', '')}`; "
                 "`mappings.othertargets` through the store's text "
                 "index (the product path of a map project whose target is ICD-10-GM); "
                 "baseline: the Usagi-style TF-IDF above over the same codes. Gold sets and "
                 "halves: bench/other_gold.py (held out: first byte of SHA-1 of the code odd). "
                 "Nothing was tuned on the held-out halves.", "",
                 "| Gold set | part | cases | method | top-1 | top-5 | MRR | ms/query |",
                 "|---|---|---|---|---|---|---|---|"]
        for name in names:
            cases = rows(name)
            if limit:
                cases = cases[:limit]
            methods = [("mappings.othertargets",
                        *_ranks(cases, lambda t: [s.code for s in search.suggest(t)]))]
            if baseline is not None and terms is not None:
                methods.append(("Usagi-style TF-IDF", *_ranks(
                    cases, lambda t: [terms[i].code for i in baseline.rank(t)])))
            for part, keep in (("held-out", True), ("tuned", False), ("all", None)):
                idx = [i for i, c in enumerate(cases) if keep is None or c.held_out == keep]
                for method, found, ms in methods:
                    r = _summary([found[i] for i in idx])
                    line = (f"| {name}: {SETS[name][0]} | {part} | {len(idx)} | {method} "
                            f"| {r[0]:.3f} | {r[1]:.3f} | {r[2]:.3f} | {ms:.1f} |")
                    print(line, flush=True)
                    lines.append(line)
        return [*lines, END]
    finally:
        store.close()


def write_section(path: Path, lines: list[str]) -> None:
    """Put `lines` (BEGIN … END) into `path` in place of the former section, else at the end."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = "\n".join(lines)
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        text = head + new + rest.split(END, 1)[1]
    else:
        text = old.rstrip("\n") + ("\n\n" if old else "") + new + "\n"
    path.write_text(text, encoding="utf-8")
