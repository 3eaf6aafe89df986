"""German plurals with umlaut ("Gräser", "Bäume", "Nüsse"): the singular a target or the
learnt lexicon knows (issue 17).

The lexicon (mappings.lexicon.Lexicon.entries) strips a plural or case ending, but a German
plural often also turns the stem's vowel into an umlaut (Gras → Gräser, Baum → Bäume, Nuss →
Nüsse, Kraut → Kräuter). `singulars` gives the folded stems without the ending and the last
umlaut (ae/oe/ue → a/o/u); `singular_alternatives` the first a target word spells close to
or the lexicon translates, with its English words.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mappings.suggest import TargetIndex

__all__ = ["singular_alternatives", "singulars"]

#: Plural endings that come with an umlaut, longest first ("" : Mütter → Mutter).
_ENDINGS = ("er", "e", "")
_UMLAUT = re.compile(r"(ae|oe|ue)(?!.*(?:ae|oe|ue))")


def singulars(token: str) -> list[str]:
    """Folded singular candidates of a German plural with umlaut: "graeser" → [gras]."""
    if not _UMLAUT.search(token):
        return []
    out: list[str] = []
    for ending in _ENDINGS:
        if token.endswith(ending):
            stem = _UMLAUT.sub(lambda m: m.group(1)[0], token[:len(token) - len(ending)])
            if len(stem) >= 3 and stem not in out:
                out.append(stem)
    return out


def singular_alternatives(index: TargetIndex, token: str) -> list[str]:
    """The first singular (`singulars`) of an unknown word the targets or the lexicon know,
    and its English words; [] if none."""
    for stem in singulars(token):
        if stem in index._post or index.lexicon.known(stem) or index.close_tokens(stem):
            return [stem, *index.lexicon.english(stem)]
    return []
