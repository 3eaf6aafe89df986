"""How much of a local name a target term names: IDF-weighted coverage of the query's word
groups (mappings.suggest), with German words weighed as their English translation."""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

import numpy as np

from mappings.allergens import single_words
from mappings.normalize import ABBREVIATIONS, base_tokens

if TYPE_CHECKING:
    from mappings.suggest import TargetIndex

__all__ = ["component_phrases", "coverage", "english_query", "expansion_phrases",
           "translated_idf"]

#: The share of a word's weight a phrase of its synonyms names when LOINC names the word too.
SYNONYM = 0.9
_PHRASES: WeakKeyDictionary[TargetIndex, frozenset[tuple[str, ...]]] = WeakKeyDictionary()


def component_phrases(index: TargetIndex) -> frozenset[tuple[str, ...]]:
    """The words of every COMPONENT of the targets of two or more words, English and German
    (a German long name before its " [" property): the analyte names LOINC writes."""
    found = _PHRASES.get(index)
    if found is None:
        texts = (text.split(" [", 1)[0] for term in index.terms for text, label in term.texts
                 if label.endswith("COMPONENT")
                 or (label.startswith("de") and label.endswith("LONG_COMMON_NAME")))
        found = frozenset(t for t in map(tuple, map(base_tokens, texts)) if len(t) > 1)
        _PHRASES[index] = found
    return found


def loinc_names(index: TargetIndex, abbreviation: str) -> bool:
    """Whether LOINC names the analyte by the abbreviation itself: it is a word of the
    COMPONENT of most targets that hold it ("INR", "Cholesterol.in HDL"). Such terms are
    found by the abbreviation, so its expansion's words ("coagulation", "cholesterol") are
    only as strong as they are specific."""
    terms = index._post.get(abbreviation)
    if terms is None or not len(terms):
        return False
    return sum(abbreviation in index._component[i] for i in terms.tolist()) * 2 >= len(terms)


def expansion_phrases(index: TargetIndex, expansion: list[str]) -> list[tuple[str, ...]]:
    """The runs of an abbreviation's expansion that are a LOINC COMPONENT ("mcv": erythrocyte
    mean corpuscular volume), longest first and not overlapping: they name the analyte only
    together, while a lone word of the expansion is a synonym ("krea": kreatinin creatinine)."""
    phrases = component_phrases(index)
    out: list[tuple[str, ...]] = []
    used: set[int] = set()
    for size in range(len(expansion), 1, -1):
        for start in range(len(expansion) - size + 1):
            span = set(range(start, start + size))
            run = tuple(expansion[start:start + size])
            if not span & used and run in phrases:
                out.append(run)
                used |= span
    return out


def translated_idf(index: TargetIndex, token: str) -> float | None:
    """The IDF of a German word's learnt English translation (its most specific word), or
    None when the lexicon does not translate it. A German word is rarer in the targets than
    its English word only because fewer terms carry a German name: weighed by its own IDF,
    a translated term would win over an untranslated one that names the same thing."""
    english = [w for w in index.lexicon.english(token) if w in index._post]
    return max(index.idf(w) for w in english) if english else None


def english_query(index: TargetIndex, groups: list[list[str]]) -> str:
    """The query with each German word the lexicon translates replaced by its best English
    words ("farbe" → color): compared with an untranslated term's English name as the German
    words are with a translated term's German name."""
    out: list[str] = []
    for alts in groups:
        entries = index.lexicon.entries(alts[0])
        out.extend(entries[0].english if entries else alts[:1])
    return " ".join(dict.fromkeys(out))


def coverage(index: TargetIndex, groups: list[list[str]]
             ) -> tuple[np.ndarray, list[tuple[str, list[tuple[str, float]]]]]:
    """Per term, the IDF-weighted share of the query's word groups it names (0..1), and
    each group's first word with the vocabulary words it matched (word, similarity)."""
    n = len(index.terms)
    total = np.zeros(n, dtype=np.float32)
    weight_sum = 0.0
    matched: list[tuple[str, list[tuple[str, float]]]] = []
    singles = single_words(groups, index._mix_words)
    for alts in groups:
        best = np.zeros(n, dtype=np.float32)
        weight = 0.0
        hits: list[tuple[str, float]] = []
        cap = translated_idf(index, alts[0])
        # an abbreviation's expansion is a synonym: it names the analyte as fully ("ptt":
        # aPTT), though its words are more common than the short form
        # (the words of it the group still holds: mappings.totalco2 drops some by section)
        expansion = [w for w in ABBREVIATIONS.get(alts[0], "").split() if w in alts]
        phrases = expansion_phrases(index, expansion) if expansion else []
        in_phrase = {w for run in phrases for w in run}
        named = loinc_names(index, alts[0])
        same = frozenset() if named else frozenset(expansion) - in_phrase
        for a, alt in enumerate(alts):
            if a and alt in in_phrase:
                continue
            for cand, sim in index.close_tokens(alt):
                idf = index.idf(cand)
                if not weight and a == 0:
                    # the token itself (or its closest spelling) sets the weight; a German
                    # word no more than its English translation (translated_idf)
                    weight = min(idf, cap) if cap else idf
                hits.append((cand, sim))
                w = weight if a and weight and alt in same else min(idf, weight or idf)
                np.maximum.at(best, index._post[cand], np.float32(w * sim))
        if weight == 0.0:  # an unknown token still counts against every term
            weight = max([index.idf(h) for h, _ in hits] or [index.idf(alts[0])])
        # a phrase names it in the IDF-weighted share of its words; a synonym of a word
        # LOINC itself names by ("bicarbonate": carbon dioxide total) a little less than
        # the word itself
        synonym = np.float32(weight * (SYNONYM if named else 1.0))
        for run in phrases:
            np.maximum(best, synonym * _phrase_share(index, run, hits), out=best)
        if alts[0] in index._implied:  # "total": named by every plain COMPONENT
            np.maximum(best, np.float32(weight) * index._plain, out=best)
        if alts[0] in singles:  # "Allergen, Food, Celery": named by every single allergen
            np.maximum(best, np.float32(weight) * index._single, out=best)
        weight_sum += weight
        total += best
        matched.append((alts[0], hits))
    if weight_sum:
        total /= weight_sum
    return np.minimum(total, 1.0), matched


def _phrase_share(index: TargetIndex, run: tuple[str, ...], hits: list[tuple[str, float]]
                  ) -> np.ndarray:
    """Per term, the IDF-weighted share of a phrase's words it holds (or spells close)."""
    held = np.zeros(len(index.terms), dtype=np.float32)
    total = 0.0
    for word in run:
        close = index.close_tokens(word)
        hits.extend(close)
        total += max([index.idf(c) * sim for c, sim in close] or [index.idf(word)])
        found = np.zeros(len(index.terms), dtype=np.float32)
        for cand, sim in close:
            np.maximum.at(found, index._post[cand], np.float32(index.idf(cand) * sim))
        held += found
    held /= np.float32(total or 1.0)
    np.minimum(held, np.float32(1.0), out=held)
    return held
