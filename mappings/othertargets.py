"""Suggestions for targets other than LOINC: SNOMED CT, ICD-10-GM, OPS, any code system.

LOINC's axis logic (mappings.hints, mappings.axisfit: unit, specimen, timing and method
hints), its lab abbreviations and phrases (mappings.normalize), the hand glossary and the
German → LOINC lexicon are for LOINC terms only and are not applied here. The same search
engine finds the candidates: the store's text index (termserver.store.search, the one `$expand`
`filter` and the workbench's target search read) through mappings.textsearch, for a small
code system without that index all of its selectable concepts. `rank_generic` then ranks them
by words alone, over every text of a concept (display and designations in any language, so a
German designation or ICD-10-GM's German title counts as much as an English display):

* recall: the idf-weighted share of the local text's words found in the concept's text (a
  word counts as found when the text holds it or a close spelling: the same textfold key,
  "Tuberkulose"/"tuberculosis"; rapidfuzz ratio; a longer word it begins);
* precision: the idf-weighted share of the concept's words the local text names, so among
  concepts holding every word the one that adds least wins (ICD-10-GM's "..., nicht näher
  bezeichnet" over a more specific sibling: its extra words are frequent, low idf);
* the character-trigram overlap (Dice) of the two texts' folded words, which also rewards a
  shared stem inside a compound or across languages ("Gender identity" ~
  "Geschlechtsidentität").

Non-selectable concepts (ICD-10-GM's non-terminal codes, blocks and chapters: abstract) are
never offered. Each suggestion says which text matched and how much of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from mappings.lexicon import Lexicon
from mappings.suggest import Suggestion, TargetTerm
from mappings.textsearch import CANDIDATES, STOP_WORDS, StoreTargetSearch
from termserver.store import Store
from termserver.textfold import fold

__all__ = ["GenericIndex", "GenericStoreSearch", "LOINC", "is_loinc", "rank_generic",
           "text_keys"]

LOINC = "http://loinc.org"
#: Weights of the generic score: recall, precision, whole-text match (chosen on the tuned
#: halves of bench/other_gold.py's sets only).
W = {"recall": 0.4, "precision": 0.2, "text": 0.4}
#: Query words whose close spellings a GenericIndex remembers, at most.
CLOSE_CACHE = 100_000
#: Function words as textfold keys (mappings.textsearch.STOP_WORDS).
STOP_KEYS = frozenset(k for w in STOP_WORDS for k in fold(w).split())


def is_loinc(system: str) -> bool:
    """Whether a target code system gets LOINC's axis-aware suggestions."""
    return system == LOINC


def text_keys(text: str) -> list[str]:
    """The words of a text as the store's text index keys them (termserver.textfold)."""
    return fold(text).split()


@dataclass(frozen=True, slots=True)
class _Scored:
    score: float
    code: str
    why: str


@lru_cache(maxsize=200_000)
def word_sim(a: str, b: str) -> float:
    """How alike two words (textfold keys) are, 0..1, beyond the close spellings the index
    gives: rapidfuzz ratio ≥ 0.84 (0.9 × ratio); one inside a word 3+ letters longer, from 5
    letters (a German compound: "tuberkulose" in "lungentuberkulose", 0.75 × partial ratio
    ≥ 0.85); a
    common stem of 6+ letters and ⅔ of the shorter word ("bakterial"/"bakterielle", 0.6)."""
    if a == b:
        return 1.0
    if min(len(a), len(b)) < 4 or a.isdigit() or b.isdigit():
        return 0.0
    r = fuzz.ratio(a, b) / 100
    if r >= 0.84:
        return 0.9 * r
    short, long = sorted((a, b), key=len)
    if len(short) >= 5 and len(long) >= len(short) + 3:
        p = fuzz.partial_ratio(short, long) / 100
        if p >= 0.85:
            return 0.75 * p
    n = 0
    for x, y in zip(short, long, strict=False):
        if x != y:
            break
        n += 1
    return 0.6 if n >= 6 and n >= 2 * len(short) / 3 else 0.0


