"""Target terms as the suggestion index sees them, and what is read from each term alone.

`TargetTerm` is one target concept (display, texts with labels, hint properties).
`term_row` is what the index (mappings.suggest.TargetIndex) reads from one term's own texts:
its normalised texts, its texts without a method, its index words, Roman numeral pairs and
COMPONENT words. It is cached per process by the term's texts, so the candidate lists of
the database path (`rank_candidates`, one per query) do not read the same term again and
again; `Postings` maps the rows' words to the terms holding them (built when asked for a
candidate list). `with_translated_components` borrows German components; `term_prior` is the
commonness prior; the Universal Lab Orders value set gives ORDER_OBS.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from mappings.hints import SPECIMEN_WORDS
from mappings.lexicon import Lexicon, derive, pairs_from_texts
from mappings.normalize import base_tokens, numeral_pairs, word_tokens
from mappings.variants import analyte_part, without_method, without_per_hundred

__all__ = ["Postings", "TargetTerm", "TermRow", "loinc_term", "read_lab_orders", "term_prior",
           "term_row", "terms_lexicon", "with_lab_orders", "with_translated_components"]

_BRACKETS = re.compile(r"\[[^\]]*\]")
# where a German long name without a [property] turns to the system: "Farbe von Urin"
_GERMAN_SYSTEM = re.compile(r" (?:von|in|im) ")
_FILLERS = frozenset("in im of or oder and und by mit from von plasma serpl serplbld bld ur "
                     "mcnc scnc ccnc acnc ncnc prthr".split())
_LOINC_TERM = re.compile(r"^\d{1,8}-\d$")
#: Term rows kept per process (least recently used dropped first).
ROWS_MAX = 200_000


@dataclass(frozen=True, slots=True)
class TargetTerm:
    """One target concept as the index sees it. `texts` pairs each text with a label."""

    code: str
    display: str
    texts: tuple[tuple[str, str], ...] = ()
    properties: dict[str, str] = field(default_factory=dict)


def loinc_term(code: str) -> bool:
    """Whether a LOINC code is a term (no Part, answer or group: LP…, LA…, LG…)."""
    return _LOINC_TERM.match(code) is not None


@lru_cache(maxsize=100_000)
def _analyte_tokens(text: str) -> tuple[str, ...]:
    """The words of a text that name the analyte: no [property], specimen or filler."""
    # most texts have neither a [property] nor a per-hundred base: their tokens are cached
    toks = word_tokens(_BRACKETS.sub(" ", without_per_hundred(text))) \
        if "[" in text or "/" in text else base_tokens(text)
    return tuple(t for t in toks
                 if t not in SPECIMEN_WORDS and t not in _FILLERS)


@lru_cache(maxsize=200_000)
def _german_component(texts: tuple[tuple[str, str], ...]) -> tuple[str, str, bool]:
    """A term's COMPONENT, the component part of its German long name ("" when it has none
    or the name has no part to cut off) and whether it has any German text."""
    comp = next((t for t, label in texts if label == "COMPONENT"), "")
    de = next((t for t, label in texts if label.startswith("de")
               and label.endswith("LONG_COMMON_NAME")), None)
    name = (de.split(" [", 1)[0] if " [" in de else _GERMAN_SYSTEM.split(de, 1)[0]) \
        if de else ""
    return comp, name if name != de else "", any(label.startswith("de") for _, label in texts)


def with_translated_components(terms: list[TargetTerm]) -> list[TargetTerm]:
    """Give terms without a German name the German COMPONENT of translated terms that share
    their English COMPONENT ("Hemoglobin F" → "Hämoglobin F"), learnt from the German
    variant's long names (the part before " [", or before " von " / " in " in a name without
    a property: "Farbe von Urin"), labelled "de COMPONENT"."""
    german: dict[str, dict[str, int]] = {}
    parts = [_german_component(term.texts) for term in terms]
    for comp, name, _ in parts:
        if comp and name:
            counts = german.setdefault(comp, {})
            counts[name] = counts.get(name, 0) + 1
    words: dict[str, str] = {}  # one-word components: leukocytes → leukozyten
    for comp, names in german.items():
        en = base_tokens(comp)
        de_tokens = base_tokens(max(names, key=lambda n: names[n]))
        if len(en) == 1 and len(de_tokens) == 1 and en[0] != de_tokens[0]:
            words[en[0]] = de_tokens[0]
    out: list[TargetTerm] = []
    for term, (comp, _, translated) in zip(terms, parts, strict=True):
        if translated:
            out.append(term)
            continue
        if comp in german:
            names = german[comp]
            name = max(names, key=lambda n: names[n])
        else:
            toks = base_tokens(comp)
            name = " ".join(words.get(t, t) for t in toks) if any(t in words for t in toks) else ""
        if name:
            term = TargetTerm(term.code, term.display,
                              (*term.texts, (name, "de COMPONENT")), term.properties)
        out.append(term)
    return out


def terms_lexicon(terms: Iterable[TargetTerm]) -> Lexicon:
    """The German → English lexicon learnt from the German designations of `terms`."""
    def pairs(t: TargetTerm) -> Iterable[tuple[str, str, str, str]]:
        component = next((x for x, label in t.texts if label == "COMPONENT"), "")
        return pairs_from_texts(t.display, t.texts, {**t.properties, "COMPONENT": component})

    return derive(pair for t in terms for pair in pairs(t))


def with_lab_orders(terms: Iterable[TargetTerm], orders: Mapping[str, str]
                    ) -> list[TargetTerm]:
    """Terms with ORDER_OBS from LOINC's Universal Lab Orders value set (code → ORDER_OBS)."""
    return [replace(t, properties={**t.properties, "ORDER_OBS": orders[t.code]})
            if t.code in orders else t for t in terms]


