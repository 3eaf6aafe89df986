"""How a target term's LOINC axes fit what a local name, unit, specimen and section say,
as a score change and one plain-language reason per axis ("unit mg/dl fits Mass concentration
(MCnc)", "specimen Serum fits Ser/Plas").

The unit decides the PROPERTY class: a term whose PROPERTY the unit rules out loses EXCLUDED,
so it ranks only where nothing else fits: a mass or substance unit rules out every other
property (DECISIVE); any per-volume unit (mg/dl, mmol/l, U/l, /nl) rules out the other
per-volume classes and every ratio, fraction or content (`ruled_out`: U/l cannot be a
"…/…total" ratio); U/l fits catalytic and arbitrary concentration nearly alike; other units
(%, 1) only nudge.
"""

from __future__ import annotations

from mappings.hints import Axes
from mappings.normalize import fold

__all__ = ["CONCENTRATIONS", "DECISIVE", "EXCLUDED", "FIT_AXES", "PROPERTY_NAMES", "RATIOS",
           "axes_fit", "ruled_out"]

#: The properties `axes_fit` reads: terms alike in them fit a query alike (mappings.suggest
#: computes the fit once per distinct tuple of them).
FIT_AXES = ("PROPERTY", "SCALE_TYP", "SYSTEM", "METHOD_TYP", "CLASS", "TIME_ASPCT")
#: Score lost by a term whose PROPERTY the local unit rules out.
EXCLUDED = 0.2
#: Unit classes that decide the PROPERTY (mass or substance per volume, per mass or per time);
#: others (U/l: catalytic or arbitrary, %, counts) only nudge: their LOINC property varies.
DECISIVE = frozenset({"MCnc", "SCnc", "MCnt", "SCnt", "MRat", "SRat"})
#: Per-volume classes a unit's numerator tells apart (mass, substance, enzyme or arbitrary
#: units, counts): a unit of one rules out the others, and every ratio, fraction or content.
CONCENTRATIONS = frozenset({"MCnc", "SCnc", "CCnc", "ACnc", "NCnc"})
RATIOS = frozenset({"MRto", "SRto", "CRto", "Ratio", "MFr", "NFr", "SFr", "VFr", "CFr",
                    "MCnt", "SCnt", "RelMCnc", "RelCCnc", "RelACnc"})
#: Property pairs one unit serves alike (U/l: catalytic or arbitrary; mass or substance).
_AKIN = {frozenset({"CCnc", "ACnc"}), frozenset({"MCnc", "MSCnc"}), frozenset({"SCnc", "MSCnc"})}
#: Weights of the axis fit (tuned on the tuned halves of bench/mapping_eval.py).
W = {"method": 0.01, "defsys": 0.06, "othersys": 0.0, "class": 0.04, "classmiss": 0.02,
     "catsys": 0.06, "unitmethod": 0.03, "unspecified": 0.015}
_USUAL_SYSTEMS = {"Ser/Plas": 1.0, "Ser": 0.8, "Bld": 0.6, "Plas": 0.6, "Ser/Plas/Bld": 0.5}
#: LOINC PROPERTY codes in words (LOINC Users' Guide, the property axis).
PROPERTY_NAMES = {
    "MCnc": "Mass concentration", "SCnc": "Substance concentration",
    "CCnc": "Catalytic concentration", "ACnc": "Arbitrary concentration",
    "NCnc": "Number concentration", "MFr": "Mass fraction", "NFr": "Number fraction",
    "VFr": "Volume fraction", "SFr": "Substance fraction", "MRto": "Mass ratio",
    "SRto": "Substance ratio", "Ratio": "Ratio", "MCnt": "Mass content",
    "SCnt": "Substance content", "PrThr": "Presence or threshold", "Titr": "Titer",
    "Type": "Type", "Prid": "Presence or identity", "Imp": "Impression", "Time": "Time",
    "EntVol": "Entitic volume", "EntMass": "Entitic mass", "PPres": "Partial pressure",
    "LsCnc": "Log substance concentration", "MRat": "Mass rate", "SRat": "Substance rate",
    "CRat": "Catalytic rate", "VRat": "Volume rate", "Vol": "Volume", "Mass": "Mass",
    "Score": "Score", "RelTime": "Relative time", "Naric": "Number aric",
    "Pres": "Pressure", "Osmol": "Osmolality", "Num": "Number", "Temp": "Temperature",
    "MSCnc": "Mass or substance concentration", "CRto": "Catalytic ratio"}


