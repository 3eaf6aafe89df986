"""What an antibody's or antigen's unit says about its METHOD: an index or arbitrary unit is
read off an immunoassay's calibrator.

General serology knowledge, not derived from any evaluation set: an antibody or antigen
reported in an assay's own arbitrary units ("U/mL", "AU/mL", "GPL U/mL") or as an index ("IV"
index value, "AI", "EV", "ISR", "Index") is read off that immunoassay's calibrator (ELISA, CIA,
EIA: LOINC's METHOD_TYP "IA"); titres (IF, complement fixation) are dilutions, blots are bands.
So LOINC's "by Immunoassay" term of that PROPERTY is as likely as the method-less one, and more
specific (`unit_methods`, scored in mappings.axisfit). International units ("IU/mL") are
calibrated against a WHO standard to be the same whatever the method: the method-less term;
so is an allergen's IgE (LOINC's ALLERGY terms have no method). An antibody's "U/mL" is no
enzyme activity but arbitrary units (ACnc). A name saying "index" of an antibody with no unit
("HSV 2 IgG Index") reports that index: an arbitrary concentration, not the ratio "index"
means elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import replace

from mappings.hints import Axes
from mappings.normalize import base_tokens
from mappings.units import compact

__all__ = ["IMMUNOASSAY", "antibody_or_antigen", "immunoassay_axes", "international"]

#: LOINC's METHOD_TYP of an immunoassay, folded.
IMMUNOASSAY = "ia"
#: Words (folded) naming an antibody or antigen: "Ab", "Ag", the immunoglobulin classes,
#: German "AK"; a bare "anti" is the prefix of "Anti-Scl-70".
_WORDS = frozenset("ab abs ag ags ak anti igg igm iga ige igd".split())
_STEMS = ("antibod", "autoantibod", "antigen", "antikoerper", "autoantikoerper")
#: A unit's PROPERTY that an immunoassay reports: arbitrary units per volume or an index.
_ARBITRARY = frozenset({"ACnc"})
#: Units read as arbitrary units of an antibody: "U/mL" is no enzyme's activity here.
_UNITS = frozenset({"ACnc", "CCnc"})
_INDEX = frozenset({"index"})
_INTERNATIONAL = re.compile(r"^(?:m|u|k)?(?:iu|ie)(?:/|$)")
#: An allergen's IgE (kU/L) has LOINC's method-less ALLERGY terms, whatever the assay.
_ALLERGEN = frozenset({"ige"})
#: Words saying a CSF/serum comparison ("antibody index" of intrathecal synthesis): a ratio.
_COMPARED = frozenset({"csf", "liquor", "albumin"})


def international(unit: str) -> bool:
    """Whether a unit counts international units ("IU/mL", "[iU]/L", "mIE/ml"): calibrated
    against a WHO reference preparation, so the same whatever the method."""
    return bool(_INTERNATIONAL.match(compact(unit).replace("[", "").replace("]", "")))


def antibody_or_antigen(text: str) -> bool:
    """Whether a local name names an antibody or an antigen."""
    words = set(base_tokens(text))
    return bool(words & _WORDS) or any(w.startswith(_STEMS) for w in words)


def immunoassay_axes(hint: Axes, text: str, category: str | None = None) -> Axes:
    """`hint` with the immunoassay (`IMMUNOASSAY`) as the method its unit implies, for an
    antibody or antigen (named in the name or, for an order of one result, its section) in
    arbitrary units or an index; a name saying "index" with no unit is read as that unit."""
    named = antibody_or_antigen(text) or antibody_or_antigen(category or "")
    if not named:
        return hint
    words = set(base_tokens(text))
    if not hint.unit and words & _INDEX and not words & _COMPARED:
        return replace(hint, properties=set(_ARBITRARY), scale="Qn",
                       unit_methods=(IMMUNOASSAY,))
    if hint.unit and hint.properties and hint.properties <= _UNITS:
        specific = not words & _ALLERGEN and not international(hint.unit)
        return replace(hint, properties=set(_ARBITRARY),
                       unit_methods=(IMMUNOASSAY,) if specific else ())
    return hint
