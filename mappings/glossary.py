"""German → English words for lab names that LOINC's English names spell differently and the
spelling skeleton cannot reach ("Gesamt" → total, "Tollwut" → rabies virus).

Each entry is (English words, source, reason). The source is a LOINC code whose German name in
LOINC's own linguistic variant (`deDE15` or `deAT24`, LOINC 2.74 accessory files) holds the
German word while its English name (LOINC 2.78) holds the English words: the pair is LOINC's,
not taken from any gold or evaluation row. tests/mappings/test_glossary_provenance.py checks
every source against those files, and that no key occurs only in the held-out halves of the
gold sets of bench/mapping_eval.py. Entries whose key occurs only in a held-out half were
removed even where LOINC attests them (issue 17); a lexicon learnt from the linguistic
variants is to replace this hand list. Keys are folded tokens (mappings.normalize.fold: lower
case, ä → ae, ß → ss); English words are lower case, space-separated.
"""

from __future__ import annotations

_ALLERGEN = "German name of an allergen source; LOINC names it in English"
_AGENT = "German name of an infectious agent or culture word; LOINC uses the English name"
_WORD = "German word; LOINC uses a different English word"
_FORM = "German spelling of the LOINC word that the spelling skeleton does not match"

ENTRIES: dict[str, tuple[str, str, str]] = {
    # -- allergen sources ------------------------------------------------------------
    "schokolade": ("chocolate", "deDE15 57935-9", _FORM),
    # -- infectious agents and microbiology words ------------------------------------
    "varizellen": ("varicella zoster", "deAT24 8046-5", _FORM),
    "tollwut": ("rabies virus", "deDE15 30553-2", _AGENT),
    "gelbfieber": ("yellow fever virus", "deDE15 22618-3", _AGENT),
    "wurmeier": ("ova", "deDE15 10704-5", _AGENT),
    "bakterien": ("bacteria", "deDE15 42803-7", _FORM),
    "resistenz": ("resistance", "deDE15 50699-8", _FORM),
    "koloniezahl": ("colony count", "deDE15 19101-5", _AGENT),
    # -- general lab words -----------------------------------------------------------
    "gesamt": ("total", "deDE15 32149-7", _WORD),
    "frei": ("free", "deDE15 720-3", _WORD),
    "freies": ("free", "deDE15 720-3", _WORD),
    "freie": ("free", "deDE15 720-3", _WORD),
    "gebunden": ("bound", "deDE15 14152-3", _WORD),
    "harnstoff": ("urea", "deDE15 20977-5", _WORD),
    "gallensaeure": ("bile acid", "deDE15 43877-0", _WORD),
    "eisen": ("iron", "deDE15 57028-3", _WORD),
    "kupfer": ("copper", "deDE15 56126-6", _FORM),
    "blei": ("lead", "deDE15 5673-9", _WORD),
    "quecksilber": ("mercury", "deDE15 39583-0", _WORD),
    "selen": ("selenium", "deDE15 50904-2", _FORM),
    "aktivitaet": ("activity", "deDE15 3289-6", _FORM),
    "gerinnungsfaktor": ("coagulation factor", "deDE15 21001-3", _WORD),
    "zellen": ("cells", "deDE15 58434-2", _FORM),
    "mitochondrien": ("mitochondria", "deDE15 20483-4", _FORM),
    "leber": ("liver", "deDE15 14272-9", _WORD),
    "farbe": ("color", "deDE15 10569-2", _WORD),
    "geruch": ("odor", "deDE15 34533-0", _WORD),
    "aussehen": ("appearance", "deDE15 39105-2", _WORD),
    "kristalle": ("crystals", "deDE15 58433-4", _FORM),
    "schleim": ("mucus", "deDE15 53321-6", _WORD),
    "segmentkernige": ("segmented neutrophils", "deDE15 30451-9", _WORD),
    "fragmentozyten": ("schistocytes", "deAT24 38910-6", _WORD),
    "kugelzellen": ("spherocytes", "deAT24 802-9", _WORD),
    "targetzellen": ("target cells", "deDE15 10381-2", _WORD),
    "normoblasten": ("nucleated erythrocytes", "deDE15 30392-5", _WORD),
    "polychromasie": ("polychromasia", "deDE15 10378-8", _FORM),
    "anisozytose": ("anisocytosis", "deDE15 38892-6", _FORM),
    "poikilozytose": ("poikilocytosis", "deDE15 38908-0", _FORM),
    "verschlusszeit": ("closure time", "deDE15 24472-3", _WORD),
    "rhesusfaktor": ("rh", "deAT24 10331-7", _WORD),
    "antikoerpersuchtest": ("antibody screen", "deDE15 15343-7", _WORD),
    "haemolyse": ("hemolysis", "deDE15 35702-0", _FORM),
    "blutungszeit": ("bleeding time", "deDE15 11067-6", _WORD),
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
