"""Ablation: commonness priors learnt from LOINC's release files, on the gold sets' halves.

    python bench/release_signals.py [--sets mimic,elga] [--weight 1 --prior 0.06]

Not used by the product (issue 17: tried, not adopted; `bench/mapping_results.md`). Each
release subset weighs its self-information in the scope, log(N / |subset ∩ scope|): the
Universal Lab Orders value set, the archetypes of LOINC groups (`Group.csv`), the members of
LOINC groups (`GroupLoincTerms.csv.gz`) and MapTo targets (`MapTo.csv`). A term's
commonness is its share of the summed weight; it is added to `mappings.suggest`'s prior
(scaled by --weight, the prior's weight set to --prior). `--consumer` also searches the
English consumer names (`ConsumerName.csv.gz`). Same scope, lexicon, halves and headline
configuration as bench/mapping_eval.py (no glossary, de-AT not searched); prints top-1 /
top-5 of the tuned and held-out halves.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO

import mapping_eval as me
import numpy as np

from mappings import suggest as S

ACCESSORY = me.SHARED / "loinc" / "loinc-2.74-accessory"
#: subset name → (file under the accessory folder, column naming the codes)
SUBSETS = {"lab-orders": ("Other/LoincUniversalLabOrdersValueSet.csv", "LOINC_NUM"),
           "group-archetype": ("GroupFile/Group.csv", "Archetype"),
           "group-member": ("GroupFile/GroupLoincTerms.csv.gz", "LoincNumber"),
           "map-to-target": ("LoincTable/MapTo.csv", "MAP_TO")}


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return path.open(newline="", encoding="utf-8-sig")


def read_subsets(root: Path) -> dict[str, frozenset[str]]:
    out = {}
    for name, (rel, column) in SUBSETS.items():
        with _open(root / rel) as f:
            out[name] = frozenset(c for r in csv.DictReader(f) if (c := (r[column] or "").strip()))
    return out


def commonness(scope: list[str], subsets: Mapping[str, frozenset[str]]) -> dict[str, float]:
    """Each code's share of the summed weights log(N / |subset ∩ scope|) of its subsets."""
    codes = set(scope)
    weights = {n: math.log(len(codes) / k) if 0 < (k := len(m & codes)) < len(codes) else 0.0
               for n, m in subsets.items()}
    total = sum(weights.values()) or 1.0
    out: dict[str, float] = {}
    for name, members in subsets.items():
        for code in members & codes:
            out[code] = out.get(code, 0.0) + weights[name] / total
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=f"sqlite:///{me.HERE / 'data' / 'loinc.db'}")
    parser.add_argument("--sets", default="mimic")
    parser.add_argument("--subsets", default=",".join(SUBSETS))
    parser.add_argument("--weight", type=float, default=1.0)
    parser.add_argument("--prior", type=float, default=0.06)
    parser.add_argument("--consumer", action="store_true")
    args = parser.parse_args()
    terms = me.with_lab_orders(me.load_terms(args.db), me.read_lab_orders(me.LAB_ORDERS))
    if args.consumer:
        with _open(ACCESSORY / "Other" / "ConsumerName.csv.gz") as f:
            names = {r["LoincNumber"]: r["ConsumerName"] for r in csv.DictReader(f)}
        terms = [replace(t, texts=(*t.texts, (names[t.code], "en-US CONSUMER_NAME")))
                 if t.code in names else t for t in terms]
    lexicon = S.TargetIndex(terms).lexicon
    index = S.TargetIndex(me.without_language(terms, "de-AT"), lexicon=lexicon, glossary=False)
    subsets = read_subsets(ACCESSORY)
    chosen = {n: subsets[n] for n in args.subsets.split(",") if n}
    found = commonness([t.code for t in index.terms], chosen)
    extra = np.array([found.get(t.code, 0.0) for t in index.terms], dtype=np.float32)
    index._prior = (index._prior + args.weight * extra) / (1 + args.weight)
    S.W["prior"] = args.prior
    for key, read in (("mimic", me.mimic_cases), ("elga", me.elga_cases)):
        if key not in args.sets.split(","):
            continue
        cases = read()
        half = len(cases) // 2
        found_ranks, _ = me.ranks(cases, lambda c: [s.code for s in S.suggest(
            index, c.text, unit=c.unit, specimen=c.specimen, category=c.category)])
        for part, idx in (("tuned", range(half)), ("held-out", range(half, len(cases)))):
            top1, top5, _ = me.summary([found_ranks[i] for i in idx])
            print(f"{key} {part}: top-1 {top1:.3f}, top-5 {top5:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
