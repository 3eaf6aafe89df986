"""A suggestion's explanation as plain sentences in the page language.

mappings.suggest explains a score as reason items ("83% of the query tokens found; PROPERTY
MCnc fits; specimen fits SYSTEM Ser/Plas"), one string joined by "; " or a list of strings.
Each known item becomes a sentence naming the local code's unit or specimen and the LOINC
axis value in words ("unit mg/dl fits mass concentration"); an item this module does not know
is shown as it is, so new kinds of reasons still reach the curator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from mappings.axisfit import PROPERTY_NAMES
from mappings.model import SourceCode
from termserver.api.i18n import translate

#: LOINC PROPERTY codes in words (English, as the suggestion engine names them; German
#: through the catalogue).
PROPERTIES = {code: name.lower() for code, name in PROPERTY_NAMES.items()}
#: LOINC SYSTEM codes in words.
SYSTEMS = {
    "Ser/Plas": "serum or plasma", "Ser": "serum", "Plas": "plasma", "Bld": "blood",
    "BldA": "arterial blood", "BldV": "venous blood", "BldC": "capillary blood",
    "BldCo": "cord blood", "Urine": "urine", "CSF": "cerebrospinal fluid", "Stool": "stool",
    "Ser/Plas/Bld": "serum, plasma or blood", "RBC": "red blood cells", "Saliva": "saliva",
    "Synv fld": "synovial fluid", "Plr fld": "pleural fluid", "Periton fld": "peritoneal fluid",
}
_LABELS = {"display": "the display", "COMPONENT": "the analyte (COMPONENT)",
           "de COMPONENT": "the German analyte name"}

Rule = tuple[re.Pattern[str], Callable[[re.Match[str], SourceCode | None, str], str]]


def _t(lang: str, message: str, /, **values: object) -> str:
    return translate(lang, message, **values)


def _words(lang: str, table: dict[str, str], code: str) -> str:
    named = table.get(code)
    return f"{_t(lang, named)} ({code})" if named else code


def _share(m: re.Match[str], lang: str, all_: str, none: str, some: str) -> str:
    p = int(m.group(1))
    return _t(lang, all_) if p >= 100 else _t(lang, none) if p == 0 else _t(lang, some, p=p)


def _label(lang: str, label: str) -> str:
    if label in _LABELS:
        return _t(lang, _LABELS[label])
    if label.split(" ")[0].lower().startswith("de"):
        return _t(lang, "the German name")
    return _t(lang, "the name ({label})", label=label)


def _unit(m: re.Match[str], src: SourceCode | None, lang: str) -> str:
    prop = _words(lang, PROPERTIES, m.group(1))
    if src is not None and src.unit:
        return _t(lang, "unit {unit} fits {property}", unit=src.unit, property=prop)
    return _t(lang, "the local name fits {property}", property=prop)


def _specimen(m: re.Match[str], src: SourceCode | None, lang: str) -> str:
    system = _words(lang, SYSTEMS, m.group(1))
    if src is not None and src.specimen:
        return _t(lang, "specimen {specimen} fits {system}", specimen=src.specimen,
                  system=system)
    return _t(lang, "the specimen named fits {system}", system=system)


RULES: tuple[Rule, ...] = (
    (re.compile(r"^(\d+)% of the query tokens found$"), lambda m, s, lang: _share(
        m, lang, "every word of the local name is in the term",
        "no word of the local name is in the term",
        "{p} % of the local name's words are in the term")),
    (re.compile(r"^(\d+)% of the component found$"), lambda m, s, lang: _share(
        m, lang, "the LOINC analyte name is in the local name in full",
        "the LOINC analyte name (COMPONENT) does not occur in the local name",
        "{p} % of the LOINC analyte name is in the local name")),
    (re.compile(r"^text match (\d+)% with (.+?) '(.*)'$", re.S), lambda m, s, lang: _t(
        lang, "the name reads like {which} “{text}” ({p} %)", which=_label(lang, m.group(2)),
        text=m.group(3), p=int(m.group(1)))),
    (re.compile(r"^PROPERTY (\S+) fits$"), _unit),
    (re.compile(r"^specimen fits SYSTEM (.+)$"), _specimen),
    (re.compile(r"^method (.+) fits$"), lambda m, s, lang: _t(
        lang, "the method {method} is named in the local name", method=m.group(1))),
    (re.compile(r"^section fits CLASS (\S+)$"), lambda m, s, lang: _t(
        lang, "the lab section fits the class {cls}", cls=m.group(1))),
    (re.compile(r"^accepted before for '(.*)' in project (\S+)$", re.S), lambda m, s, lang: _t(
        lang, "accepted before for “{text}” in project {project}", text=m.group(1),
        project=m.group(2))),
)


def items(why: str | Sequence[str] | None) -> list[str]:
    """The reason items of an explanation (a "; "-joined string or a list)."""
    if not why:
        return []
    parts = why.split("; ") if isinstance(why, str) else [str(w) for w in why]
    return [p.strip() for p in parts if p and p.strip()]


def sentence(item: str, source: SourceCode | None, lang: str) -> str:
    """One reason item in plain words (the item itself when no rule knows it)."""
    for pattern, render in RULES:
        m = pattern.match(item)
        if m:
            text = render(m, source, lang)
            break
    else:
        text = item
    return text[:1].upper() + text[1:]


def plain(why: str | Sequence[str] | None, source: SourceCode | None, lang: str) -> list[str]:
    """Every reason of an explanation as a sentence."""
    return [sentence(i, source, lang) for i in items(why)]


__all__ = ["PROPERTIES", "SYSTEMS", "items", "plain", "sentence"]