def read_lab_orders(path: str | Path) -> dict[str, str]:
    """LoincUniversalLabOrdersValueSet.csv (LOINC accessory files, Other/) as code → ORDER_OBS."""
    with Path(path).open(newline="", encoding="utf-8-sig") as f:
        return {r["LOINC_NUM"]: r["ORDER_OBS"] for r in csv.DictReader(f)}


@lru_cache(maxsize=ROWS_MAX)
def _translated(texts: tuple[tuple[str, str], ...]) -> bool:
    return any(label.startswith("de") and label != "de COMPONENT" for _, label in texts)


def term_prior(term: TargetTerm) -> float:
    """How common a term is likely to be, 0..1: chosen for the German translation, in the
    Universal Lab Orders value set (ORDER_OBS), released in 1.x, no method."""
    p = term.properties
    german = _translated(term.texts)
    return (0.4 * german + 0.25 * bool(p.get("ORDER_OBS"))
            + 0.15 * p.get("VersionFirstReleased", "").startswith("1.")
            + 0.2 * (not p.get("METHOD_TYP")))


@dataclass(frozen=True, slots=True)
class TermRow:
    """What the index reads from one term: per text its normalised words (`norms`; with
    `clean`, the analyte words only), the texts that name a method without it (`bare`: text
    index, words), every index word, the Roman numeral pairs and the COMPONENT's words."""

    norms: tuple[str, ...]
    bare: tuple[tuple[int, str], ...]
    words: frozenset[str]
    numerals: frozenset[tuple[str, str]]
    component: frozenset[str]
    component_text: str


def term_row(term: TargetTerm, clean: bool = True) -> TermRow:
    """The term's TermRow (it depends on the texts alone: cached by texts and `clean`)."""
    return _row(term.texts, clean)


@lru_cache(maxsize=ROWS_MAX)
def _row(texts: tuple[tuple[str, str], ...], clean: bool) -> TermRow:
    norms: list[str] = []
    bare: list[tuple[int, str]] = []
    words: set[str] = set()
    numerals: set[tuple[str, str]] = set()
    for j, (text, _) in enumerate(texts):
        toks = base_tokens(text)
        words.update(toks)
        numerals |= numeral_pairs(toks)
        if clean:  # the analyte words only: no [property], specimen, "in"
            toks = list(_analyte_tokens(text)) or toks
        norms.append(" ".join(toks))
        if (plain := without_method(text)) != text:
            bare.append((j, " ".join(_analyte_tokens(plain))))
    component = next((t for t, label in texts if label == "COMPONENT"), "")
    return TermRow(tuple(norms), tuple(bare), frozenset(words), frozenset(numerals),
                   frozenset(base_tokens(analyte_part(component))), component)


#: Below this many terms postings are found when asked for (a query's candidate list), not
#: all built up front (a whole scope, searched many times).
LAZY_TERMS = 5000


class Postings(Mapping[str, "np.ndarray"]):
    """Index word → ascending int32 positions of the terms holding it (each term once), over
    the terms' word sets. A whole scope's postings are built at once; a short candidate
    list's only for the words a query asks for (most of its words are never asked)."""

    def __init__(self, words: list[frozenset[str]]) -> None:
        self._words = words
        self._lists: dict[str, np.ndarray] = {}
        if len(words) >= LAZY_TERMS:
            found: dict[str, list[int]] = {}
            for i, ws in enumerate(words):
                for t in ws:
                    found.setdefault(t, []).append(i)
            self._lists = {t: np.fromiter(ids, dtype=np.int32, count=len(ids))
                           for t, ids in found.items()}
            self._vocab: frozenset[str] = frozenset(self._lists)
        else:
            self._vocab = frozenset().union(*words)

    def __contains__(self, token: object) -> bool:
        return token in self._vocab

    def __getitem__(self, token: str) -> np.ndarray:
        found = self._lists.get(token)
        if found is None:
            if token not in self._vocab:
                raise KeyError(token)
            found = self._lists[token] = np.array(
                [i for i, ws in enumerate(self._words) if token in ws], dtype=np.int32)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocab)

    def __len__(self) -> int:
        return len(self._vocab)
