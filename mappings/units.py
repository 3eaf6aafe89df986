"""What a local unit says beyond its UCUM class: logarithmic units and the reference a unit
names after the numbers (UCUM annotations, or plain words as catalogues write them).

General UCUM and laboratory knowledge, not derived from any evaluation set:

* a logarithmic unit ("log10 copies/mL", "log IU/mL") reports the log of a number or of
  arbitrary units per volume: LOINC's PROPERTY LnCnc or LaCnc (`log_property`);
* an amount per mass of creatinine ("umol/g CRT", "mg/g creat", "mmol/mol{creat}") reports a
  ratio to creatinine: LOINC's COMPONENT "X/Creatinine", PROPERTY MRto (mass per mass), SRto
  (moles per moles) or Ratio (moles per mass)
  (`per_creatinine`); the word creatinine joins the name (`with_unit_words`);
* any other word after a unit ("mU/g Hb", "nmol/L RBC") names the reference, not the
  unit's class (`without_reference`).
"""

from __future__ import annotations

import re

__all__ = ["log_property", "per_creatinine", "plural_short", "with_unit_words",
           "without_reference"]

_LOG = re.compile(r"^\s*log(?:10|(?![a-z]))\s*(.*)$", re.IGNORECASE)
# a plain word after a unit names what the amount is per ("mU/g Hb", "nmol/L RBC")
_TRAILING_WORD = re.compile(r"(?<=\S)\s+[a-z]+\.?$", re.IGNORECASE)
# an amount per mass or per amount, then the reference: {creat}, creat, crt, cr, creatinine
_PER_CREATININE = re.compile(
    r"^[a-zµμ]*?(?P<num>g|mol|eq|u|iu|kat)/[a-z]*?(?P<den>g|mol)\s*"
    r"(?:\{\s*)?(?:creat(?:inine)?|crt|cr|crea)\b", re.IGNORECASE)


def log_property(unit: str | None) -> set[str]:
    """LOINC PROPERTY of a logarithmic unit: LnCnc for counts (copies, cells, /mL),
    LaCnc for arbitrary units (IU/mL); empty when the unit is not logarithmic."""
    m = _LOG.match(unit or "")
    if not m:
        return set()
    rest = m.group(1).lower().replace("[", "").replace("]", "")
    return {"LaCnc"} if re.match(r"^(k|m)?(iu|u|au)\b", rest) else {"LnCnc"}


def per_creatinine(unit: str | None) -> str | None:
    """The LOINC PROPERTY of an amount per amount of creatinine: MRto for mass per mass
    ("ug/g CRT"), SRto for moles per moles ("mmol/mol{creat}"), Ratio for the mixed forms
    ("umol/g Cr"); None for any other unit."""
    m = _PER_CREATININE.match((unit or "").strip())
    if not m:
        return None
    kinds = {m.group("num").lower(), m.group("den").lower()}
    return "MRto" if kinds == {"g"} else "SRto" if kinds <= {"mol", "eq"} else "Ratio"


def with_unit_words(text: str, unit: str | None) -> str:
    """The name with the analyte words its unit adds: "creatinine" for a ratio to creatinine
    ("Proline, Urine" in umol/g CRT names LOINC's "Proline/Creatinine")."""
    if per_creatinine(unit) and "creatinine" not in text.lower():
        return f"{text} creatinine"
    return text


def plural_short(tok: str, word: str) -> bool:
    """Whether `tok` is a plural short form of `word` ("basos" of basophils, "myelos" of
    myelocytes): a stem of 4+ letters that `word` begins with, then "s"."""
    return tok.endswith("s") and len(tok) >= 5 and word.startswith(tok[:-1]) \
        and len(word) > len(tok)


def without_reference(unit: str) -> str:
    """A unit without a plain word naming its reference after it ("mU/g Hb" → "mU/g")."""
    head = _TRAILING_WORD.sub("", unit.strip())
    return head if "/" in head else unit