@lru_cache(maxsize=100_000)
def _grams(text: str) -> frozenset[str]:
    """Character trigrams of a text, padded with a space."""
    padded = f" {text} "
    return frozenset(padded[i:i + 3] for i in range(len(padded) - 2))


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of two sets of character trigrams."""
    return 2 * len(a & b) / (len(a) + len(b) or 1)


def rank_generic(terms: Sequence[TargetTerm], text: str, *, idf: Callable[[str], float],
                 close: Callable[[str], Iterable[tuple[str, float]]], limit: int = 5
                 ) -> list[Suggestion]:
    """The best `limit` of `terms` for a local text, by words only (module docstring).
    `idf(key)` and `close(key)` → [(other key, weight 0..1)] work on textfold keys."""
    words = list(dict.fromkeys(text_keys(text)))
    content = [w for w in words if w not in STOP_KEYS] or words
    if not content or not terms:
        return []
    alts: list[dict[str, float]] = []
    for w in content:
        found = {w: 1.0}
        for other, weight in close(w):
            if weight > found.get(other, 0.0):
                found[other] = weight
        alts.append(found)
    q_idf = [idf(w) for w in content]
    q_total = sum(q_idf) or 1.0
    q_grams = _grams(" ".join(content))
    scored: list[_Scored] = []
    for term in terms:
        best: tuple[float, float, float, str, str] | None = None
        for t, label in term.texts:
            keys = [k for k in text_keys(t) if k not in STOP_KEYS] or text_keys(t)
            if not keys:
                continue
            have = set(keys)
            recall = 0.0
            named: dict[str, float] = {}
            for q, found, weight in zip(content, alts, q_idf, strict=True):
                hit = max(((w, k) for k, w in found.items() if k in have), default=None)
                if hit is None or hit[0] < 1.0:  # a compound or another ending
                    near = max(((word_sim(q, k), k) for k in have), default=None)
                    if near is not None and near[0] > (hit[0] if hit else 0.0):
                        hit = near
                if hit is not None and hit[0] > 0:
                    recall += weight * hit[0]
                    named[hit[1]] = max(named.get(hit[1], 0.0), hit[0])
            recall /= q_total
            t_idf = {k: idf(k) for k in have}
            precision = sum(v * named.get(k, 0.0) for k, v in t_idf.items()) / (
                sum(t_idf.values()) or 1.0)
            whole = _dice(q_grams, _grams(" ".join(keys)))
            score = W["recall"] * recall + W["precision"] * precision + W["text"] * whole
            if best is None or score > best[0]:
                best = (score, recall, precision, t, label)
        if best is None or best[1] <= 0:
            continue
        score, recall, precision, t, label = best
        scored.append(_Scored(score, term.code,
                              f"{recall:.0%} of the local text's words found in {label} '{t}'; "
                              f"{precision:.0%} of that text named"))
    scored.sort(key=lambda s: (-s.score, s.code))
    display = {t.code: t.display for t in terms}
    return [Suggestion(s.code, display[s.code], round(min(max(s.score, 0.0), 1.0), 4), s.why)
            for s in scored[:limit]]


class GenericIndex:
    """All selectable concepts of a small code system (no store text index: fewer than
    termserver.store.search.SEARCH_MIN concepts) ranked by `rank_generic`, in memory."""

    def __init__(self, terms: Iterable[TargetTerm]) -> None:
        self.terms = list(terms)
        df: dict[str, int] = {}
        for term in self.terms:
            for key in {k for t, _ in term.texts for k in text_keys(t)}:
                df[key] = df.get(key, 0) + 1
        self._df = df
        self._vocab = sorted(k for k in df if len(k) >= 4 and not k.isdigit())
        self._close: dict[str, list[tuple[str, float]]] = {}

    def __len__(self) -> int:
        return len(self.terms)

    def idf(self, key: str) -> float:
        if key in STOP_KEYS:
            return 0.05
        return math.log(1 + max(len(self.terms), 1) / max(self._df.get(key, 0), 1))

    def close_tokens(self, key: str) -> list[tuple[str, float]]:
        """Vocabulary words spelled like `key`: rapidfuzz ratio ≥ 84 (0.9 × ratio), or a
        longer word it begins (from 5 letters, 0.8)."""
        found = self._close.get(key)
        if found is None:
            out: dict[str, float] = {}
            if len(key) >= 4 and not key.isdigit():
                for w, score, _ in process.extract(key, self._vocab, scorer=fuzz.ratio,
                                                   score_cutoff=84, limit=None):
                    out[w] = 0.9 * score / 100
                if len(key) >= 5:
                    for w in self._vocab:
                        if w.startswith(key):
                            out.setdefault(w, 0.8)
            out.pop(key, None)
            found = sorted(out.items(), key=lambda x: (-x[1], x[0]))[:8]
            if len(self._close) < CLOSE_CACHE:  # bounded like TargetIndex's
                self._close[key] = found
        return found

    def suggest(self, text: str, unit: str | None = None, specimen: str | None = None,
                limit: int = 5, category: str | None = None) -> list[Suggestion]:
        """The best `limit` concepts for a local text (unit, specimen and category are LOINC
        hints: not used here)."""
        return rank_generic(self.terms, text, idf=self.idf, close=self.close_tokens,
                            limit=limit)


class GenericStoreSearch(StoreTargetSearch):
    """mappings.textsearch.StoreTargetSearch for a non-LOINC target: the same text index and
    candidates, the query without LOINC's abbreviations, glossary or lexicon, ranked by
    `rank_generic`; abstract (non-selectable) concepts left out unless `allowed` decides."""

    def __init__(self, store: Store, systems: Sequence[tuple[str, str | None]], *,
                 active_only: bool = True, allowed: Callable[[str], bool] | None = None
                 ) -> None:
        super().__init__(store, systems, active_only=active_only, allowed=allowed)
        if allowed is None:
            abstract: set[str] = set()
            for url, version in systems:
                cs = store.resolve_code_system(url, version)
                if cs is not None:
                    abstract |= store.abstract_codes(cs.pk)
            if abstract:
                frozen = frozenset(abstract)
                self.allowed = lambda code: code not in frozen

    @property
    def lexicon(self) -> Lexicon:
        """No German → LOINC lexicon for a non-LOINC target."""
        return Lexicon()

    def query(self, text: str) -> list[dict[str, float]]:
        """The local text's words (no stop word; an unknown compound as two indexed words)
        as index words, each with its close spellings in the index."""
        words = [w for w in text_keys(text) if w not in STOP_KEYS] or text_keys(text)
        df = self._df(words)
        parts = [p for w in words for p in ([w] if df.get(w) else self.split(w) or [w])]
        close = self._close_many(parts)
        groups: list[dict[str, float]] = []
        for p in parts:
            group = {p: 1.0}
            for c, weight in close.get(p, []):
                group[c] = max(group.get(c, 0.0), weight)
            groups.append(group)
        return groups

    def _close_key(self, key: str) -> list[tuple[str, float]]:
        return self._close_many([key]).get(key, [])

    def suggest_with_systems(self, text: str, unit: str | None = None,
                             specimen: str | None = None, category: str | None = None,
                             limit: int = 5, candidates: int = CANDIDATES
                             ) -> list[tuple[tuple[str, str | None], Suggestion]]:
        found = self.candidates(text, candidates)
        if not found:
            return []
        terms = [t for _, t in found]
        self._df([k for t in terms for x, _ in t.texts for k in text_keys(x)])
        system_of: Mapping[str, tuple[str, str | None]] = {t.code: s for s, t in found}
        ranked = rank_generic(terms, text, idf=self.idf, close=self._close_key, limit=limit)
        return [(system_of[s.code], s) for s in ranked]
