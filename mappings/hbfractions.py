"""A form of haemoglobin named with no unit: its share of the total haemoglobin.

General haematology knowledge, not derived from any evaluation set: haemoglobin variants
(A, A1c, A2, C, E, F, S, …, separated by HPLC or electrophoresis) are reported as a
percentage of the total haemoglobin, LOINC's "Hemoglobin X/Hemoglobin.total" (PROPERTY MFr);
so are the derivatives a blood gas analyser's CO-oximetry reports (carboxy-, met-,
oxyhaemoglobin: "Carboxyhemoglobin/Hemoglobin.total"). Total haemoglobin is a mass
concentration. A name saying a screen or presence is read by its own words (mappings.hints).
"""

from __future__ import annotations

import re

from mappings.normalize import fold

__all__ = ["TOTAL_HB", "hemoglobin_fraction"]

#: Words of (total) haemoglobin.
TOTAL_HB = frozenset("hemoglobin haemoglobin hb hgb thb".split())
# a variant's letter after the haemoglobin word: "A", "A1c", "A2", "S", "F"
_VARIANT = re.compile(r"^[a-z](?:\d[a-z]?)?$")
# the variants written as one word ("HbA1c", "HbF"); "HBs", "HBe", "HBc" are hepatitis B
_RUN_ON = frozenset("hba1c hba1 hba2 hbf".split())
# a form named before the haemoglobin word: "Glycated Hemoglobin" (A1c), "Fetal Hb" (F)
_FORMS = frozenset("glycated glycosylated glykiertes glykosyliertes fetal fetales foetal".split())


def hemoglobin_fraction(words: list[str], category: str | None) -> bool:
    """Whether a name (its `words`, mappings.normalize.base_tokens) reports a form of
    haemoglobin as a share of the total: a variant ("Hemoglobin F", "Hgb A2", "HbA1c",
    "Glycated Hemoglobin"), or
    in a blood gas section a derivative ("Carboxyhemoglobin", "MetHb")."""
    if set(words) & _RUN_ON or any(
            w in TOTAL_HB and _VARIANT.match(n) or w in _FORMS and n in TOTAL_HB
            for w, n in zip(words, words[1:], strict=False)):
        return True
    return bool(category) and "gas" in fold(category or "") and any(
        w.endswith(("hemoglobin", "haemoglobin", "hb")) and w not in TOTAL_HB for w in words)
