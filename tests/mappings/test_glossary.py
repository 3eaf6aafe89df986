"""The German glossary: folded single-token keys, and suggestions that reach English-only
LOINC names through it (allergens, infectious agents, compounds of glossary words)."""

from __future__ import annotations

import pytest

from mappings.glossary import GLOSSARY, glossary_words
from mappings.normalize import base_tokens, fold
from mappings.suggest import TargetIndex, TargetTerm, suggest


def test_keys_are_folded_single_tokens_and_values_lower_case_words() -> None:
    for key, value in GLOSSARY.items():
        assert base_tokens(key) == [key] and fold(key) == key, key
        assert len(key) > 2 and value and value == value.lower() and key != value, key


@pytest.mark.parametrize(("german", "english"), [
    ("birke", ("birch",)), ("roeteln", ("rubella", "virus")), ("gesamt", ("total",)),
    ("lieschgras", ("timothy",)), ("katzen", ("cat",)), ("erdnuesse", ()), ("nichts", ()),
])
def test_glossary_words_with_and_without_an_ending(german: str,
                                                   english: tuple[str, ...]) -> None:
    assert glossary_words(german) == english


def _term(code: str, display: str) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"),),
                      {"SYSTEM": "Ser", "PROPERTY": "ACnc", "CLASS": "ALLERGY"})


def test_german_allergen_names_reach_english_terms() -> None:
    index = TargetIndex([
        _term("6206-7", "Peanut IgE Ab [Units/volume] in Serum"),
        _term("6833-8", "Cat dander IgE Ab [Units/volume] in Serum"),
        _term("6096-2", "European house dust mite IgE Ab [Units/volume] in Serum"),
        _term("15283-5", "Silver Birch IgE Ab [Units/volume] in Serum"),
        _term("19113-0", "IgE [Units/volume] in Serum or Plasma"),
    ])
    for text, code in (("Erdnuss IgE", "6206-7"), ("Katzenepithelien IgE", "6833-8"),
                       ("Hausstaubmilbe IgE", "6096-2"), ("Birke IgE", "15283-5")):
        assert suggest(index, text, unit="kU/L")[0].code == code, text
    # a glossary word is a known part of a compound: "Katzenserum" → katzen serum
    assert index.split_compound("katzenserum") == ["katzen", "serum"]
    assert index.split_compound("katzenepithelien") is None  # a glossary word stays whole
