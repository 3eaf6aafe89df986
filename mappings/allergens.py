"""Allergen codes in local names, learnt from LOINC's own Austrian names (issue 17).

Lab catalogues name an allergen test by the allergen code of the test system ("f13" peanut,
"g12" cultivated rye, "fx5" a food mix; some write them zero-padded: "F013", "GX02"). LOINC's
Austrian variant (deAT24) names its allergy terms with the same codes ("IgE f13 Erdnuss",
"gm1 Penicillium chrysogenum IgG"), so the codes are learnt from the variant, not listed by
hand: `code_pairs` takes a code standing first or second in a German display name of an
ALLERGY term with the term's English analyte (the display name before the immunoglobulin,
"Peanut"; a mix without its list of members, "Food Allergen Mix 7"), and `learn_codes` keeps
a code with the words every analyte it names shares ("f83": Chicken, Chicken meat → chicken).
`expand_codes` reads a code of a local name that no target word spells as those words, and
an allergen component written in one word ("Arah3") as LOINC writes it ("(nAra h) 3").

A catalogue files single allergens under words LOINC uses only for its mixes ("Allergen,
Food, Celery IgE": LOINC's "Celery IgE Ab", but "Food Allergen Mix 7 (Onion+…+Celery…)"):
matched as text those words favour the mixes that hold the allergen. `mix_words` learns them
from the ALLERGY terms (words of the mixes' names that the single allergens' names hardly
use: allergen, food, epidermal, weed …); a query that names no mix (`MIX_MARKERS`) finds them
named by every single allergen's term (`single_words`, mappings.coverage).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence

import numpy as np

from mappings.normalize import base_tokens

__all__ = ["MIX_MARKERS", "analyte", "code_key", "code_pairs", "component_words",
           "expand_codes", "learn_codes", "mix_words", "single_words"]

#: Words (English, German; also a compound's end: "Nahrungsmittelmix") that name a mix.
MIX_MARKERS = ("mix", "mischung", "gemisch")

# an allergen code: letters, a number (zero-padded by some), an optional letter ("fx5e")
_CODE = re.compile(r"^([a-z]{1,3}?)0*(\d{1,3})([a-z]?)$")
# the English display name up to the immunoglobulin, the antibody or the property
_ANALYTE_END = re.compile(r"\s(?:Ig[AEGM]\d?|Ab|\[).*$")
# a mix's list of members: "(Onion+Garlic+Celery)"
_MEMBERS = re.compile(r"\s*\([^()]*[+,][^()]*\)")
_IMMUNOGLOBULINS = frozenset("ige igg igg4 iga igm".split())
# an allergen component in one word: (r/n) genus, species letter, number ("arah3", "nactd5")
_COMPACT = re.compile(r"^([rn]?)([a-z]{3})([a-z])(\d{1,2})$")


def code_key(token: str) -> str | None:
    """A folded token as an allergen code without zero padding ("g017" → g17), else None."""
    m = _CODE.match(token)
    if not m or not m.group(1) or m.group(1).startswith("ig"):
        return None
    return f"{m.group(1)}{int(m.group(2))}{m.group(3)}"


def analyte(display: str) -> str:
    """The allergen an English LOINC display name names: "Peanut IgE Ab [Units/volume] in
    Serum" → Peanut; "Food Allergen Mix 7 (Onion+Garlic) IgE Ab …" → Food Allergen Mix 7."""
    return _MEMBERS.sub("", _ANALYTE_END.sub("", display)).strip()


def code_pairs(german: str, display: str, properties: Mapping[str, str]
               ) -> Iterator[tuple[str, str]]:
    """(code, English analyte) of a German display name of an ALLERGY term that names it by
    an allergen code in its first two words after the immunoglobulin ("IgE f13 Erdnuss")."""
    if properties.get("CLASS") != "ALLERGY":
        return
    words = [t for t in base_tokens(german) if t not in _IMMUNOGLOBULINS][:2]
    name = analyte(display)
    for word in words:
        key = code_key(word)
        if key and name:
            yield key, name
            return


def learn_codes(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """Code → the words all the English analytes it names share, in the first's order."""
    seen: dict[str, list[list[str]]] = {}
    for code, name in pairs:
        seen.setdefault(code, []).append(base_tokens(name))
    out: dict[str, tuple[str, ...]] = {}
    for code, names in seen.items():
        shared = set.intersection(*(set(n) for n in names))
        words = tuple(dict.fromkeys(w for w in names[0] if w in shared))
        if words:
            out[code] = words
    return out


def expand_codes(tokens: Iterable[str], codes: Mapping[str, tuple[str, ...]],
                 known: Container[str]) -> list[str]:
    """Query tokens with each allergen code no target word spells (`known`) as the words of
    its allergen ("IgE f13 Erdnuss" → ige peanut erdnuss; "F013" as f13), and an allergen
    component written in one word as LOINC writes it (`component_words`)."""
    out: list[str] = []
    for tok in tokens:
        key = code_key(tok) if tok not in known else None
        words = codes.get(key, ()) if key else ()
        out.extend(words or (component_words(tok, known) if tok not in known else ()) or (tok,))
    return out


def component_words(token: str, known: Container[str]) -> tuple[str, ...]:
    """A WHO/IUIS allergen component in one word ("arah3", "nactd5": genus, species letter,
    number) as LOINC's words ("rara nara h 3": LOINC writes "(rAra h) 3", "(nAra h) 3"): the
    recombinant and native genus words the targets hold (only the one the token names, if it
    names one); () if the targets hold neither."""
    m = _COMPACT.match(token)
    if not m:
        return ()
    prefix, genus, species, number = m.groups()
    heads = tuple(p + genus for p in (prefix or "rn") if p + genus in known)
    return (*heads, species, number) if heads else ()


def mix_words(classes: Sequence[str], displays: Sequence[str], components: Sequence[str]
              ) -> tuple[frozenset[str], np.ndarray]:
    """Words (4+ letters) of the ALLERGY mixes' names (of several sources joined by "+" or
    a "mix") in at least 3 mixes and at most a fifth as many single allergens, and per term 1.0
    for a single allergen's term (ALLERGY, no mix), else 0.0."""
    mixes: Counter[str] = Counter()
    singles: Counter[str] = Counter()
    single = np.zeros(len(classes), dtype=np.float32)
    for i, (cls, display, component) in enumerate(zip(classes, displays, components,
                                                      strict=True)):
        if cls != "ALLERGY":
            continue
        words = set(base_tokens(analyte(display)))
        if "+" in f"{component}{display}" or MIX_MARKERS[0] in base_tokens(component) \
                or MIX_MARKERS[0] in words:
            mixes.update(words)
        else:
            singles.update(words)
            single[i] = 1.0
    return frozenset(w for w, n in mixes.items() if n >= 3 and len(w) >= 4 and w.isalpha()
                     and singles[w] <= 0.2 * n), single


def single_words(groups: Sequence[Sequence[str]], words: Container[str]) -> frozenset[str]:
    """The query words (`mix_words`) a single allergen's term names, none if it names a mix."""
    if any(t.endswith(MIX_MARKERS) for alts in groups for t in alts):
        return frozenset()
    return frozenset(alts[0] for alts in groups if alts[0] in words)
