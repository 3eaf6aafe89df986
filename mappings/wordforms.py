"""Local words that name a target word in another form (issue 17): a demethylated drug
metabolite written "Desmethyl…" where LOINC writes "Nor…", and a word a catalogue writes in two
("Sulf Hgb", "Box Elder", "7-Amino Flunitrazepam") that the targets write as one ("SulfHgb",
"Boxelder", "7-Aminoflunitrazepam").

Both are checked against the targets' own words (`vocab`), never listed by hand: `nor_forms`
rewrites an unknown "desmethyl…" word only when the targets hold its "nor…" form, and
`joined_words` adds the joined word to both words' groups only when a target holds it, so a
term that names the two words apart still matches them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence

from mappings.normalize import STOP_WORDS

__all__ = ["DEMETHYL", "joined_words", "nor_forms"]

#: Prefixes of a demethylated metabolite: chemistry names it "nor-" (N-desmethylcitalopram is
#: norcitalopram, desmethyldiazepam nordiazepam), as LOINC does (Norcitalopram, Norclobazam,
#: Nortrimipramine, Nordiazepam).
DEMETHYL = ("ndesmethyl", "desmethyl", "demethyl")


def nor_forms(tokens: Iterable[str], vocab: Container[str]) -> list[str]:
    """`tokens` with each unknown "desmethyl…" word whose "nor…" form the targets hold written
    so ("desmethyltrimipramine" → nortrimipramine)."""
    out: list[str] = []
    for tok in tokens:
        if tok not in vocab:
            for prefix in DEMETHYL:
                if tok.startswith(prefix) and f"nor{tok[len(prefix):]}" in vocab:
                    tok = f"nor{tok[len(prefix):]}"
                    break
        out.append(tok)
    return out


def joined_words(groups: list[list[str]], vocab: Container[str], words: Sequence[str]
                 ) -> list[list[str]]:
    """Query word groups where two neighbouring words of the name (`words`: letters only, 2+
    letters each, no filler) that the targets write as one word also have that word: "sulf",
    "hgb" → both with sulfhgb. The parts of a compound the index split are no neighbours of
    the name ("agar", "diffusion" of "Agardiffusionstest"). The groups are changed in place."""
    pairs = set(zip(words, words[1:], strict=False))
    for left, right in zip(groups, groups[1:], strict=False):
        a, b = left[0], right[0]
        if (a, b) not in pairs or len(a) < 2 or len(b) < 2 or not (a + b).isalpha() \
                or a in STOP_WORDS or b in STOP_WORDS:
            continue
        joined = a + b
        if joined in vocab:
            for group in (left, right):
                if joined not in group:
                    group.append(joined)
    return groups
