"""Accuracy of mapping suggestions against gold maps, next to an Usagi-style baseline.

    python bench/mapping_eval.py [--db sqlite:///bench/data/loinc.db] [--limit N]

Target scope: ACTIVE LOINC terms with CLASSTYPE 1 (laboratory), read from a database built by
bench/load_loinc.py (LOINC 2.78 core + the 2.74 German variant). Gold sets: (a) MIMIC-III demo
lab items with a LOINC code (LABEL, FLUID as specimen), (b) ELGA Laborparameter rows whose code
is a LOINC (short display + long de-AT name, unit from `einheit_codiert`). Measures top-1,
top-5 and MRR (over the first 5) for `mappings.suggest` and for the baseline that reproduces
Usagi's method: character n-gram (2-3) TF-IDF cosine over every name of a term, best name
wins. Prints a table and writes bench/mapping_results.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from mappings.normalize import fold  # noqa: E402
from mappings.suggest import TargetIndex, TargetTerm, suggest, term_from_detail  # noqa: E402

LOCAL = ROOT.parent / "shared" / "data" / "local-codes"
MIMIC = LOCAL / "mimic-iii-demo-d_labitems" / "D_LABITEMS.csv"
ELGA = LOCAL / "elga-laborparameter-at" / "ValueSet-elga-laborparameter.1.propcsv.csv.gz"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    unit: str | None
    specimen: str | None
    gold: str


def load_terms(db: str) -> list[TargetTerm]:
    from termserver.store import Store

    store = Store(db, migrate=False)
    try:
        cs = store.resolve_code_system("http://loinc.org")
        if cs is None:
            raise SystemExit(f"no LOINC in {db}: run bench/load_loinc.py first")
        terms = []
        for d in store.concept_details(cs.pk):
            props = {p.property: p.value for p in d.properties}
            if props.get("STATUS") == "ACTIVE" and str(props.get("CLASSTYPE")) == "1":
                terms.append(term_from_detail(d))
        return terms
    finally:
        store.close()


def mimic_cases() -> list[Case]:
    with MIMIC.open(newline="", encoding="utf-8") as f:
        return [Case(r["label"], None, r["fluid"] or None, r["loinc_code"].strip())
                for r in csv.DictReader(f) if r["loinc_code"].strip()]


def elga_cases() -> list[Case]:
    cases = []
    with gzip.open(ELGA, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        for row in reader:
            if row[0] != "http://loinc.org":
                continue
            names, unit = [row[3]], None
            for cell in row[6:]:
                parts = cell.split("|")
                if len(parts) >= 3 and "einheit_codiert" in parts[1]:
                    unit = parts[2]
                elif len(parts) >= 3 and parts[0].startswith("de") and parts[2] != row[3]:
                    names.append(parts[2])
            cases.append(Case(" ".join(names), unit, None, row[2]))
    return cases


class UsagiBaseline:
    """Character 2-3-gram TF-IDF (sublinear tf, smooth idf) cosine, max over a term's names."""

    def __init__(self, terms: list[TargetTerm]) -> None:
        self.doc_term: list[int] = []
        vocab: dict[str, int] = {}
        rows: list[dict[int, float]] = []
        for ti, term in enumerate(terms):
            for text, _ in term.texts:
                counts: dict[int, float] = {}
                for g in self._grams(text):
                    gid = vocab.setdefault(g, len(vocab))
                    counts[gid] = counts.get(gid, 0.0) + 1
                rows.append(counts)
                self.doc_term.append(ti)
        n = len(rows)
        df = np.zeros(len(vocab), dtype=np.float64)
        for r in rows:
            for gid in r:
                df[gid] += 1
        self.idf = np.log((1 + n) / (1 + df)) + 1
        self.vocab = vocab
        post_docs: list[list[int]] = [[] for _ in vocab]
        post_w: list[list[float]] = [[] for _ in vocab]
        for di, r in enumerate(rows):
            vec = {k: (1 + math.log(c)) * self.idf[k] for k, c in r.items()}
            norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
            for gid2, v in vec.items():
                post_docs[gid2].append(di)
                post_w[gid2].append(v / norm)
        self.post = [(np.asarray(d, dtype=np.int32), np.asarray(w, dtype=np.float32))
                     for d, w in zip(post_docs, post_w, strict=True)]
        self.n_docs = n
        self.doc_term_arr = np.asarray(self.doc_term, dtype=np.int32)
        self.n_terms = len(terms)

    @staticmethod
    def _grams(text: str) -> Iterable[str]:
        t = " " + " ".join(fold(text).split()) + " "
        for k in (2, 3):
            for i in range(len(t) - k + 1):
                yield t[i:i + k]

    def rank(self, text: str, limit: int = 5) -> list[int]:
        q: dict[int, float] = {}
        for g in self._grams(text):
            gid = self.vocab.get(g)
            if gid is not None:
                q[gid] = q.get(gid, 0.0) + 1
        if not q:
            return []
        docs = []
        weights = []
        for gid, c in q.items():
            d, w = self.post[gid]
            docs.append(d)
            weights.append(w * np.float32((1 + math.log(c)) * self.idf[gid]))
        sims = np.bincount(np.concatenate(docs), weights=np.concatenate(weights),
                           minlength=self.n_docs)
        best = np.full(self.n_terms, -1.0)
        np.maximum.at(best, self.doc_term_arr, sims)
        top = np.argsort(-best, kind="stable")[:limit]
        return [int(i) for i in top if best[i] > 0]


