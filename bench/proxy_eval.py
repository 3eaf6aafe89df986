"""A proxy for the generalisation of mapping suggestions to LOINC classes, built from LOINC's
own release data only (no gold row is read).

    python bench/proxy_eval.py [--db sqlite:///bench/data/loinc.db] [--per-class 120]
                               [--seed 17] [--classes ALLERGY,MICRO,...] [--forms long,short]
                               [--keep-own] [--dump PATH]

How it is built:

* Cases: for each LOINC CLASS in `--classes` (default the classes of allergy, infection
  serology and microbiology, susceptibility, urinalysis and drug/toxicology terms, plus CHEM
  and HEM/BC as controls), `--per-class` terms drawn at random (`random.Random(--seed)`) from
  the ACTIVE CLASSTYPE 1 terms that have a German-Germany name (deDE15, LinguisticVariants/
  of the 2.74 accessory files). The query is built from that deDE15 row:
  - `long`: its German LONG_COMMON_NAME as it stands ("Birke-IgE-Antikörper [Einheiten/
    Volumen] in Serum");
  - `short`: what a lab list writes: the German COMPONENT (parts joined by spaces, "Birke Ak
    IgE"), the German SYSTEM (none for "XXX") and the German METHOD_TYP when there is one,
    with a unit typical of the term's PROPERTY (UNITS below: general lab knowledge, e.g.
    arbitrary concentration → U/ml; "{neg,pos}" for presence, "Titer" for a titer, none for
    other ordinal or nominal terms) and the German CLASS as the section.
* Search: as the headline of bench/mapping_eval.py (`--search-without de-AT`): the lexicon
  is learnt from every German designation in --db (deDE15 and deAT24), the search sees no
  de-AT designation, and, unless `--keep-own`, the sampled terms lose their own German
  designations too (their texts would otherwise hold the query itself): what is measured
  is whether a German name is carried over to the English term by what LOINC's variants
  teach about other terms. With `--keep-own` the own deDE15 name stays: that measures the
  choice among the variants (property, scale, method) of a term found by its name.
* Measure: top-1 and top-5 of the sampled code among `mappings.suggest`'s first 5, per class
  and form. `--dump` writes every case (JSON lines) for failure study: these are LOINC terms,
  not gold rows, and may be studied freely.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # mapping_eval, which puts the project root on the path too

from mapping_eval import (  # noqa: E402  (its names of mappings.suggest, as it uses them)
    LAB_ORDERS,
    SHARED,
    TargetIndex,
    TargetTerm,
    load_terms,
    read_lab_orders,
    suggest,
    with_lab_orders,
)

DEDE = (SHARED / "loinc" / "loinc-2.74-accessory" / "LinguisticVariants"
        / "deDE15LinguisticVariant.csv.gz")
CLASSES = ("ALLERGY", "MICRO", "SERO", "UA", "ABXBACT", "DRUG/TOX", "CHEM", "HEM/BC")
#: A unit a lab list typically gives for a PROPERTY (none for ordinal / nominal results).
UNITS = {"MCnc": "mg/l", "SCnc": "mmol/l", "CCnc": "U/l", "ACnc": "U/ml", "NCnc": "/nl",
         "NFr": "%", "Titr": "Titer", "MRat": "mg/24h", "SRat": "mmol/24h", "PPres": "mmHg",
         "LsCnc": "pH", "Time": "s", "EntVol": "fl", "EntMass": "pg", "MCnt": "mg/g"}


def sample(terms: list[TargetTerm], classes: tuple[str, ...], per_class: int, seed: int
           ) -> list[tuple[str, dict[str, str]]]:
    """(class, deDE15 row) for `per_class` random in-scope terms of each class."""
    in_scope = {t.code: t for t in terms}
    by_class: dict[str, list[dict[str, str]]] = defaultdict(list)
    with gzip.open(DEDE, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            term = in_scope.get(row["LOINC_NUM"])
            if term is not None and term.properties.get("CLASS") in classes:
                by_class[term.properties["CLASS"]].append(row)
    rng = random.Random(seed)
    out = []
    for cls in classes:
        rows = sorted(by_class.get(cls, []), key=lambda r: r["LOINC_NUM"])
        out.extend((cls, r) for r in rng.sample(rows, min(per_class, len(rows))))
    return out


def query(row: dict[str, str], form: str, prop: str, scale: str
          ) -> tuple[str, str | None, str | None]:
    """(text, unit, category) of a deDE15 row in one form (see the module docstring)."""
    if form == "long":
        return row["LONG_COMMON_NAME"], None, None
    component = " ".join(p for p in row["COMPONENT"].replace("^", ".").split(".") if p)
    system = row["SYSTEM"].split(".")[0] if row["SYSTEM"] not in ("XXX", "") else ""
    unit = UNITS.get(prop) if scale in ("Qn", "SemiQn") or prop == "Titr" else \
        "{neg,pos}" if prop == "PrThr" else None
    return " ".join(x for x in (component, system, row["METHOD_TYP"]) if x), unit, \
        row["CLASS"] or None


def hidden(terms: list[TargetTerm], codes: set[str], keep_own: bool) -> list[TargetTerm]:
    """The searched terms: no de-AT designation; the sampled codes without their German ones
    (unless keep_own)."""
    out = []
    for t in terms:
        drop = ("de",) if t.code in codes and not keep_own else ("de-AT",)
        out.append(TargetTerm(t.code, t.display,
                              tuple(x for x in t.texts if not x[1].startswith(drop)),
                              t.properties))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--per-class", type=int, default=120)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--classes", default=",".join(CLASSES))
    parser.add_argument("--forms", default="long,short")
    parser.add_argument("--keep-own", action="store_true",
                        help="keep the sampled terms' own deDE15 names in the search")
    parser.add_argument("--dump", type=Path, default=None)
    args = parser.parse_args()
    t0 = time.perf_counter()
    terms = load_terms(args.db)
    if Path(LAB_ORDERS).exists():
        terms = with_lab_orders(terms, read_lab_orders(LAB_ORDERS))
    classes = tuple(c.strip() for c in args.classes.split(",") if c.strip())
    cases = sample(terms, classes, args.per_class, args.seed)
    lexicon = TargetIndex(terms).lexicon
    index = TargetIndex(hidden(terms, {r["LOINC_NUM"] for _, r in cases}, args.keep_own),
                        lexicon=lexicon, glossary=False)
    props = {t.code: t.properties for t in terms}
    print(f"{len(cases)} cases; index {time.perf_counter() - t0:.0f} s", flush=True)
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    hits: dict[tuple[str, str], list[int]] = defaultdict(list)
    dump = []
    for cls, row in cases:
        code = row["LOINC_NUM"]
        p = props[code]
        for form in forms:
            text, unit, category = query(row, form, p.get("PROPERTY", ""),
                                         p.get("SCALE_TYP", ""))
            found = [s.code for s in suggest(index, text, unit=unit, category=category,
                                             limit=5)]
            rank = found.index(code) + 1 if code in found else 0
            hits[(cls, form)].append(rank)
            if args.dump:
                dump.append({"class": cls, "form": form, "text": text, "unit": unit,
                             "gold": code, "rank": rank, "found": found})
    lines = ["| class | form | n | top-1 | top-5 |", "|---|---|---|---|---|"]
    for form in forms:
        for cls in (*classes, "all", "new classes"):
            ranks = [r for (c, f), rs in hits.items() if f == form and (
                c == cls or cls == "all" or cls == "new classes" and c not in ("CHEM", "HEM/BC"))
                     for r in rs]
            if ranks:
                lines.append(f"| {cls} | {form} | {len(ranks)} | "
                             f"{sum(r == 1 for r in ranks) / len(ranks):.3f} | "
                             f"{sum(r > 0 for r in ranks) / len(ranks):.3f} |")
    print("\n".join(lines))
    if args.dump:
        args.dump.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dump),
                             encoding="utf-8")
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
