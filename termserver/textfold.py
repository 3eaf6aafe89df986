"""Text folding and matching for `$expand`'s `filter` (shared by the store's search index and
the in-memory expansion path, so both answer alike).

Folding: lower case, diacritics dropped, ß → ss, then per word a spelling key German and
English medical words share: ae/oe/ue → a/o/u, ph → f, th → t, c before e/i/y → z, other c →
k, y → i, doubled letters once. So "Hämoglobin", "Haemoglobin" and "hamoglobin" fold alike,
and so do "Kreatinin"/"Creatinin", "Glukose"/"Glucose", "Leukozyten"/"Leukocyten". Numbers
are kept as they are. Words are the runs of letters and digits.

A query matches a text when each query word begins a word of the text (all words, any
order). A query without spaces also matches codes equal to it or beginning with it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+")
_UMLAUT = re.compile(r"ae|oe|ue")
_SOFT_C = re.compile(r"c(?=[eiy])")
_DOUBLE = re.compile(r"([a-z])\1+")

#: Rank tiers of a matching text: exact (whole text), every word whole, by prefixes.
EXACT, WHOLE, PREFIX = 0, 1, 2
#: Kinds of indexed text: the display, a designation, a keyword. Keywords are designations
#: whose use marks them as search aids rather than names of the concept (LOINC's related
#: names, RELATEDNAMES2: "Glucose", "TSH" for hundreds of terms each): they match like any
#: text but never as the exact text, and rank after every other text of their tier.
DISPLAY, DESIGNATION, KEYWORD = 0, 1, 2
KEYWORD_USES = frozenset({"RELATEDNAMES2"})


def text_kind(use_code: str | None) -> int:
    """DESIGNATION or KEYWORD, by a designation's use code."""
    return KEYWORD if use_code in KEYWORD_USES else DESIGNATION


def fold(text: str) -> str:
    """The folded words of `text`, joined by single spaces."""
    return " ".join(_key(w) for w in _raw_words(text))


def _raw_words(text: str) -> list[str]:
    text = text.lower()
    if not text.isascii():
        text = text.replace("ß", "ss")
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(ch))
    return _WORD.findall(text)


def _key(word: str) -> str:
    if word.isdigit():
        return word
    w = _UMLAUT.sub(_first, word).replace("ph", "f").replace("th", "t")
    w = _SOFT_C.sub("z", w).replace("c", "k").replace("y", "i")
    return _DOUBLE.sub(r"\1", w)


def _first(m: re.Match[str]) -> str:
    return m.group(0)[0]


@dataclass(frozen=True, slots=True)
class Query:
    """A folded query: its distinct `words`, and for each the `prefixes` a text word must
    begin with (a word typed up to a "c" or "p" may go on as "ce…"/"ph…", whose keys differ:
    that last letter is left out; "" matches any word)."""

    words: tuple[str, ...]
    prefixes: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def parse(query: str) -> Query:
    """The folded words and prefixes of a query."""
    seen: dict[str, str] = {}
    for raw in _raw_words(query):
        key = _key(raw)
        prefix = key[:-1] if raw[-1] in "cp" and not raw.isdigit() else key
        seen.setdefault(key, prefix)
    return Query(tuple(seen), tuple(seen.values()))


def words(query: str) -> list[str]:
    """The distinct folded words of a query, in order."""
    return list(parse(query).words)


def tier(query: Query, folded_text: str) -> int | None:
    """EXACT, WHOLE or PREFIX when every query word begins a word of `folded_text` (folded),
    else None."""
    if not query.words:
        return None
    have = folded_text.split()
    if not all(any(w.startswith(p) for w in have) for p in query.prefixes):
        return None
    if query.text == folded_text:
        return EXACT
    return WHOLE if all(q in have for q in query.words) else PREFIX


def has_case(code: str) -> bool:
    """Whether `code` holds a character that has case (a letter): else a case-insensitive
    match is the exact one, and it is no code (nor the beginning of one) of a code system
    none of whose codes has one."""
    return code.lower() != code.upper()


def code_query(query: str) -> str | None:
    """The query as a code (exact or prefix match), or None when it cannot be one."""
    text = query.strip()
    return text if text and not any(ch.isspace() for ch in text) else None
