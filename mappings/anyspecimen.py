"""The generic specimen ("Specimen", SYSTEM XXX) where a LOINC class uses it (issue 17).

A name that says only "other material" ("Sondermaterial", "/SM", "specimen") allows a body
fluid or LOINC's generic "Specimen" (XXX); mappings.hints weighs the body fluid first, as
chemistry and haematology name a fluid so. Microbiology names the generic specimen instead:
LOINC's MICRO terms in XXX outnumber those in "Body fld" six to one (LOINC's Austrian names
agree: 272 MICRO terms named "/SM" or "Sondermaterial" are in XXX, 4 in Body fld).
`generic_classes` learns the classes whose terms are more often in XXX than in Body fld from
the targets; for their terms `for_generic` gives XXX the weight of the best system the name
allows (and that system XXX's weight).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from mappings.hints import Axes

__all__ = ["GENERIC", "for_generic", "generic_classes"]

#: LOINC's SYSTEM of an unnamed specimen ("Specimen").
GENERIC = "XXX"
_FLUID = "Body fld"


def generic_classes(properties: Iterable[Mapping[str, str]]) -> frozenset[str]:
    """The CLASS values whose terms are more often in XXX than in Body fld."""
    counts: Counter[tuple[str, str]] = Counter(
        (p.get("CLASS", ""), p.get("SYSTEM", "")) for p in properties)
    return frozenset(cls for cls, system in counts if system == GENERIC
                     and counts[(cls, GENERIC)] > counts[(cls, _FLUID)])


def for_generic(hint: Axes) -> Axes | None:
    """The hint with XXX weighed as the best system it allows and that system as XXX was;
    None when the hint does not allow XXX or weighs it first already."""
    systems = hint.systems
    if GENERIC not in systems:
        return None
    top = max(systems.values())
    if systems[GENERIC] >= top:
        return None
    return replace(hint, systems={s: systems[GENERIC] if w >= top else w
                                  for s, w in systems.items()} | {GENERIC: top})
