"""An organism sought in the specimen, not the body's antibodies to it (issue 17).

A name that says how an organism or its antigen is detected ("Influenza B - DFA": direct
fluorescent antibody staining of the specimen's cells, "… PCR", "… Culture", "Cryptococcus
Antigen") and says no antibody ("Ab", "Antibody", "IgG", "Anti-", "Titer") reports the
organism, not the antibodies to it: LOINC's Ab terms ("Influenza virus B Ab [Titer] in
Serum by Immunofluorescence") share its organism and method words, so the text match alone
can rank them first. So does a name of an organism alone ("Influenza A") with a specimen given
apart that is no part of the blood ("Other Body Fluid", "Urine"): antibodies are measured in
serum or plasma. `prefer_detection` lowers the terms whose COMPONENT is an antibody by
`PENALTY` for such names; other names keep their scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from mappings.normalize import base_tokens

__all__ = ["ANTIBODY_WORDS", "DETECTION_WORDS", "PENALTY", "prefer_detection"]

#: Words of a local name that say an organism or its antigen is detected in the specimen
#: (English and German). Not "DNA"/"RNA": autoantibodies are named after them ("ds DNA").
DETECTION_WORDS = frozenset("dfa pcr naa naat culture kultur antigen antigene ag".split())
#: Words that say an antibody is measured (English and German).
ANTIBODY_WORDS = frozenset("ab ak antibody antibodies antikoerper anti igg igm iga ige igd "
                           "serology serologie titer titre".split())
# SYSTEM parts of the blood, where antibodies are measured (serum, plasma, blood)
_BLOOD_PARTS = ("Ser", "Plas", "Bld", "PPP", "PRP")
#: Score an antibody term loses for a name that says a detection and no antibody.
PENALTY = 0.05


def _blood(system: str) -> bool:
    return any(part in system for part in _BLOOD_PARTS)


def prefer_detection(scored: Sequence[tuple[float, int, str]],
                     term: Callable[[int], tuple[str, Mapping[str, str], str]], text: str,
                     given: Mapping[str, float] | None = None) -> list[tuple[float, int, str]]:
    """`scored` (score, term index, why) with the antibody terms (an "Ab" COMPONENT) lowered
    by `PENALTY` when `text` says no antibody and says a detection, or names a specimen given
    apart (`given`: its SYSTEM weights) that is no part of the blood. `term(i)`: the code,
    LOINC properties and COMPONENT of term i."""
    words = set(base_tokens(text))
    fluid = not _blood(max(given, key=lambda k: given[k])) if given else False
    if not (words & DETECTION_WORDS or fluid) or words & ANTIBODY_WORDS:
        return list(scored)
    out = []
    for score, i, why in scored:
        if "ab" in base_tokens(term(i)[2]):
            score, why = score - PENALTY, f"{why}; an antibody, the name says a detection"
        out.append((score, i, why))
    return out
