"""Accuracy of mapping suggestions against gold maps, next to an Usagi-style baseline.

    python bench/mapping_eval.py [--db sqlite:///bench/data/loinc.db] [--limit N]

Target scope: ACTIVE LOINC terms with CLASSTYPE 1 (laboratory), read from a database built by
bench/load_loinc.py (LOINC 2.78 core + the deDE15 German variant of the 2.74 accessory files).
MIMIC cases pass FLUID as specimen and CATEGORY (Blood Gas / Chemistry / Hematology) as
category; ELGA cases pass their section in the list (the parent groups, e.g. "Urinchemie /
Urindiagnostik") as category. Each set is split by row order into halves: the 1st half is the
tuned half (failures were studied and weights tuned on it), the 2nd half is held out (not
studied; no glossary key may occur only there: tests/mappings/test_glossary_provenance.py). The
held-out half is the headline; the goals of issue 17 are judged on it and printed with the
table. Gold sets: (a) MIMIC-III demo lab items with a LOINC code (LABEL, FLUID as specimen),
(b) ELGA Laborparameter rows whose code is a LOINC (short display + long de-AT name, unit from
`einheit_codiert`). Measures top-1, top-5 and MRR (over the first 5) for `mappings.suggest` and
for the baseline that reproduces Usagi's method: character n-gram (2-3) TF-IDF cosine over
every name of a term, best name wins. Prints a table and writes bench/mapping_results.md.
`--sets mimic` (or `elga`), `--limit N` and `--no-baseline` bound a run.

Non-LOINC target (issue 17, "Other targets"): `--sets icd-who,icd-gm2015` adds the ICD-10-GM
gold sets of bench/other_gold.py (WHO ICD-10 English titles, and ICD-10-GM 2015 titles renamed
by 2025, → ICD-10-GM 2025), measured through mappings.othertargets over `--icd-db`
(bench/other_eval.py); their table is its own section of the results file. Run alone
(`--sets icd-who,icd-gm2015`), LOINC is not read and the rest of the file stays as it is.

The German → English lexicon (mappings.lexicon) is learnt from the German designations in
--db (LOINC's linguistic variants as loaded: deDE15, and deAT24 if loaded). `--no-glossary`
leaves the hand glossary out: then no word list written while looking at gold rows is used,
only what LOINC's variants give (the hand rules of mappings.hints / mappings.normalize stay:
general lab knowledge, refined on the tuned halves). `--no-lexicon` is the ablation.
`--calibrate` fits the conservative calibration of mappings.calibration (the first
suggestion's raw score and its margin to the second) on the tuned halves and judges it on the
held-out halves (bench/calibration_report.py: precision at confidence >= 0.9, ECE,
bench/reliability.png, bench/calibration.json); `--write-fit` also writes it to
mappings/calibration_fit.py, the table the product applies to every suggestion's score.

ELGA's names are mostly LOINC's own Austrian names (deAT24): `--search-without de-AT` keeps
the deAT24 designations out of the search while the lexicon still learns from them (the
generalisation figure), and the ELGA rows whose text holds no de-AT name of the gold code are
reported apart. `--dump PATH` writes every case with its suggestions (JSON lines).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import dev_sets  # noqa: E402
import other_eval  # noqa: E402

from mappings.calibration import margins  # noqa: E402
from mappings.glossary import GLOSSARY  # noqa: E402
from mappings.lexicon import Lexicon  # noqa: E402
from mappings.normalize import fold  # noqa: E402
from mappings.suggest import (  # noqa: E402
    TargetIndex,
    TargetTerm,
    read_lab_orders,
    suggest,
    term_from_detail,
    with_lab_orders,
)

SHARED = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared")) / "data"
LOCAL = SHARED / "local-codes"
LAB_ORDERS = (SHARED / "loinc" / "loinc-2.74-accessory" / "Other"
              / "LoincUniversalLabOrdersValueSet.csv")
MIMIC = LOCAL / "mimic-iii-demo-d_labitems" / "D_LABITEMS.csv"
ELGA = LOCAL / "elga-laborparameter-at" / "ValueSet-elga-laborparameter.1.propcsv.csv.gz"


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    unit: str | None
    specimen: str | None
    gold: str
    category: str | None = None


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
        return [Case(r["label"], None, r["fluid"] or None, r["loinc_code"].strip(),
                     r["category"] or None)
                for r in csv.DictReader(f) if r["loinc_code"].strip()]


def elga_cases() -> list[Case]:
    """LOINC rows of the ELGA value set; the category is the row's section in the list
    (its parent groups, e.g. "Urinchemie / Urindiagnostik"), as a lab catalogue has it."""
    cases = []
    with gzip.open(ELGA, "rt", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        rows = list(reader)
    groups = {row[2]: (row[3], row[4]) for row in rows if row[0] != "http://loinc.org"}
    for row in rows:
        if row[0] != "http://loinc.org":
            continue
        section: list[str] = []
        parent = row[4]
        while parent in groups and len(section) < 5:
            name, parent = groups[parent]
            section.append(name)
        names, unit = [row[3]], None
        for cell in row[6:]:
            parts = cell.split("|")
            if len(parts) >= 3 and "einheit_codiert" in parts[1]:
                unit = parts[2]
            elif len(parts) >= 3 and parts[0].startswith("de") and parts[2] != row[3]:
                names.append(parts[2])
        cases.append(Case(" ".join(names), unit, None, row[2],
                          " / ".join(section) or None))
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


def ranks(cases: list[Case], ranker: Callable[[Case], list[str]]) -> tuple[list[int], float]:
    """Rank (1..5) of the gold code per case, 0 when not in the first 5; and ms per query."""
    out = []
    start = time.perf_counter()
    for case in cases:
        codes = ranker(case)[:5]
        out.append(codes.index(case.gold) + 1 if case.gold in codes else 0)
    return out, (time.perf_counter() - start) * 1000 / max(len(cases), 1)


def _ours(index: TargetIndex, c: Case, top: list[tuple[float, float, float]],
          dump: list[dict[str, object]] | None = None) -> list[str]:
    """`mappings.suggest` codes for a case; the first one's raw score, its margin to the
    second and its shown confidence appended to `top` (the case to `dump`)."""
    found = suggest(index, c.text, unit=c.unit, specimen=c.specimen, category=c.category,
                    limit=5)
    raw = [s.raw if s.raw is not None else s.score for s in found]
    top.append((raw[0], margins(raw)[0], found[0].score) if found else (0.0, 0.0, 0.0))
    if dump is not None:
        dump.append({"text": c.text, "unit": c.unit, "specimen": c.specimen, "gold": c.gold,
                     "category": c.category, "found": [(s.code, s.score, s.raw, s.display)
                                                       for s in found]})
    return [s.code for s in found]


def without_language(terms: list[TargetTerm], prefix: str) -> list[TargetTerm]:
    """`terms` without their designations in languages starting with `prefix` (e.g. de-AT)."""
    return [TargetTerm(t.code, t.display, tuple(x for x in t.texts
                                                if not x[1].startswith(prefix)), t.properties)
            for t in terms]


def lookup_codes(terms: list[TargetTerm], cases: list[Case], prefix: str) -> set[int]:
    """Indexes of the cases whose text holds a `prefix` (e.g. de-AT) designation of the gold
    code verbatim (folded): for those a search finds LOINC's own name of the local name."""
    names: dict[str, list[str]] = {}
    for t in terms:
        names[t.code] = [fold(x) for x, label in t.texts if label.startswith(prefix)]
    return {i for i, c in enumerate(cases)
            if any(n and n in fold(c.text) for n in names.get(c.gold, ()))}


