"""The lower places of a suggestion list: the variants of the first suggestion's measurement.

A local name without a unit or method ("Basophils", specimen Blood) names an analyte and a
specimen; LOINC holds several terms for it that differ only in axes the name leaves open
(PROPERTY: percentage or count; METHOD_TYP: automated or manual count, light microscopy).
The ranker orders those by weak signals (a property guessed from the name, the commonness
prior), so the first places tend to hold near-duplicates of one form while the other forms
fall behind terms for narrower analytes ("Immature basophils", "CD5 blasts") that only share
a word with the name. A curator choosing among the variants needs to see them side by side.

`with_variants` keeps the first `KEEP` places as ranked and orders the rest with the other
variants of the first suggestion's measurement counted `LEAD` higher than they score: such a
variant goes before another candidate scored up to `LEAD` above it. A variant is a term with
the first suggestion's COMPONENT (a per-hundred base aside: "Basophils/100 leukocytes" and
"Basophils" are one analyte) and its SYSTEM or one the specimen allows, and a PROPERTY the
local unit does not rule out. Only when the name names the first suggestion's COMPONENT in
full: a first suggestion that is only a partial match says little about the measurement.
The first two places (and so the score margin the calibration reads) never change, and no
score changes.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence

from mappings.hints import Axes
from mappings.variants import analyte_part

__all__ = ["KEEP", "LEAD", "with_variants"]

#: Places kept as ranked (the calibration reads the first score and its margin to the second).
KEEP = 2
#: How much higher a variant of the first suggestion's measurement counts in the lower places.
LEAD = 0.08


def with_variants(ranked: Sequence[tuple[float, int, str]],
                  term: Callable[[int], tuple[str, Mapping[str, str], str]],
                  hint: Axes, named: Container[int], keep: int | None = None,
                  lead: float | None = None) -> list[tuple[float, int, str]]:
    """`ranked` (best first: score, term index, why) with the places after the first `keep`
    reordered: the other variants of the first suggestion's measurement count `lead` higher.
    `term(i)`: the code, LOINC properties and COMPONENT of term i; `hint`: what the query
    says about the axes (the SYSTEM weights of the specimen, the PROPERTY values of the
    unit); `named`: the terms whose COMPONENT the name names in full."""
    keep = KEEP if keep is None else keep
    lead = LEAD if lead is None else lead
    out = list(ranked)
    if len(out) <= keep + 1 or out[0][1] not in named or hint.unit:
        return out
    _, first, component = term(out[0][1])
    component = analyte_part(component).strip()
    if not component:
        return out
    system = first.get("SYSTEM", "")

    def variant(i: int) -> bool:
        _, p, comp = term(i)
        s = p.get("SYSTEM", "")
        return analyte_part(comp).strip() == component and (
            s == system or hint.systems.get(s, 0.0) > 0)

    rest = [(score + lead * variant(i), pos, (score, i, why))
            for pos, (score, i, why) in enumerate(out[keep:])]
    rest.sort(key=lambda x: (-x[0], x[1]))
    moved = [x[2] if x[1] <= n else
             (x[2][0], x[2][1], f"{x[2][2]}; a variant of the first suggestion's measurement")
             for n, x in enumerate(rest)]
    return [*out[:keep], *moved]
