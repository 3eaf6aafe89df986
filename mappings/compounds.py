"""German compounds whose learnt translation lost their head noun.

A German compound names the thing by its last part ("Cystinkristalle": cystine crystals,
"Leukozytenzylinder": leukocyte casts, "Sichelzellen": sickle cells). When LOINC's variants
pair such a compound with only its first part's English word (mappings.lexicon learns
"cystinkristalle" → cystine from names where "crystals" was matched elsewhere), a search for
it finds the analyte, not the crystals. `lost_head` gives the compound's last part back as a
word of its own when the lexicon translates that part firmly on COMPONENT names and the
compound's translation holds none of its words.
"""

from __future__ import annotations

from mappings.lexicon import Lexicon

__all__ = ["lost_head"]

#: Least COMPONENT names and share behind the last part's translation.
MIN_COUNT = 5
MIN_CONFIDENCE = 0.9


def lost_head(lexicon: Lexicon, word: str) -> list[str] | None:
    """[word, last part] for a compound the lexicon translates without its last part
    ("cystinkristalle" → [cystinkristalle, kristalle]); None otherwise."""
    if len(word) < 9 or not lexicon.known(word):
        return None
    for i in range(4, len(word) - 4):
        tail = word[i:]
        entries = lexicon.words.get(tail)
        if not entries:
            continue
        best = entries[0]
        if best.axis != "COMPONENT" or best.confidence < MIN_CONFIDENCE \
                or best.count < MIN_COUNT or any(tail in e or e in tail for e in best.english):
            return None
        said = set(lexicon.english(word))
        return None if said & set(best.english) else [word, tail]
    return None