def _name(prop: str) -> str:
    return f"{PROPERTY_NAMES[prop]} ({prop})" if prop in PROPERTY_NAMES else prop


def _source(hint: Axes) -> str:
    """What said the PROPERTY: the unit, or the name."""
    return f"unit {hint.unit}" if hint.unit else "the name"


def ruled_out(unit_properties: set[str] | frozenset[str], prop: str) -> bool:
    """Whether a unit implying per-volume `unit_properties` (mg/dl: MCnc, U/l: CCnc) rules
    out a term's PROPERTY: another per-volume class, or a ratio, fraction or content."""
    if not unit_properties or not unit_properties <= CONCENTRATIONS:
        return False
    return prop in RATIOS or (prop in CONCENTRATIONS and prop not in unit_properties)


def axes_fit(p: dict[str, str], hint: Axes, q_full: str) -> tuple[float, list[str]]:
    """Score change (about -0.35..+0.26) for how a term's LOINC axes fit the query's hints,
    and the reasons, one per axis that counts."""
    score, why = 0.0, []
    prop = p.get("PROPERTY")
    if hint.properties and prop:
        source = _source(hint)
        if prop in hint.properties:
            score += 0.07
            why.append(f"{source} fits {_name(prop)}")
        elif hint.unit and any(frozenset({prop, h}) in _AKIN for h in hint.properties):
            score -= 0.01
            why.append(f"{source} fits {_name(prop)} nearly")
        elif hint.unit and (hint.properties <= DECISIVE or ruled_out(hint.properties, prop)):
            score -= EXCLUDED
            why.append(f"{source} rules out {_name(prop)}")
        else:
            score -= 0.04
            why.append(f"{source} suggests another property than {_name(prop)}")
    scale = p.get("SCALE_TYP")
    if hint.scale and scale:
        score += 0.03 if scale == hint.scale else -0.02
    system = p.get("SYSTEM")
    if hint.systems and system:
        w = hint.systems.get(system, 0.0)
        strength = 0.12 if hint.system_from_text else \
            W["catsys"] if hint.system_from_category or hint.system_from_method else 0.09
        said = f"specimen {hint.specimen}" if hint.specimen else \
            "the name" if hint.system_from_text else \
            "a detection method with no specimen named" if hint.system_from_method else \
            "the section"
        if w:
            score += strength * w
            why.append(f"{said} fits {system}")
        else:
            score -= strength * 0.6
            why.append(f"{said} does not fit {system}")
    elif system:  # nothing said about the specimen: serum/plasma or blood is the usual one
        score += W["defsys"] * _USUAL_SYSTEMS.get(system, W["othersys"])
    method = fold(p.get("METHOD_TYP") or "")
    if method:
        if any(m == method or m in method for m in hint.methods):
            score += 0.05
            why.append(f"method {p['METHOD_TYP']} named")
        elif method in hint.unit_methods and prop in hint.properties:
            score += W["unitmethod"]  # an antibody's index: an immunoassay's reading
            why.append(f"{_source(hint)} says method {p['METHOD_TYP']}")
        elif method not in q_full:
            score -= W["method"]  # a method the local name does not mention: a narrower term
            why.append(f"method {p['METHOD_TYP']} not named")
    cls = p.get("CLASS")
    if hint.classes and cls:
        w = max(hint.classes.get(c, 0.0) for c in (cls, *cls.split(".")))
        if w:
            score += W["class"] * w
            why.append(f"section fits class {cls}")
        else:
            score -= W["classmiss"]
    timing = p.get("TIME_ASPCT", "Pt")
    if hint.timed:
        score += 0.04 if timing == "24H" else -0.02
        why.append(f"timing {timing} {'fits' if timing == '24H' else 'misses'} a 24 h collection")
    elif timing != "Pt":  # a duration the name does not say; XXX (unspecified) says none
        score -= W["unspecified"] if timing == "XXX" else 0.03
        why.append(f"timing {timing} not named")
    return score, why
