"""The generic specimen ("Specimen", SYSTEM XXX) where a LOINC class uses it (issue 17).

A name that says only "other material" ("Sondermaterial", "/SM", "specimen") allows a body
fluid or LOINC's generic "Specimen" (XXX); mappings.hints weighs the body fluid first, as
chemistry and haematology name a fluid so. Microbiology names the generic specimen instead:
LOINC's MICRO terms in XXX outnumber those in "Body fld" six to one (LOINC's Austrian names
agree: 272 MICRO terms named "/SM" or "Sondermaterial" are in XXX, 4 in Body fld).
`generic_classes` learns the classes whose terms are more often in XXX than in Body fld from
the targets; for their terms `for_generic` gives XXX the weight of the best system the name
allows (and that system XXX's weight).

A specimen given apart only as "a body fluid" ("Other Body Fluid": Body fld) names no site:
an organism test of it is LOINC's "in Specimen" term too. `for_generic` weighs XXX as Body fld
there, only for the classes whose terms are in XXX `FLUID_SHARE` times as often as in Body fld
(MICRO: 2224 to 384), so a class that keeps its body-fluid terms (chemistry, cell markers)
is left as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace

from mappings.hints import Axes

__all__ = ["FLUID_SHARE", "GENERIC", "GenericClasses", "for_generic", "generic_classes"]

#: LOINC's SYSTEM of an unnamed specimen ("Specimen").
GENERIC = "XXX"
_FLUID = "Body fld"
#: How many times as often a class's terms must be in XXX as in Body fld for a body fluid
#: said only as such to stand for XXX.
FLUID_SHARE = 4.0


class GenericClasses(frozenset[str]):
    """The CLASS values whose terms are more often in XXX than in Body fld; `fluid`: those
    whose terms are in XXX `FLUID_SHARE` times as often."""

    fluid: frozenset[str]

    def __new__(cls, classes: Iterable[str] = (), fluid: Iterable[str] = ()) -> GenericClasses:
        out = super().__new__(cls, classes)
        out.fluid = frozenset(fluid)
        return out


def generic_classes(properties: Iterable[Mapping[str, str]]) -> GenericClasses:
    """The CLASS values whose terms are more often in XXX than in Body fld (and `fluid`)."""
    counts: Counter[tuple[str, str]] = Counter(
        (p.get("CLASS", ""), p.get("SYSTEM", "")) for p in properties)
    more = {cls for cls, system in counts if system == GENERIC
            and counts[(cls, GENERIC)] > counts[(cls, _FLUID)]}
    return GenericClasses(more, (cls for cls in more if counts[(cls, GENERIC)]
                                 >= FLUID_SHARE * counts[(cls, _FLUID)]))


def for_generic(hint: Axes, classes: GenericClasses | None = None
                ) -> tuple[Axes, frozenset[str]] | None:
    """The hint with XXX weighed as the best system it allows and that system as XXX was,
    and the classes (of `classes`) whose terms it is for; None when the hint does not allow
    XXX or weighs it first already. A body fluid given apart only as such (Body fld first, no
    XXX, not from the name: "Body Fluid Culture" names its term) allows XXX alike for
    `classes.fluid`."""
    systems = hint.systems
    classes = classes if classes is not None else GenericClasses()
    if GENERIC not in systems:
        if hint.system_from_text or not classes.fluid or not systems \
                or max(systems, key=lambda k: systems[k]) != _FLUID:
            return None
        return replace(hint, systems={**systems, GENERIC: max(systems.values())}), classes.fluid
    top = max(systems.values())
    if systems[GENERIC] >= top:
        return None
    return replace(hint, systems={s: systems[GENERIC] if w >= top else w
                                  for s, w in systems.items()} | {GENERIC: top}), classes
