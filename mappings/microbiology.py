"""What a local name says about the METHOD of a microbiology or susceptibility test, and
whether it reports an antimicrobial susceptibility, learnt from LOINC's own names.

Method phrases: for the terms of the microbiology classes (`CLASSES`), the method part of the
English display ("… by Minimum inhibitory concentration (MIC)") and of the German long name
("… mit minimaler Hemmkonzentration (MHK)", "… mit Agardiffusion") names the term's
METHOD_TYP. Each phrase gives keys: its word stems, each abbreviation in parentheses and the
METHOD_TYP value itself; a key kept is one most of its terms share a METHOD_TYP with. A local
name holding every word of a key ("Ampicillin MHK", "Metronidazol Agardiffusionstest")
names that method.

Susceptibility: a local name that names a susceptibility method, or says "susceptibility" /
"Empfindlichkeit", or a lab section that does ("Antibiogramm", "M. marinum Susceptibility"),
reports an antimicrobial's effect on an isolate, not a drug level: LOINC's PROPERTY Susc of an
Isolate (CLASS ABXBACT), whatever the unit (a MIC is given in mg/l or ug/ml).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import replace
from functools import lru_cache

from mappings.hints import Axes
from mappings.normalize import base_tokens, fold

__all__ = ["CLASSES", "MethodKeys", "method_keys", "microbiology_axes", "named_methods",
           "susceptibility_methods"]

#: LOINC classes whose method phrases are learnt.
CLASSES = frozenset({"ABXBACT", "MICRO"})
#: Share of a key's terms that must have its METHOD_TYP, and its fewest terms.
MIN_SHARE = 0.6
MIN_TERMS = 2
#: Fewest letters of a one-word key: "IF", "ID", "LA" are words of other kinds of names.
MIN_LETTERS = 3
#: A phrase key: the stems a local name must all hold.
MethodKeys = Mapping[frozenset[str], str]

_METHOD_PART = re.compile(r"\]?\s(?:by|mit)\s(.+)$")
_ENGLISH_TAIL = re.compile(r"\s(?:in|--)\s.*$")
_PARENTHESES = re.compile(r"\(([^()]+)\)")
_FUNCTION = frozenset("mit by with for fuer und and of the der die das von".split())
_ENDINGS = ("en", "er", "es", "e", "n", "s")
# words (folded) and section words that say an antimicrobial susceptibility is reported
# ("Empf." LOINC's German short name; S/I/R the categories a susceptibility is reported in)
_SUSCEPTIBILITY = frozenset("susceptibility empfindlichkeit empf antibiogramm antibiogram "
                            "sensibel resistent intermediaer".split())
_SIR = re.compile(r"\bs\s*/\s*i\s*/\s*r\b")
#: Trade names of methods no LOINC name holds: Etest is a gradient strip; a zone diameter
#: (Hemmhof, mm) is read by disk diffusion.
_NAMED = {"etest": "gradient strip", "hemmhof": "agar diffusion",
          "hemmhofdurchmesser": "agar diffusion"}
_SUSCEPTIBILITY_SECTIONS = ("suscep", "antibiogram", "empfindlichkeit", "resistenzbestimm",
                            "resistenztest")

#: A broth (micro)dilution reads the lowest concentration that stops growth: the MIC (said in
#: the name or the section); a name stating one concentration ("Streptomycin 1 ug/mL") is a
#: critical-concentration test instead (slow-growing mycobacteria).
_DILUTION = frozenset("broth microdilution bouillon mikrodilution".split())
_MIC = "mic"
_STATED = re.compile(r"\d\s*(?:ug|mcg|mg|µg)\s*/\s*m?l\b", re.IGNORECASE)
#: Properties of a MIC's unit (mg/l, ug/ml, umol/l): a susceptibility result can have them.
_MIC_UNIT_PROPERTIES = frozenset({"MCnc", "SCnc", "MSCnc"})
#: Methods that detect an organism (NAA, culture, stain, microscopy): with no specimen named,
#: LOINC's term for any specimen ("in Specimen", XXX) is the usual one, blood or serum next.
_DETECTION = ("probe", "culture", "stain", "microscopy")
_ANY_SPECIMEN = {"XXX": 1.0, "Ser/Plas": 0.7, "Ser": 0.6, "Bld": 0.6, "Plas": 0.5}
#: The METHOD_TYP mappings.hints gives "PCR" / "NAA" (the other words it gives are no codes).
_NAA = frozenset({"probe.amp.tar"})
#: SYSTEM of a susceptibility result: the isolate (or a positive blood culture).
_ISOLATE = {"Isolate": 1.0, "Isolate/Specimen": 0.8, "Bld.pos growth": 0.5}


def _stem(word: str) -> str:
    """A German word without its ending ("minimaler" → minimal), words of 6+ letters only."""
    for end in _ENDINGS:
        if word.endswith(end) and len(word) - len(end) >= 5:
            return word[:-len(end)]
    return word


@lru_cache(maxsize=50_000)
def _phrase_keys(phrase: str) -> tuple[frozenset[str], ...]:
    """The keys of a method phrase: a lone abbreviation in parentheses, and its word stems."""
    keys: list[frozenset[str]] = []
    for abbreviation in _PARENTHESES.findall(phrase):
        toks = base_tokens(abbreviation)
        if len(toks) == 1 and len(toks[0]) >= MIN_LETTERS:
            keys.append(frozenset(toks))
    words = frozenset(_stem(t) for t in base_tokens(_PARENTHESES.sub(" ", phrase))
                      if t not in _FUNCTION and not t.isdigit())
    if len(words) > 1 or len(min(words, default="")) >= MIN_LETTERS:
        keys.append(words)
    return tuple(keys)


def method_keys(terms: Iterable[tuple[str, Iterable[tuple[str, str]], Mapping[str, str]]]
                ) -> dict[frozenset[str], str]:
    """Keys (word stems) → folded METHOD_TYP, from (display, texts, properties) of terms;
    only terms of `CLASSES` with a METHOD_TYP teach."""
    votes: dict[frozenset[str], Counter[str]] = {}
    for display, texts, props in terms:
        method = props.get("METHOD_TYP")
        if not method or props.get("CLASS", "").split(".")[0] not in CLASSES:
            continue
        value = fold(method)
        phrases = [method]
        for text, label in ((display, "display"), *texts):
            if label == "display" or label.endswith("LONG_COMMON_NAME"):
                found = _METHOD_PART.search(text.split("]", 1)[-1] if "]" in text else text)
                if found:
                    phrases.append(_ENGLISH_TAIL.sub("", found.group(1)))
        keys = {k for p in phrases for k in _phrase_keys(p)}
        for key in keys:
            votes.setdefault(key, Counter())[value] += 1
    out: dict[frozenset[str], str] = {}
    for key, counts in votes.items():
        value, n = counts.most_common(1)[0]
        if n >= MIN_TERMS and n / sum(counts.values()) >= MIN_SHARE:
            out[key] = value
    return out


def named_methods(keys: MethodKeys, text: str) -> tuple[str, ...]:
    """The folded METHOD_TYP values whose every key word a local name holds (a name word
    may continue a key word: "agardiffusionstest" holds "agardiffusion")."""
    stems = {_stem(t) for t in base_tokens(text)}
    if not stems:
        return ()
    found: list[str] = []
    for key, value in keys.items():
        if value not in found and all(
                k in stems or (len(k) >= 6 and any(s.startswith(k) for s in stems))
                for k in key):
            found.append(value)
    return tuple(found)


def microbiology_axes(hint: Axes, keys: MethodKeys, susceptibility_methods: frozenset[str],
                      text: str, category: str | None, unit: str | None = None,
                      specimen_words: Container[str] = frozenset()) -> Axes:
    """`hint` with the methods a name names (`named_methods`, `_NAMED`); with no specimen
    said, a detection method (`_DETECTION`) prefers "Specimen" (XXX), unless a unit says a
    quantity (a viral load: serum or plasma as usual) or a name word is a word of LOINC's
    German SYSTEM names (`specimen_words`: "Kornea", "Haut"). For a susceptibility
    result: SYSTEM Isolate (unless the name or specimen said one), CLASS ABXBACT, disk
    diffusion for a unit mm (a zone diameter), the MIC for a broth dilution (`_DILUTION`),
    and PROPERTY Susc when the name says so or nothing but a MIC unit (mg/l) said another
    property (a susceptibility section keeps a presence or titer the unit says: a
    resistance gene, SBT)."""
    methods = named_methods(keys, text)
    words = set(base_tokens(text.replace("E-Test", "Etest").replace("E-test", "Etest")))
    methods += tuple(dict.fromkeys(_NAMED[w] for w in words & _NAMED.keys()
                                   if _NAMED[w] not in methods))
    detection = set(methods) | (set(hint.methods) & _NAA)
    named = bool(words & _SUSCEPTIBILITY or _SIR.search(fold(text))
                 or set(methods) & susceptibility_methods)
    section = fold(category or "")
    susceptibility = named or any(s in section for s in _SUSCEPTIBILITY_SECTIONS)
    if susceptibility and fold(unit or "").strip() == "mm" and "agar diffusion" not in methods:
        methods += ("agar diffusion",)  # a zone diameter
    if susceptibility and _MIC not in methods and not _STATED.search(text) and (
            words | set(base_tokens(category or ""))) & _DILUTION:
        methods += (_MIC,)  # a broth dilution
    if not methods and not susceptibility and (hint.systems or not detection):
        return hint
    hint = replace(hint, methods=hint.methods + tuple(m for m in methods
                                                     if m not in hint.methods))
    if not susceptibility:
        return hint if hint.systems or hint.scale == "Qn" or not any(
            d in m for m in detection for d in _DETECTION) or any(
            w in specimen_words for w in words if w.isalpha() and len(w) >= 4) \
            else replace(hint, systems=dict(_ANY_SPECIMEN), system_from_method=True)
    said = hint.system_from_text or bool(hint.specimen)
    susc = named or hint.properties <= _MIC_UNIT_PROPERTIES  # (mm: no property either)
    return replace(hint, properties={"Susc"} if susc else hint.properties,
                   scale=None if susc else hint.scale, unit="" if susc else hint.unit,
                   systems=hint.systems if said else dict(_ISOLATE),
                   system_from_category=hint.system_from_category if said else False,
                   classes={**hint.classes, "ABXBACT": 1.0})


def susceptibility_methods(terms: Iterable[Mapping[str, str]]) -> frozenset[str]:
    """Folded METHOD_TYP values of LOINC's susceptibility terms (PROPERTY Susc) that most
    often stand for one ("MIC", "Agar diffusion"): at least 20 terms, 80 % of them Susc
    (none in a short candidate list)."""
    total: Counter[str] = Counter()
    susc: Counter[str] = Counter()
    for props in terms:
        method = props.get("METHOD_TYP")
        if method:
            total[fold(method)] += 1
            susc[fold(method)] += props.get("PROPERTY") == "Susc"
    return frozenset(m for m, n in susc.items() if n >= 20 and n / total[m] >= 0.8)
