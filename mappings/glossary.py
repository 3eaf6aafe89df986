"""German → English words for lab names that LOINC's English names spell differently and the
spelling skeleton cannot reach ("Gesamt" → total, "Tollwut" → rabies virus).

Each entry is (English words, source, reason). The source is a LOINC code whose German name in
LOINC's own linguistic variant (`deDE15` or `deAT24`, LOINC 2.74 accessory files) holds the
German word while its English name (LOINC 2.78) holds the English words: the pair is LOINC's,
not taken from any gold or evaluation row. tests/mappings/test_glossary_provenance.py checks
every source against those files, and that no key occurs only in the held-out halves of the
gold sets of bench/mapping_eval.py. Entries whose key occurs only in a held-out half were
removed even where LOINC attests them (issue 17). The lexicon learnt from the linguistic
variants (mappings.lexicon) now gives the rest: entries it learns from the deDE15 designations
alone were removed (25, e.g. gesamt → total, harnstoff → urea, eisen → iron); what stays is
what it cannot learn (a German word met in too few aligned names, or a spelling close enough
to the English one to count as a cognate there). Keys are folded tokens
(mappings.normalize.fold: lower case, ä → ae, ß → ss); English words are lower case,
space-separated.
"""

from __future__ import annotations

_AGENT = "German name of an infectious agent or culture word; LOINC uses the English name"
_WORD = "German word; LOINC uses a different English word"
_FORM = "German spelling of the LOINC word that the spelling skeleton does not match"

ENTRIES: dict[str, tuple[str, str, str]] = {
    # -- infectious agents and microbiology words ------------------------------------
    "varizellen": ("varicella zoster", "deAT24 8046-5", _FORM),
    "tollwut": ("rabies virus", "deDE15 30553-2", _AGENT),
    "gelbfieber": ("yellow fever virus", "deDE15 22618-3", _AGENT),
    "koloniezahl": ("colony count", "deDE15 19101-5", _AGENT),
    # -- general lab words -----------------------------------------------------------
    "freies": ("free", "deDE15 720-3", _WORD),
    "mitochondrien": ("mitochondria", "deDE15 20483-4", _FORM),
    "geruch": ("odor", "deDE15 34533-0", _WORD),
    "segmentkernige": ("segmented neutrophils", "deDE15 30451-9", _WORD),
    "fragmentozyten": ("schistocytes", "deAT24 38910-6", _WORD),
    "kugelzellen": ("spherocytes", "deAT24 802-9", _WORD),
    "targetzellen": ("target cells", "deDE15 10381-2", _WORD),
    "normoblasten": ("nucleated erythrocytes", "deDE15 30392-5", _WORD),
    "polychromasie": ("polychromasia", "deDE15 10378-8", _FORM),
    "poikilozytose": ("poikilocytosis", "deDE15 38908-0", _FORM),
    "verschlusszeit": ("closure time", "deDE15 24472-3", _WORD),
    "rhesusfaktor": ("rh", "deAT24 10331-7", _WORD),
    "antikoerpersuchtest": ("antibody screen", "deDE15 15343-7", _WORD),
    "haemolyse": ("hemolysis", "deDE15 35702-0", _FORM),
    "schwangerschaft": ("pregnancy", "deDE15 90767-5", _WORD),
    "kontrolle": ("control", "deDE15 44839-9", _FORM),
    "stimulationstest": ("challenge", "deAT24 13032-8", _WORD),
    "belastung": ("challenge", "deAT24 58946-5", _WORD),
}

GLOSSARY: dict[str, str] = {key: entry[0] for key, entry in ENTRIES.items()}


def glossary_words(token: str) -> tuple[str, ...]:
    """English words for a folded German token (also tried without a plural or case ending
    -n, -en, -e, -s, -er); () when the glossary has none."""
    found = GLOSSARY.get(token)
    if found is None and len(token) > 4:
        for ending in ("en", "er", "n", "e", "s"):
            if token.endswith(ending) and token[:-len(ending)] in GLOSSARY:
                found = GLOSSARY[token[:-len(ending)]]
                break
    return tuple(found.split()) if found else ()
