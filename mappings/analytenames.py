"""Specimen words that belong to an analyte's name, not to the specimen.

General laboratory knowledge, hand-written, not derived from any evaluation set: some
analytes are named with a specimen word. Plasma cells (Plasmazellen, the antibody-making
B cells counted in a blood or fluid differential) are cells, not plasma; the rapid plasma
reagin test (RPR) is a syphilis serology named after its card test; serum amyloid A and P are
acute-phase proteins; occult blood is the haemoglobin a stool test finds; blood urea nitrogen
(BUN) is measured in serum or plasma; the erythrocyte sedimentation rate is no urine
sediment. Read as the specimen, the word would send "Plasma Cells, Ascites" to a plasma term
and "Sedimentation Rate" to a urine sediment one: `without_analyte_names` takes these names
out of the text a specimen is read from (mappings.hints.axes); the analyte words still count.
"""

from __future__ import annotations

import re

from mappings.normalize import fold

__all__ = ["without_analyte_names"]

_ANALYTE_NAMES = re.compile(
    r"(?<![a-z])(?:plasma[ -]?(?:cells?|zellen|zelle|cytes?|zyten)|plasmazell\w*"
    r"|rapid plasma reagin|serum amyloid|occult blood|blood urea nitrogen"
    r"|sedimentation(?: rate)?|blutsenkung\w*)(?![a-z])")


def without_analyte_names(text: str) -> str:
    """`text` without the analyte names that hold a specimen word ("Plasma Cells", "Rapid
    Plasma Reagin", "Occult Blood"), folded; unchanged when it names none."""
    folded = fold(text)
    return _ANALYTE_NAMES.sub(" ", folded) if _ANALYTE_NAMES.search(folded) else text
