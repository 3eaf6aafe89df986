"""Bicarbonate as a chemistry analyser measures it (total CO2) or as a blood gas analyser
calculates it.

General laboratory knowledge, hand-written, not derived from any evaluation set: the
"bicarbonate" (or "CO2") of a chemistry panel is measured as the total carbon dioxide of the
serum, plasma or fluid, which LOINC names "Carbon dioxide, total" (mappings.normalize gives
"bicarbonate" that synonym). A blood gas analyser instead calculates the bicarbonate itself
from pH and pCO2 (Henderson-Hasselbalch) and reports the total CO2 apart: in a blood gas
section "bicarbonate" is LOINC's Bicarbonate only (`by_section`).
"""

from __future__ import annotations

from mappings.normalize import ABBREVIATIONS, fold

__all__ = ["by_section"]

_BICARBONATE = "bicarbonate"
#: The words of the total CO2 synonym (mappings.normalize.ABBREVIATIONS).
_TOTAL_CO2 = frozenset(ABBREVIATIONS.get(_BICARBONATE, "").split()) - {_BICARBONATE}


def by_section(groups: list[list[str]], category: str | None) -> list[list[str]]:
    """The query's word groups (mappings.suggest) with bicarbonate's total CO2 synonym
    dropped in a blood gas section ("Blood Gas", "Blutgasanalyse"); else unchanged."""
    if not category or "gas" not in fold(category):
        return groups
    return [[a for a in alts if a not in _TOTAL_CO2] if alts[0] == _BICARBONATE else alts
            for alts in groups]