def summary(found: list[int]) -> tuple[float, float, float]:
    """top-1, top-5 and MRR (over the first 5) from per-case ranks."""
    n = max(len(found), 1)
    return (sum(r == 1 for r in found) / n, sum(r > 0 for r in found) / n,
            sum(1 / r for r in found if r) / n)


# (gold set, part, measure index into summary(), goal): the goals of issue 17
GOALS = (("ELGA", "held-out", 0, 0.72), ("ELGA", "all", 0, 0.75), ("MIMIC-III", "all", 1, 0.88),
         ("MIMIC-III", "all", 0, 0.6), ("MIMIC-III", "held-out", 0, 0.5))


def goal_lines(measured: dict[tuple[str, str], tuple[float, float, float]]) -> list[str]:
    """One line per goal: the figure, the bound and met / not met (not run when absent)."""
    out = []
    for name, part, i, bound in GOALS:
        r = measured.get((name, part))
        what = f"{name} {part} {('top-1', 'top-5')[i]} >= {bound}"
        out.append(f"- {what}: not run" if r is None else
                   f"- {what}: {r[i]:.3f}, {'met' if r[i] >= bound else 'not met'}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--limit", type=int, default=0, help="first N cases of each set")
    parser.add_argument("--out", type=Path, default=None,
                        help="report file (default bench/mapping_results.md; "
                             "bench/dev_results.md when only development sets run)")
    parser.add_argument("--lab-orders", default=str(LAB_ORDERS),
                        help="LoincUniversalLabOrdersValueSet.csv for the commonness prior "
                             "('' to leave it out)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="leave the Usagi-style baseline out (its index takes minutes)")
    parser.add_argument("--sets", default="mimic,elga",
                        help="gold sets to run: mimic, elga, icd-who, icd-gm2015; development "
                             "sets (bench/dev_sets.py): mimic4, nwicu, arup, labcorp")
    parser.add_argument("--no-glossary", action="store_true",
                        help="leave mappings.glossary out (the lexicon learnt from LOINC's "
                             "variants only)")
    parser.add_argument("--no-lexicon", action="store_true",
                        help="leave the learnt lexicon out (ablation)")
    parser.add_argument("--calibrate", action="store_true",
                        help="fit a calibration on the tuned halves, judge it on the held-out "
                             "halves, write bench/calibration.json and bench/reliability.png")
    parser.add_argument("--write-fit", action="store_true",
                        help="with --calibrate: write the fit (tuned halves only) to "
                             "mappings/calibration_fit.py, the table the product uses")
    parser.add_argument("--variant", default="deDE15",
                        help="label of the German variant loaded into --db (for the report)")
    parser.add_argument("--search-without", default="",
                        help="language prefix (e.g. de-AT) whose designations the lexicon "
                             "learns from but the search does not see")
    parser.add_argument("--dump", type=Path, default=None,
                        help="write every case with its suggestions (JSON lines)")
    parser.add_argument("--icd-db", default=other_eval.DEFAULT_DB,
                        help="database with ICD-10-GM 2025 for the icd-* sets (loaded if absent)")
    args = parser.parse_args()
    wanted = {s.strip() for s in args.sets.split(",") if s.strip()}
    if args.out is None:
        args.out = HERE / ("dev_results.md" if wanted and wanted <= set(dev_sets.READERS)
                           else "mapping_results.md")
    other = [s.strip() for s in args.sets.split(",") if s.strip() in other_eval.SETS]
    if other and not {s.strip() for s in args.sets.split(",")} & {"mimic", "elga"}:
        return _other_targets(args, other)
    t0 = time.perf_counter()
    terms = load_terms(args.db)
    if args.lab_orders and Path(args.lab_orders).exists():
        terms = with_lab_orders(terms, read_lab_orders(args.lab_orders))
    lexicon = Lexicon() if args.no_lexicon else None
    all_terms = terms
    if args.search_without:
        lexicon = lexicon if lexicon is not None else TargetIndex(terms).lexicon
        terms = without_language(terms, args.search_without)
    index = TargetIndex(terms, lexicon=lexicon, glossary=not args.no_glossary)
    t1 = time.perf_counter()
    # the baseline gets every name the store holds for a term (display, SHORTNAME, German
    # long name, COMPONENT); adding our borrowed German components only lowered its scores
    targets = terms
    baseline = None if args.no_baseline else UsagiBaseline(targets)
    t2 = time.perf_counter()
    in_scope = {t.code for t in terms}
    print(f"{len(terms):,} ACTIVE CLASSTYPE 1 LOINC terms; index {t1 - t0:.1f} s "
          f"(incl. reading and learning the lexicon: {len(index.lexicon):,} German words), "
          f"baseline {t2 - t1:.1f} s")
    config = (f"Lexicon learnt from the German designations in the db: "
              f"{len(index.lexicon):,} German words"
              + (" (switched off: --no-lexicon)" if args.no_lexicon else "")
              + "; glossary " + ("off (--no-glossary)" if args.no_glossary
                                 else f"on ({len(GLOSSARY)} entries)") + ".")
    lines = ["# Mapping suggestion accuracy", "",
             f"Target scope: {len(terms):,} ACTIVE LOINC terms with CLASSTYPE 1 "
             f"(LOINC 2.78 + German variant {args.variant}), db `{args.db}`. MRR over the first "
             "5. Each gold set is split by row order: failures were studied and weights tuned "
             "on the 1st half (tuned); the 2nd half is held out and is the headline. MIMIC "
             "cases give FLUID as specimen and CATEGORY as category; ELGA cases give their "
             "section in the list (parent groups) as category. The method reads no gold table; "
             "its hand rules were written from the tuned halves. Commonness prior: "
             + (f"Universal Lab Orders value set `{Path(args.lab_orders).name}` loaded"
                if args.lab_orders else "without the Universal Lab Orders value set") + ". "
             + config
             + (f" Designations {args.search_without}* left out of the search (the lexicon "
                "still learns from them)." if args.search_without else ""), "",
             "| Gold set | part | cases (gold in scope) | method | top-1 | top-5 | MRR "
             "| ms/query |",
             "|---|---|---|---|---|---|---|---|"]
    sets = {s.strip() for s in args.sets.split(",")}

    def base_codes(case: Case) -> list[str]:
        assert baseline is not None
        return [targets[i].code for i in baseline.rank(case.text)]

    measured: dict[tuple[str, str], tuple[float, float, float]] = {}
    tops: dict[str, list[tuple[float, float, float, bool]]] = {"tuned": [], "held-out": []}
    dumps: list[dict[str, object]] = []
    for key, name, read in (("mimic", "MIMIC-III demo", mimic_cases),
                            ("elga", "ELGA Laborparameter", elga_cases),
                            *((k, f"{label} (development)", None)
                              for k, (label, _) in dev_sets.READERS.items())):
        if key not in sets:
            continue
        dev = read is None
        if read is None:
            studied, unstudied = dev_sets.cases(key, Case)
            if args.limit:
                studied, unstudied = studied[:args.limit // 2], unstudied[:args.limit // 2]
            cases = [c for c in (*studied, *unstudied) if isinstance(c, Case)]
            half = len(studied)
        else:
            cases = read()[:args.limit] if args.limit else read()
            half = len(cases) // 2
        top: list[tuple[float, float, float]] = []
        dumped: list[dict[str, object]] | None = [] if args.dump else None
        def ours(c: Case, top: list[tuple[float, float, float]] = top,
                 d: list[dict[str, object]] | None = dumped) -> list[str]:
            return _ours(index, c, top, d)

        methods = [("mappings.suggest", *ranks(cases, ours))]
        if dumped is not None:
            dumps.extend({"set": key, "half": ("dev", "check")[i >= half] if dev else
                          ("tuned", "held-out")[i >= half], **d} for i, d in enumerate(dumped))
        # ELGA names are mostly LOINC's Austrian names: the cases whose text holds no de-AT
        # name of the gold code measure generalisation apart from lookup
        fresh = set(range(len(cases))) - lookup_codes(all_terms, cases, "de-AT")
        for i, (raw, margin, shown) in enumerate(top if not dev else ()):
            tops["tuned" if i < half else "held-out"].append(
                (raw, margin, shown, methods[0][1][i] == 1))
        if baseline is not None:
            methods.append(("Usagi-style TF-IDF", *ranks(cases, base_codes)))
        parts: list[tuple[str, list[int]]] = [
            ("check (not studied)" if dev else "held-out (2nd half)",
             list(range(half, len(cases)))),
            ("dev (studied)" if dev else "tuned (1st half)", list(range(half))),
            ("all", list(range(len(cases))))]
        if key == "elga" and len(fresh) < len(cases):
            parts.append(("held-out, no de-AT name of the gold code in the text",
                          [i for i in range(half, len(cases)) if i in fresh]))
        for part, idx in parts:
            scope = sum(cases[i].gold in in_scope for i in idx)
            for method, found, ms in methods:
                r = summary([found[i] for i in idx])
                if method == "mappings.suggest":
                    measured[(name.split()[0], part.split()[0])] = r
                row = (f"| {name} | {part} | {len(idx)} ({scope}) | {method} | {r[0]:.3f} "
                       f"| {r[1]:.3f} | {r[2]:.3f} | {ms:.1f} |")
                print(row, flush=True)
                lines.append(row)
    lines += ["", "Goals of issue 17 (`mappings.suggest`):", ""] + goal_lines(measured)
    print("\n".join(lines[-len(GOALS) - 1:]))
    if args.calibrate and tops["tuned"] and tops["held-out"]:
        from calibration_report import report

        cal_lines = report(tops["tuned"], tops["held-out"], HERE / "reliability.png",
                           HERE / "calibration.json",
                           ROOT / "mappings" / "calibration_fit.py" if args.write_fit else None)
        print("\n".join(cal_lines))
        lines += ["", *cal_lines]
    if args.dump:
        import json

        args.dump.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dumps),
                             encoding="utf-8")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return _other_targets(args, other) if other else 0


def _other_targets(args: argparse.Namespace, names: list[str]) -> int:
    """The non-LOINC gold sets (bench/other_eval.py) into their section of args.out."""
    found = other_eval.report(names, args.icd_db, None if args.no_baseline else UsagiBaseline,
                              args.limit)
    if found:
        other_eval.write_section(args.out, found)
        print(f"wrote the other-targets section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
