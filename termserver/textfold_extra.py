"""Folding helpers next to termserver.textfold, for callers that analyse text before they
search the index (the mapping workbench).

`spell_fold` keeps German umlauts as digraphs (ä → ae, ö → oe, ü → ue, ß → ss; other
diacritics dropped), the spelling German lab names are also written in, so word rules can be
written once ("harnsaeure"). It agrees with the index: textfold.fold of a text's spell_fold
is textfold.fold of the text (except where an umlaut is followed by "e", as in "säen"), so a
word analysed in this spelling is looked up in the index by its `index_word`.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from termserver.textfold import fold

_DIGRAPHS = (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"))


def spell_fold(text: str) -> str:
    """Lower-case; umlauts and ß as digraphs; other diacritics removed."""
    text = text.lower()
    if text.isascii():
        return text
    for letter, digraph in _DIGRAPHS:  # str.replace: a translate table is slower here
        text = text.replace(letter, digraph)
    if text.isascii():  # most German texts
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():
        return decomposed
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=200_000)
def index_word(word: str) -> str:
    """The index's key of one word (termserver.textfold: "haemoglobin" → "hamoglobin",
    "glucose" → "glukose"); "" for a text without letters or digits."""
    return fold(word).replace(" ", "")
