"""What a unit or name says about a specimen other than blood: a 24-hour
collection, counts per microscope field, and LOINC's own short forms of specimens.

General laboratory and UCUM knowledge, not derived from any evaluation set:
- a unit per amount of creatinine (mappings.units.per_creatinine) is measured in urine when
  nothing else names the specimen ("Lead/Creatinine");
- a unit per 24 hours or per day ("ug/24 hr", "mg/d", "mmol/24 Std") or a name saying "24 h"
  is a 24-hour collection: TIME_ASPCT 24H;
- a count per high or low power field (/HPF, /LPF, German "Gesichtsfeld") is LOINC's number
  per area (Naric) by light microscopy (METHOD_TYP Microscopy.light.HPF / .LPF).
LOINC's short forms of a SYSTEM ("Ur" Urine, "Stl" Stool, "Fld" Body fld) are learnt from the
targets' own SHORTNAMEs (`system_short_forms`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from mappings.normalize import fold
from mappings.shortforms import abbreviates
from mappings.units import compact

__all__ = ["field_unit", "per_day", "said_24h", "said_scale", "system_from_short_forms",
           "system_short_forms"]

# per 24 hours or per day (UCUM d, 24.h; lab spellings hr, hrs, day; German Std, Tag)
_PER_DAY = re.compile(r"/\(?(?:24\.?(?:h|hr|hrs|hour|hours|std|stunden)|d|day|tag)\)?$")
_SAID_24H = re.compile(r"(?<![0-9.,])24\s*-?\s*(?:h|hr|hrs|hour|hours|std|stunden|stunde)\b"
                       r"|excr|exkr|ausscheid|tagesmenge|sammelurin")
_FRACTIONAL = re.compile(r"fract|frakt")  # fractional excretion: a ratio, not a day's amount
# "/HPF", "/[LPF]"; a count sign or annotation before the slash ("#/hpf", "{cells}/[HPF]")
_FIELD = re.compile(r"^(?:#|\{[^}]*\}|cells)?/\[?(hpf|lpf|gf|gesichtsfeld)\]?$")


def per_day(unit: str | None) -> str | None:
    """The numerator of a unit per 24 hours or per day ("ug/24 hr" → "ug"), else None."""
    if not unit:
        return None
    u = compact(unit)
    m = _PER_DAY.search(u)
    return u[:m.start()] if m and m.start() > 0 else None


def said_24h(text: str) -> bool:
    """Whether a name says a 24-hour collection ("24hr", "24 Hr", "/24h U", "24-Std") or
    what is excreted ("Urinexkretion", "Ausscheidung", "excretion": an amount per day, but
    not a fractional excretion)."""
    folded = fold(text)
    return bool(_SAID_24H.search(folded)) and not _FRACTIONAL.search(folded)


# "IgG Ab Value": the number a qualitative result is read from
_QUANTITATIVE = frozenset("qn quant quantitativ quantitative quantitation value".split())
_SEMI = frozenset("semiqn semiquant semiquantitativ semiquantitative".split())


def said_scale(words: set[str]) -> str | None:
    """The SCALE_TYP a name says in words: "semiqn.", "Semi-Quant" → SemiQn; "qn.",
    "quantitativ" → Qn; None when it says neither (ql. is read with the properties)."""
    if words & _SEMI or "semi" in words and words & _QUANTITATIVE:
        return "SemiQn"
    return "Qn" if words & _QUANTITATIVE else None


def field_unit(unit: str | None) -> str | None:
    """"hpf" or "lpf" for a count per microscope field (/HPF, /[LPF], #/lpf; "gf" Gesichtsfeld
    as hpf), else None."""
    m = _FIELD.match(compact(unit)) if unit else None
    if not m:
        return None
    return "lpf" if m.group(1) == "lpf" else "hpf"


@lru_cache(maxsize=200_000)
def _short_words(short: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z]+", short.lower()))


def system_short_forms(terms: Iterable[tuple[str, str]], least: int = 20,
                       share: float = 0.8) -> dict[str, str]:
    """LOINC's short forms of SYSTEM values from (SHORTNAME, SYSTEM) pairs: a word of 2+
    letters found in `least` SHORTNAMEs, `share` of them of one SYSTEM, spelt as an
    abbreviation of the SYSTEM's first word ("ur" → Urine, "stl" → Stool, "prt" → Periton
    fld)."""
    counts: dict[str, dict[str, int]] = {}
    for short, system in terms:
        if system:
            for tok in _short_words(short):
                by_system = counts.setdefault(tok, {})
                by_system[system] = by_system.get(system, 0) + 1
    out: dict[str, str] = {}
    for tok, by_system in counts.items():
        n = sum(by_system.values())
        system, k = max(by_system.items(), key=lambda x: (x[1], x[0]))
        # a two-letter form only on ample evidence ("ur" Urine, in thousands of names)
        if n >= (least if len(tok) > 2 else 50 * least) and k >= share * n \
                and abbreviates(tok, re.split(r"[^a-z]", system.lower())[0]):
            out[tok] = system
    return out


# a word that stands as a qualifier: the first word after a comma ("Clonazepam, Ur as
# Metabolite") or the last word after a space or comma ("Homovanillic Acid, Random Ur")
_QUALIFIER = re.compile(r",\s*([a-z]+)\b|[\s,]([a-z]+)\.?\s*$")


def system_from_short_forms(text: str | None, forms: Mapping[str, str]
                            ) -> dict[str, float]:
    """SYSTEM weights from a short form standing as a qualifier of a name or section
    ("Dopamine, Ur, 24hr", "Barbiturate Confirmation, Ur"); not inside a compound
    ("AT3+FVDNA+Prt") nor as the first word, which names the analyte."""
    if not text or not forms:
        return {}
    for m in _QUALIFIER.finditer(fold(text)):
        word = m.group(1) or m.group(2)
        if word in forms:
            return {forms[word]: 1.0}
    return {}
