"""A coagulation factor or inhibitor named with no unit: its activity as a share of normal.

General coagulation laboratory knowledge, not derived from any evaluation set: the clotting
factors (II, V, VII to XIII), the inhibitors antithrombin, protein C and protein S,
plasminogen, alpha-2-antiplasmin, prekallikrein and kininogen are measured by an activity
assay (clotting or chromogenic) calibrated against pooled normal plasma and reported as a
percentage of normal: LOINC's "… actual/Normal" terms, PROPERTY RelCCnc (a chromogenic or
enzymatic assay), RelTime (read off a clotting time) or RelACnc (arbitrary units). A name
that says an antigen, an antibody, an inhibitor titre, a gene variant, a clotting time or a
free or total protein measures something else; a unit, when given, decides by itself
(mappings.hints).
"""

from __future__ import annotations

import re

from mappings.normalize import fold

__all__ = ["RELATIVE", "relative_activity"]

#: LOINC's properties of an activity relative to normal plasma.
RELATIVE = frozenset({"RelCCnc", "RelTime", "RelACnc"})

# "Factor VIII", "Faktor 2", "FVIII" is left to the abbreviations
_FACTOR = re.compile(r"\bfa[ck]tor[\s-]*(?:[ivx]+|\d+)\b")
_PROTEIN = re.compile(r"\bprotein[\s-]*[cs]\b")
_ACTIVITIES = frozenset("antithrombin antiplasmin plasminogen prekallikrein kininogen".split())
# what makes the name another measurement than the activity
_OTHER = frozenset(
    "ag antigen antigens ab antibody antibodies ak antikoerper inhibitor inhibitors "
    "hemmkoerper bethesda time zeit mut mutation leiden gene genotyp resistance apc free "
    "frei freies total gesamt activator aktivator panel platelet thrombozyten".split())


def relative_activity(text: str, toks: set[str]) -> tuple[set[str], str] | None:
    """(the relative PROPERTY values, "Qn") for a name of a coagulation factor or inhibitor
    activity with no unit ("Factor VIII", "Antithrombin", "Protein C, Functional"), else
    None. `toks`: the name's words."""
    if toks & _OTHER:
        return None
    folded = fold(text)
    if toks & _ACTIVITIES or _FACTOR.search(folded) or _PROTEIN.search(folded):
        return set(RELATIVE), "Qn"
    return None
