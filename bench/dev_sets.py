"""Development gold sets for mapping suggestions: more local names with curated LOINC codes,
for studying failures and tuning without touching the held-out halves of the goal sets.

    python bench/mapping_eval.py --sets mimic4,nwicu,arup,labcorp --no-baseline

Read from `../shared/data/local-codes` (internal use only; never copied into the repository):

* `mimic4`: MIMIC-IV `d_labitems_to_loinc.csv` (MIT-LCP), items **not** in the MIMIC-III demo
  (neither the itemid nor the label, case-folded), with FLUID as specimen, CATEGORY as
  category and the unit;
* `nwicu`: Northwestern ICU lab items → LOINC (SSSOM exactMatch), labels not in MIMIC-III;
* `arup`: ARUP Laboratories' LOINC report (result name, unit, result LOINC);
* `labcorp`: LabCorp's test compendium (result name, unit, result LOINC; the order name as
  category, as a catalogue section would give it).

Each set is split by a stable hash of the local name, not by row order (a catalogue sorted by
code would put whole sections in one half): `dev` (studied) and `check` (not studied). These
sets judge no goal of issue 17; they tell whether a change generalises beyond the tuned halves.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
LOCAL = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared")) / "data" / "local-codes"
MIMIC = LOCAL / "mimic-iii-demo-d_labitems" / "D_LABITEMS.csv"

#: a LOINC code's syntax (the compendia hold "N/A", "Pending" and blanks as well)
LOINC_CODE = re.compile(r"\d{1,7}-\d")
#: largest number of cases read from one set (a stable, hash-chosen sample of bigger sets)
LIMIT = 2000


class CaseMaker(Protocol):
    def __call__(self, text: str, unit: str | None, specimen: str | None, gold: str,
                 category: str | None = None) -> object: ...


def in_dev_half(text: str) -> bool:
    """True for the studied half (`dev`), false for `check`: a stable hash of the name."""
    return hashlib.sha1(text.strip().lower().encode()).digest()[0] % 2 == 0


def _mimic3() -> tuple[set[str], set[str]]:
    with MIMIC.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["itemid"] for r in rows}, {r["label"].strip().lower() for r in rows}


def _sample(rows: list[tuple[str, str | None, str | None, str, str | None]]
            ) -> Iterator[tuple[str, str | None, str | None, str, str | None]]:
    """Distinct (name, unit, gold) rows, at most LIMIT, chosen by a stable hash."""
    seen: set[tuple[str, str | None, str]] = set()
    unique = []
    for r in rows:
        key = (r[0].strip().lower(), r[1], r[3])
        if r[0].strip() and LOINC_CODE.fullmatch(r[3]) and key not in seen:
            seen.add(key)
            unique.append(r)
    if len(unique) > LIMIT:
        unique.sort(key=lambda r: hashlib.sha1(f"{r[0]}|{r[3]}".encode()).hexdigest())
        unique = unique[:LIMIT]
    yield from unique


def mimic4() -> list[tuple[str, str | None, str | None, str, str | None]]:
    ids, labels = _mimic3()
    path = LOCAL / "mimic-iv-concept-maps" / "d_labitems_to_loinc.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["label"], r["valueuom"] or None, r["fluid"] or None,
                 r["omop_concept_code"].strip(), r["category"] or None)
                for r in csv.DictReader(f)
                if r["omop_vocabulary_id"] == "LOINC" and r["omop_concept_code"].strip()
                and r["itemid (omop_source_code)"] not in ids
                and r["label"].strip().lower() not in labels]


def nwicu() -> list[tuple[str, str | None, str | None, str, str | None]]:
    _, labels = _mimic3()
    path = LOCAL / "nwicu-concept-maps" / "nwicu_labevents_to_loinc.csv"
    with path.open(newline="", encoding="utf-8") as f:
        return [(r["subject_label"], None, None, r["object_id"].removeprefix("loinc:"), None)
                for r in csv.DictReader(f)
                if r["predicate_id"] == "skos:exactMatch" and r["object_id"].startswith("loinc:")
                and r["subject_label"].strip().lower() not in labels]


def arup() -> list[tuple[str, str | None, str | None, str, str | None]]:
    path = LOCAL / "us-lab-compendia-labcorp-arup" / "LOINC-codes_arup.csv.gz"
    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        return [(r["Result Test Name"], r["Units of Measure"] or None, None,
                 r["Result LOINC Code"].strip(), None) for r in csv.DictReader(f)]


def labcorp() -> list[tuple[str, str | None, str | None, str, str | None]]:
    path = (LOCAL / "us-lab-compendia-labcorp-arup"
            / "Labcorp_Test_Compendium_with_LOINC_3.23.21.csv.gz")
    with gzip.open(path, "rt", newline="", encoding="utf-8") as f:
        return [(r["Result Code Name"], r["UofM"] or None, None, r["Result LOINC"].strip(),
                 r["Order Code Name"] or None) for r in csv.DictReader(f)]


READERS: dict[str, tuple[str, Callable[[], list[tuple[str, str | None, str | None, str,
                                                         str | None]]]]] = {
    "mimic4": ("MIMIC-IV (not in MIMIC-III)", mimic4),
    "nwicu": ("NWICU", nwicu),
    "arup": ("ARUP", arup),
    "labcorp": ("LabCorp", labcorp),
}


def cases(key: str, make: CaseMaker) -> tuple[list[object], list[object]]:
    """The (dev, check) cases of one development set, built with `make` (mapping_eval.Case)."""
    if not LOCAL.exists():
        raise SystemExit(f"{LOCAL} is absent: the development sets read it")
    dev: list[object] = []
    check: list[object] = []
    for text, unit, specimen, gold, category in _sample(READERS[key][1]()):
        (dev if in_dev_half(text) else check).append(make(text, unit, specimen, gold, category))
    return dev, check

