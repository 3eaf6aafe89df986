"""The method variant a blood-cell term is usually reported as when a local name names none.

General laboratory practice, not derived from any evaluation set: LOINC holds a blood count
as a method-less term and as counting-method variants ("by Automated count", "by Manual
count"), and a cell form's presence as a method-less term and "by Light microscopy" (or "by
Automated count"). A local name without a method ("Basophils", "MCH", "Bands",
"Anisocytosis") reports what the laboratory does by routine, and LOINC made the terms of
that routine first: the analyser's counts of the blood count (704-7 Basophils by Automated
count, 785-6 MCH), the manual differential's cell forms (763-3 Band form neutrophils by
Manual count) and the smear's morphology (702-1 Anisocytosis by Light microscopy) all came
with LOINC 1.0, the method-less terms years later (26444-0, 38892-6). So among the method
variants of a blood measurement (SYSTEM Bld, RBC, ...: `BLOOD_SYSTEMS`) by a counting method
or light microscopy (`usual_candidate`), the first made (the lowest LOINC number) is the
usual one and goes before the method-less term (`mappings.variants.prefer_plain_count`).

Body fluids, urine and marrow are counted by hand or by analyser alike: their method-less
term stays.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BLOOD_SYSTEMS", "USUAL_MARGIN", "usual_candidate"]

#: LOINC SYSTEM values of blood and its cells (a super system after "^" aside).
BLOOD_SYSTEMS = frozenset({"Bld", "BldA", "BldV", "BldC", "BldCo", "BldMV", "RBC", "Plt",
                           "WBC"})
#: Score gap within which the usual variant goes first: the variants share every axis but
#: the method, which the name does not say; a wider gap is a closer text match (a German name
#: that says no method) and keeps its place (0.08 cost ELGA's German tuned half 0.005 top-1).
USUAL_MARGIN = 0.03


def usual_candidate(properties: Mapping[str, str]) -> bool:
    """Whether a term may be the usual variant of a blood measurement: a blood SYSTEM and a
    counting method ("Automated count", "Manual count") or light microscopy."""
    method = properties.get("METHOD_TYP", "").lower()
    return properties.get("SYSTEM", "").split("^")[0] in BLOOD_SYSTEMS and (
        "count" in method or method == "microscopy.light")
