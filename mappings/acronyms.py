"""Acronyms learnt from LOINC's own components: the initials of a component of two or more
words ("LD": Lactate dehydrogenase, "UN": Urea nitrogen), for a short query word no target
text holds.

An acronym is kept only when one component owns it: that component has at least `MIN_TERMS`
terms and `SHARE` of the terms whose component has those initials ("LD": lactate
dehydrogenase 69 of 83 terms, lysergate diethylamide 14). Components with a word of fewer
than three letters or a molecule word (Ab, Ag, DNA, RNA) name no acronym: "TGA" is no more
"Toxoplasma gondii Ab" than thyroglobulin antibodies.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from mappings.normalize import base_tokens

__all__ = ["MIN_TERMS", "SHARE", "acronyms"]

#: Terms the owning component needs, and its share of the terms with those initials.
MIN_TERMS = 20
SHARE = 0.75
_MOLECULES = frozenset({"ab", "ag", "dna", "rna", "rrna", "mrna"})
_ANALYTE = re.compile(r"[.^/+:]")


def acronyms(components: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Initials (2-4 letters) → the words of the one component that owns them."""
    counts: dict[str, Counter[tuple[str, ...]]] = {}
    for component in components:
        # a numbered isoenzyme or fraction ("Lactate dehydrogenase 4") counts for its enzyme
        words = tuple(w for w in base_tokens(_ANALYTE.split(component, 1)[0])
                      if not w.isdigit())
        if 2 <= len(words) <= 4 and all(len(w) >= 3 and w.isalpha() for w in words) \
                and not _MOLECULES & set(words):
            counts.setdefault("".join(w[0] for w in words), Counter())[words] += 1
    out: dict[str, tuple[str, ...]] = {}
    for initials, owners in counts.items():
        (words, n), = owners.most_common(1)
        if n >= MIN_TERMS and n >= SHARE * sum(owners.values()):
            out[initials] = words
    return out
