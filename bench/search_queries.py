"""The queries of bench/search_bench.py: a documented, reproducible recipe.

1. `CORE`: a hand-written list of what lab and coding staff type, German and English (words,
   prefixes, codes, two-word combinations, umlaut spellings).
2. Sampled with a fixed seed from the release files themselves (never from the database, so
   SQLite and PostgreSQL runs get the same queries): random ACTIVE LOINC terms (English
   LONG_COMMON_NAME and the deDE variant's), random ICD-10-GM 2025 codes and random concepts of
   the synthetic RF2 release. From each display one of: a whole word, a prefix of a word (3–6
   letters), or two words of it in order, each cut to a prefix half of the time; plus exact
   codes and code prefixes (ICD three-character categories, LOINC first digits).
3. ECL roots: concepts of the synthetic release whose `<<` subtree holds 500 to 200,000
   concepts (counted over its active is-a rows), combined with sampled SNOMED text queries.
4. Codes for `$lookup`: random active codes of each system.

The result is cached as JSON next to the release data (bench/data/search/queries-SEED.json).
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

IS_A = "116680003"
_WORD = re.compile(r"[^\W\d_][\w\-]*", re.UNICODE)
_BRACKETS = re.compile(r"\[[^\]]*\]")
_STOP = frozenset("and with the for from oder und mit der die das des von bei nicht".split())

#: (system, query): system is "loinc", "icd" or "snomed"
CORE: tuple[tuple[str, str], ...] = tuple(
    [("loinc", q) for q in (
        "Natrium", "sodium serum", "hämoglobin", "haemoglobin", "hamoglobin", "Kreatinin",
        "creatinine", "glucose urine", "Glucose Urin", "2160-0", "2951-2", "718-7", "Kalium",
        "potassium", "Calcium", "Kalzium", "Magnesium Serum", "Ferritin", "C-reaktives Protein",
        "CRP", "Leukozyten", "leukocytes blood", "Thrombozyten", "platelets", "Bilirubin gesamt",
        "bilirubin total", "Albumin Urin", "albumin urine", "TSH", "Thyreotropin", "free T4",
        "Cholesterol", "cholesterol LDL", "HDL", "Triglycerid", "HbA1c", "Hämoglobin A1c",
        "Laktat", "lactate", "Troponin T", "INR", "Prothrombinzeit", "aPTT", "Vitamin D",
        "Vitamin B12", "Folsäure", "Harnsäure", "uric acid", "Lipase", "ALT",
        "Alanin-Aminotransferase", "GGT", "alkaline phosphatase", "Blutgruppe", "Erythrozyten Urin",
        "pH Urin", "Gluc", "Kreat Seru", "Natr Urin", "hemoglobin blood", "Ferrit",
        "Procalcitonin", "Blutkultur", "SARS-CoV-2 RNA", "Gerinnung")]
    + [("icd", q) for q in (
        "E11", "E11.9", "Diabetes Typ", "diab mell", "Diabetes mellitus", "Hypertonie", "I10",
        "Herzinsuffizienz", "Vorhofflimmern", "Pneumonie", "COVID", "J18", "akuter Myokardinfarkt",
        "I21", "Migräne", "Kopfschmerz", "Rückenschmerzen", "Depression", "depressive Episode",
        "F32", "Asthma", "COPD", "chronische Niereninsuffizienz", "N18", "Adipositas",
        "Hirninfarkt", "I63", "Sepsis", "Harnwegsinfektion", "Femurfraktur", "Demenz",
        "Alzheimer", "bösartige Neubildung Brustdrüse", "C50", "Appendizitis", "Z00")]
    + [("snomed", q) for q in (
        "chronic kidney", "fracture", "acute infection", "heart", "lung lesion", "left hand",
        "biopsy skin", "repair tendon", "chron", "neoplasm lung")])


@dataclass(frozen=True, slots=True)
class Query:
    system: str
    text: str
    origin: str  # core | word | prefix | pair | code | code-prefix


@dataclass(slots=True)
class QuerySet:
    queries: list[Query]
    ecl_roots: list[tuple[str, int]]  # (concept, subtree size)
    lookups: dict[str, list[str]]  # system -> codes

    def to_json(self) -> str:
        return json.dumps({"queries": [asdict(q) for q in self.queries],
                           "ecl_roots": self.ecl_roots, "lookups": self.lookups}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> QuerySet:
        raw = json.loads(text)
        return cls([Query(**q) for q in raw["queries"]],
                   [(c, n) for c, n in raw["ecl_roots"]], raw["lookups"])


def _csv_rows(path: Path) -> Iterator[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def _text_query(rnd: random.Random, display: str) -> tuple[str, str] | None:
    """One query from a display: (text, origin), or None when it has no usable word."""
    words = [w for w in _WORD.findall(_BRACKETS.sub(" ", display))
             if len(w) >= 3 and w.lower() not in _STOP]
    if not words:
        return None
    pick = rnd.random()

    def cut(w: str) -> str:
        return w[:rnd.randint(3, min(6, len(w)))] if len(w) > 3 else w

    if pick < 0.35 or len(words) < 2:
        return (rnd.choice(words), "word") if pick < 0.2 or len(words) < 2 else \
            (cut(rnd.choice(words)), "prefix")
    i = rnd.randrange(len(words) - 1)
    j = rnd.randrange(i + 1, len(words))
    a, b = words[i], words[j]
    if rnd.random() < 0.5:
        a, b = cut(a), cut(b)
    return f"{a} {b}", "pair"


def _text_queries(rnd: random.Random, system: str, displays: list[str], n: int) -> list[Query]:
    out: list[Query] = []
    seen: set[str] = set()
    while len(out) < n:
        made = _text_query(rnd, rnd.choice(displays))
        if made and made[0].lower() not in seen:
            seen.add(made[0].lower())
            out.append(Query(system, made[0], made[1]))
    return out


def loinc_displays(core: Path, german: Path) -> tuple[list[str], list[str], list[str]]:
    """(active codes, English names, German names) of the LOINC release files."""
    codes, english = [], []
    for row in _csv_rows(core):
        if row["STATUS"] == "ACTIVE":
            codes.append(row["LOINC_NUM"])
            english.append(row["LONG_COMMON_NAME"])
    active = set(codes)
    deutsch = [r["LONG_COMMON_NAME"] for r in _csv_rows(german)
               if r["LOINC_NUM"] in active and r["LONG_COMMON_NAME"]]
    return codes, english, deutsch


def icd_displays(kodes: Path) -> tuple[list[str], list[str]]:
    """(codes, displays) of a BfArM kodes file (`;`-separated, code in field 7, title in 9)."""
    codes, displays = [], []
    with gzip.open(kodes, "rt", encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\r\n").split(";")
            codes.append(fields[6])
            displays.append(fields[8])
    return codes, displays


def snomed_release(rf2: Path, rnd: random.Random, sample: int
                   ) -> tuple[list[str], list[str], list[tuple[str, int]]]:
    """(sampled active concepts, their active synonyms, ECL roots with subtree sizes)."""
    term = rf2 / "Snapshot" / "Terminology"
    concepts = []
    with next(term.glob("sct2_Concept_Snapshot*.txt")).open() as f:
        next(f)
        for line in f:
            cid, _, active, *_ = line.split("\t", 3)
            if active == "1":
                concepts.append(cid)
    chosen = set(rnd.sample(concepts, sample))
    synonyms: list[str] = []
    with next(term.glob("sct2_Description_Snapshot*.txt")).open() as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if parts[2] == "1" and parts[4] in chosen and "(" not in parts[7]:
                synonyms.append(parts[7])
    children: dict[str, list[str]] = defaultdict(list)
    with next(term.glob("sct2_Relationship_Snapshot*.txt")).open() as f:
        next(f)
        for line in f:
            parts = line.split("\t", 8)
            if parts[2] == "1" and parts[7] == IS_A:
                children[parts[5]].append(parts[4])
    roots: list[tuple[str, int]] = []
    for cid in concepts[1:400]:  # the earliest concepts head the biggest subtrees
        size = _subtree(children, cid)
        if 500 <= size <= 200_000:
            roots.append((cid, size))
    rnd.shuffle(roots)
    return sorted(chosen), synonyms, sorted(roots[:8], key=lambda r: -r[1])


def _subtree(children: dict[str, list[str]], root: str) -> int:
    seen = {root}
    todo = deque([root])
    while todo:
        for child in children.get(todo.popleft(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return len(seen)


def build(loinc_core: Path, loinc_german: Path, icd_kodes: Path, rf2: Path,
          seed: int = 13) -> QuerySet:
    """The query set: CORE plus the sampled queries (about 240 in all)."""
    rnd = random.Random(seed)
    queries = [Query(s, q, "core") for s, q in CORE]
    codes, english, german = loinc_displays(loinc_core, loinc_german)
    queries += _text_queries(rnd, "loinc", german, 40)
    queries += _text_queries(rnd, "loinc", english, 40)
    queries += [Query("loinc", c, "code") for c in rnd.sample(codes, 8)]
    queries += [Query("loinc", c[:4], "code-prefix") for c in rnd.sample(codes, 4)]
    icd_codes, icd_names = icd_displays(icd_kodes)
    queries += _text_queries(rnd, "icd", icd_names, 30)
    queries += [Query("icd", c, "code") for c in rnd.sample(icd_codes, 6)]
    queries += [Query("icd", c[:3], "code-prefix") for c in rnd.sample(icd_codes, 6)]
    sct_codes, synonyms, roots = snomed_release(rf2, rnd, 2000)
    queries += _text_queries(rnd, "snomed", synonyms, 30)
    queries += [Query("snomed", c, "code") for c in rnd.sample(sct_codes, 5)]
    lookups = {"loinc": rnd.sample(codes, 200), "icd": rnd.sample(icd_codes, 200),
               "snomed": rnd.sample(sct_codes, 200)}
    return QuerySet(queries, roots, lookups)


def cached(path: Path, loinc_core: Path, loinc_german: Path, icd_kodes: Path, rf2: Path,
           seed: int = 13) -> QuerySet:
    """`build` once; later runs read the JSON (delete it to sample again)."""
    if path.exists():
        return QuerySet.from_json(path.read_text())
    qs = build(loinc_core, loinc_german, icd_kodes, rf2, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(qs.to_json())
    return qs
