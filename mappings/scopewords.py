"""What the ranker learns from the whole target scope, never from a short candidate list.

`ScopeWords` holds it: LOINC's acronyms ("LD" → lactate dehydrogenase, mappings.acronyms),
SHORTNAME short forms ("urn" → urine, mappings.shortforms) and SYSTEM short forms ("ur" →
Urine, mappings.fluids), the words the displays name each SYSTEM with ("Periton fld":
peritoneal fluid, `system_names`), the words COMPONENTs leave implied ("total", mappings.variants),
property words said as a METHOD ("screen"), microbiology method phrases and susceptibility
methods (mappings.microbiology), the allergen mix words (mappings.allergens) and the CLASSes
whose terms are in XXX (mappings.anyspecimen). The in-memory index (mappings.suggest) learns it
from its own terms; the database path (mappings.textsearch) learns it once per index build
from every term of the code system, keeps it in the database (`to_json`) for every process
and hands it to the candidate lists it reranks, which hold too few terms to learn from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import orjson

from mappings.acronyms import acronyms
from mappings.allergens import mix_words
from mappings.anyspecimen import GenericClasses, generic_classes
from mappings.fluids import system_short_forms
from mappings.hints import PROPERTY_WORDS
from mappings.microbiology import method_keys, susceptibility_methods
from mappings.normalize import base_tokens
from mappings.shortforms import short_forms
from mappings.terms import TargetTerm
from mappings.variants import ratio_words

__all__ = ["FORMAT", "LEARN_FROM", "ScopeWords", "from_json", "learn_scope", "method_words",
           "system_names", "to_json"]

#: Version of `to_json`'s layout (a kept value of another format is learnt again).
FORMAT = 2
#: Targets a scope needs for its acronyms and short forms to be learnt (a candidate list of
#: the database path holds too few: those come from the whole scope, `ScopeWords`).
LEARN_FROM = 5000


@dataclass(frozen=True, slots=True)
class ScopeWords:
    """Words learnt from a whole target scope (see the module docstring)."""

    acronyms: dict[str, tuple[str, ...]]
    long_forms: dict[str, str]
    system_short: dict[str, str]
    implied: frozenset[str]
    method_words: frozenset[str]
    micro: dict[frozenset[str], str]
    susc: frozenset[str]
    mix: frozenset[str]
    generic: GenericClasses
    system_names: dict[str, str]


def method_words(terms: Sequence[TargetTerm], components: Sequence[frozenset[str]]
                 ) -> frozenset[str]:
    """Property words of a query ("screen", "count") that the targets use more often in
    their METHOD_TYP ("Screen", "Automated count") than in their COMPONENT: in a local name
    they say the property, and matched as text they would favour the method variants."""
    in_method: dict[str, int] = {}
    for t in terms:
        for w in set(base_tokens(t.properties.get("METHOD_TYP", ""))) & PROPERTY_WORDS:
            in_method[w] = in_method.get(w, 0) + 1
    return frozenset(w for w, n in in_method.items()
                     if n > sum(w in c for c in components))


def system_names(terms: Sequence[TargetTerm], least: int = 3) -> dict[str, str]:
    """SYSTEM value → the words most displays of its terms name it with, after their last
    " in " and before a method ("Monocytes [#/volume] in Peritoneal fluid by Manual count":
    Periton fld → Peritoneal fluid), from `least` displays."""
    votes: dict[str, Counter[str]] = {}
    for t in terms:
        system = t.properties.get("SYSTEM")
        if system and " in " in t.display:
            name = t.display.rsplit(" in ", 1)[1].split(" by ", 1)[0].strip()
            if name and "[" not in name and "]" not in name:
                votes.setdefault(system, Counter())[name] += 1
    out: dict[str, str] = {}
    for system, names in votes.items():
        (name, n), = names.most_common(1)
        if n >= least:
            out[system] = name
    return out


def learn_scope(terms: Sequence[TargetTerm], components: Sequence[frozenset[str]],
                component_texts: Sequence[str], known: Callable[[str], bool]) -> ScopeWords:
    """ScopeWords from `terms` with their COMPONENT words and texts (mappings.terms.term_row);
    `known`: German words that are no short forms. Acronyms and short forms only from
    LEARN_FROM terms or more."""
    whole = len(terms) >= LEARN_FROM
    return ScopeWords(
        acronyms=acronyms(component_texts) if whole else {},
        long_forms=short_forms(((t.display, t.texts) for t in terms), known) if whole else {},
        system_short=system_short_forms(
            (x, t.properties.get("SYSTEM", "")) for t in terms
            for x, label in t.texts if label.endswith("SHORTNAME")),
        implied=ratio_words(component_texts),
        method_words=method_words(terms, components),
        micro=method_keys((t.display, t.texts, t.properties) for t in terms),
        susc=susceptibility_methods(t.properties for t in terms),
        mix=mix_words([t.properties.get("CLASS", "") for t in terms],
                      [t.display for t in terms], component_texts)[0],
        generic=generic_classes(t.properties for t in terms),
        system_names=system_names(terms))


def to_json(words: ScopeWords) -> bytes:
    """The words as JSON (kept in the database for every process: from_json)."""
    return orjson.dumps({
        "format": FORMAT, "acronyms": words.acronyms, "long_forms": words.long_forms,
        "system_short": words.system_short, "implied": sorted(words.implied),
        "method_words": sorted(words.method_words),
        "micro": [[sorted(k), v] for k, v in words.micro.items()],
        "susc": sorted(words.susc), "mix": sorted(words.mix),
        "generic": sorted(words.generic), "generic_fluid": sorted(words.generic.fluid),
        "system_names": words.system_names})


def from_json(raw: bytes | str) -> ScopeWords | None:
    """The words `to_json` wrote, or None when of another FORMAT or unreadable."""
    try:
        data = orjson.loads(raw)
        if data.get("format") != FORMAT:
            return None
        return ScopeWords(
            acronyms={k: tuple(v) for k, v in data["acronyms"].items()},
            long_forms=dict(data["long_forms"]), system_short=dict(data["system_short"]),
            implied=frozenset(data["implied"]), method_words=frozenset(data["method_words"]),
            micro={frozenset(k): v for k, v in data["micro"]},
            susc=frozenset(data["susc"]), mix=frozenset(data["mix"]),
            generic=GenericClasses(data["generic"], data["generic_fluid"]),
            system_names=dict(data["system_names"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
