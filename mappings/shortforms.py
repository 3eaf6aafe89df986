"""LOINC's own short forms of words, learnt from the targets' SHORTNAMEs: a catalogue writes
"Urn", "Neut", "Fld" or "Cfm" as LOINC's short names do, and the local name then names the
specimen, the analyte or the method only in short.

A SHORTNAME word is a short form of a word of the same term's long name when it starts with
the same letter and its letters occur in that word in order ("Urn" of Urine, "Snv" of
Synovial, "Neut" of Neutrophil), and no other word of the long name fits. It is kept when no
other text of any target (display, COMPONENT, consumer or German name) holds it as a word, it
is no German word the lexicon knows, and one long word owns it: at least `MIN_TERMS` terms
and `SHARE` of the terms that pair it ("Prt": peritoneal 220 of 244, prostate 24).
`with_long_forms` writes a local name's short forms out in full, so that the specimen and
method words (mappings.hints) and the target names see them.

`split_case` parts a word a catalogue writes run together with capitals ("BasoFlg",
"WBCScat", "MDRDgfr") when no target knows the whole word: its parts are words of their own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from mappings.normalize import base_tokens, fold

__all__ = ["MIN_TERMS", "SHARE", "abbreviates", "short_forms", "split_case", "with_long_forms"]

#: Terms that pair a short form with its long word, and that word's share of its pairings.
MIN_TERMS = 10
SHARE = 0.8
_WORD = re.compile(r"[a-z]+")
_CASED = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*[a-z][A-Z]|[A-Za-z]*[A-Z]{2}[a-z])"
                    r"[A-Za-z]+(?![A-Za-z0-9])")
#: the parts of a cased word: capitals before a capitalised word ("WBC|Scat"), a capitalised or
#: lower-case run; or, the other reading, each run of capitals and of lower case ("MDRD|gfr")
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_RUNS = re.compile(r"[A-Z]+|[a-z]+")


def abbreviates(short: str, word: str) -> bool:
    """Whether `short` is shorter than `word`, written with its first letter and later
    letters in order ("urn" of urine, "stl" of stool; not "hair" of hair)."""
    if not short or len(word) <= len(short) or word[0] != short[0]:
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in short[1:])


def short_forms(terms: Iterable[tuple[str, Sequence[tuple[str, str]]]],
                known: Callable[[str], bool] = lambda w: False) -> dict[str, str]:
    """Short form → long word, from (display, texts) pairs of the targets; `known`: words of
    another language that are no short forms (the German lexicon's)."""
    pairs: dict[str, Counter[str]] = {}
    long_words: set[str] = set()
    for display, texts in terms:
        long = set(base_tokens(display))
        long_words |= long
        for text, label in texts:
            if not label.endswith("SHORTNAME"):
                long_words.update(base_tokens(text))
                continue
            for short in set(base_tokens(text)) - long:
                if len(short) < 3 or not short.isalpha():
                    continue
                fits = [w for w in long if abbreviates(short, w)]
                if len(fits) == 1:
                    pairs.setdefault(short, Counter())[fits[0]] += 1
    out: dict[str, str] = {}
    for short, words in pairs.items():
        (word, n), = words.most_common(1)
        if short not in long_words and not known(short) and n >= MIN_TERMS \
                and n >= SHARE * sum(words.values()):
            out[short] = word
    return out


def with_long_forms(text: str, forms: Mapping[str, str]) -> str:
    """`text` with each short form of `forms` written out ("Oxycodone, Urn" → "…, urine")."""
    if not forms:
        return text
    folded = fold(text)
    words = set(_WORD.findall(folded))
    if not words & forms.keys():
        return text
    return _WORD.sub(lambda m: forms.get(m.group(0), m.group(0)), folded)


def split_case(text: str, known: Callable[[str], bool]) -> str:
    """`text` with each word written in cased parts that `known` does not know as a whole
    ("BasoFlg" → "Baso Flg", "WBCScat" → "WBC Scat", "MDRDgfr" → "MDRD gfr", "NTproBNP" →
    "NT proBNP"): of the readings (`_CAMEL`, `_RUNS`, each also with two neighbouring parts
    joined) the one with the most letters in known parts, then the fewest parts; only when
    each part has 2+ letters and one is known."""
    def parted(m: re.Match[str]) -> str:
        word = m.group(0)
        if known(word.lower()):
            return word
        best: list[str] = []
        score = (0, 0)
        for reading in (_CAMEL, _RUNS):
            parts = reading.findall(word)
            for joined in (parts, *([*parts[:i], parts[i] + parts[i + 1], *parts[i + 2:]]
                                    for i in range(len(parts) - 1))):
                letters = sum(len(p) for p in joined if known(p.lower()))
                if len(joined) > 1 and min(map(len, joined)) >= 2 \
                        and (letters, -len(joined)) > score:
                    best, score = joined, (letters, -len(joined))
        return " ".join(best) if best else word

    return _CASED.sub(parted, text)
