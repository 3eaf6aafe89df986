"""The German glossary: folded single-token keys, and suggestions that reach English-only
LOINC names through it (agents, allergens, compounds of glossary words)."""

from __future__ import annotations

import pytest

from mappings.glossary import ENTRIES, GLOSSARY, glossary_words
from mappings.normalize import base_tokens, fold
from mappings.suggest import TargetIndex, TargetTerm, suggest


def test_keys_are_folded_single_tokens_and_values_lower_case_words() -> None:
    assert GLOSSARY == {key: entry[0] for key, entry in ENTRIES.items()}
    for key, value in GLOSSARY.items():
        assert base_tokens(key) == [key] and fold(key) == key, key
        assert len(key) > 2 and value and value == value.lower() and key != value, key


@pytest.mark.parametrize(("german", "english"), [
    ("kontrolle", ("control",)), ("tollwut", ("rabies", "virus")), ("kontrollen", ("control",)),
    ("verschlusszeiten", ("closure", "time")), ("birke", ()), ("nichts", ()),
])
def test_glossary_words_with_and_without_an_ending(german: str,
                                                   english: tuple[str, ...]) -> None:
    assert glossary_words(german) == english


def _term(code: str, display: str) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"),),
                      {"SYSTEM": "Ser", "PROPERTY": "ACnc", "CLASS": "SERO"})


def test_german_names_reach_english_terms() -> None:
    index = TargetIndex([
        _term("22618-3", "Yellow fever virus IgG Ab [Units/volume] in Serum"),
        _term("30553-2", "Rabies virus IgG Ab [Units/volume] in Serum"),
        _term("57935-9", "Varicella zoster virus IgG Ab [Units/volume] in Serum"),
        _term("20483-4", "Mitochondria Ab [Units/volume] in Serum"),
    ])
    for text, code in (("Gelbfieber IgG", "22618-3"), ("Tollwut IgG", "30553-2"),
                       ("Varizellen IgG", "57935-9"), ("Mitochondrien Ak", "20483-4")):
        assert suggest(index, text, unit="U/mL")[0].code == code, text
    # a glossary word is a known part of a compound: "Tollwutserum" → tollwut serum
    assert index.split_compound("tollwutserum") == ["tollwut", "serum"]
    assert index.split_compound("verschlusszeit") is None  # a glossary word stays whole
