"""Allergen names (issue 17): component numbers run on ("rFel d4") read as LOINC writes them,
and the kind of source an allergen code names (mappings.allergens)."""

from __future__ import annotations

from mappings.normalize import query_tokens
from mappings.suggest import TargetIndex, TargetTerm


def _allergy(code: str, display: str) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"),),
                      {"CLASS": "ALLERGY", "PROPERTY": "ACnc", "SYSTEM": "Ser"})


def test_a_component_number_run_on_is_a_word_of_its_own() -> None:
    assert query_tokens("IgE Katzenkomponente (rFel d4)")[-3:] == ["rfel", "d", "4"]
    assert query_tokens("nAra h9 RAST")[:3] == ["nara", "h", "9"]
    assert query_tokens("Latex rHev b 3")[1:] == ["rhev", "b", "3"]


def test_a_component_number_picks_its_component() -> None:
    terms = [_allergy(str(n), f"Cat recombinant (rFel d) {n} IgE Ab [Units/volume] in Serum")
             for n in (1, 2, 4)]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("IgE Katze (rFel d4)", unit="kU/L", limit=1)[0].code == "4"
