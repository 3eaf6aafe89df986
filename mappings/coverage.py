"""How much of a local name a target term names: IDF-weighted coverage of the query's word
groups (mappings.suggest), with German words weighed as their English translation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mappings.normalize import ABBREVIATIONS

if TYPE_CHECKING:
    from mappings.suggest import TargetIndex

__all__ = ["coverage", "english_query", "translated_idf"]


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
    for alts in groups:
        best = np.zeros(n, dtype=np.float32)
        weight = 0.0
        hits: list[tuple[str, float]] = []
        cap = translated_idf(index, alts[0])
        # an abbreviation's expansion is a synonym: it names the analyte as fully ("ptt":
        # aPTT), though its words are more common than the short form
        same = frozenset(ABBREVIATIONS.get(alts[0], "").split())
        for a, alt in enumerate(alts):
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
        if alts[0] in index._implied:  # "total": named by every plain COMPONENT
            np.maximum(best, np.float32(weight) * index._plain, out=best)
        weight_sum += weight
        total += best
        matched.append((alts[0], hits))
    if weight_sum:
        total /= weight_sum
    return np.minimum(total, 1.0), matched