def measure(cases: list[Case], ranker: Callable[[Case], list[str]]) -> tuple[float, ...]:
    top1 = top5 = rr = 0.0
    start = time.perf_counter()
    for case in cases:
        codes = ranker(case)[:5]
        if codes and codes[0] == case.gold:
            top1 += 1
        if case.gold in codes:
            top5 += 1
            rr += 1 / (codes.index(case.gold) + 1)
    n = max(len(cases), 1)
    ms = (time.perf_counter() - start) * 1000 / n
    return top1 / n, top5 / n, rr / n, ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--limit", type=int, default=0, help="first N cases of each set")
    parser.add_argument("--out", type=Path, default=HERE / "mapping_results.md")
    args = parser.parse_args()
    t0 = time.perf_counter()
    terms = load_terms(args.db)
    index = TargetIndex(terms)
    t1 = time.perf_counter()
    baseline = UsagiBaseline(terms)
    t2 = time.perf_counter()
    in_scope = {t.code for t in terms}
    print(f"{len(terms):,} ACTIVE CLASSTYPE 1 LOINC terms; index {t1 - t0:.1f} s "
          f"(incl. reading), baseline {t2 - t1:.1f} s")
    lines = ["# Mapping suggestion accuracy", "",
             f"Target scope: {len(terms):,} ACTIVE LOINC terms with CLASSTYPE 1 "
             f"(LOINC 2.78 + 2.74 German variant), db `{args.db}`. MRR over the first 5.", "",
             "| Gold set | cases (gold in scope) | method | top-1 | top-5 | MRR | ms/query |",
             "|---|---|---|---|---|---|---|"]
    for name, cases in (("MIMIC-III demo", mimic_cases()), ("ELGA Laborparameter", elga_cases())):
        if args.limit:
            cases = cases[:args.limit]
        scope = sum(c.gold in in_scope for c in cases)
        ours = measure(cases, lambda c: [s.code for s in suggest(
            index, c.text, unit=c.unit, specimen=c.specimen, limit=5)])
        base = measure(cases, lambda c: [terms[i].code for i in baseline.rank(c.text)])
        for method, r in (("mappings.suggest", ours), ("Usagi-style TF-IDF", base)):
            row = (f"| {name} | {len(cases)} ({scope}) | {method} | {r[0]:.3f} | {r[1]:.3f} "
                   f"| {r[2]:.3f} | {r[3]:.1f} |")
            print(row)
            lines.append(row)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
