"""Query rewriting: lab phrases to LOINC words, German report abbreviations, spelling keys."""

from __future__ import annotations

import pytest

from mappings.normalize import query_tokens, skeleton


@pytest.mark.parametrize(("text", "expected"), [
    ("Thyroid Stimulating Hormone", ["thyrotropin"]),
    ("Anti-Nuclear Antibody", ["nuclear", "ab"]),
    ("Immunoglobulin A", ["iga"]),
    ("Free Calcium", ["calcium", "ionized"]),
    ("Uric Acid, Urine", ["urate", "urine"]),
    ("Protein /U", ["protein", "urin"]),
    ("Lymphozyten abs. mikr.", ["lymphozyten"]),
    ("Anti-Xa", ["anti", "xa"]),  # "anti" stays when no antibody is named
])
def test_query_tokens(text: str, expected: list[str]) -> None:
    assert query_tokens(text) == expected


@pytest.mark.parametrize(("german", "english"), [
    ("leukozyten", "leukocytes"), ("kreatinin", "creatinine"), ("kalzium", "calcium"),
    ("glukose", "glucose"), ("erythrozyten", "erythrocytes"),
])
def test_skeleton_joins_german_and_english_spellings(german: str, english: str) -> None:
    assert skeleton(german) == skeleton(english)


def test_skeleton_keeps_different_analytes_apart() -> None:
    assert skeleton("creatine") != skeleton("creatinine")


def test_nuechtern_is_not_a_challenge_timing() -> None:
    """Issue 17: "nüchtern" (fasting) is the plain or fasting measurement, never the
    "baseline" of a challenge test; "basal" is that baseline."""
    from mappings.normalize import query_tokens

    assert "baseline" not in query_tokens("Glucose nüchtern")
    assert "baseline" not in query_tokens("Glucose nuechtern /BV")
    assert "baseline" in query_tokens("Cortisol basal")


def test_basal_before_a_named_challenge_is_pre_dose() -> None:
    """"ACTH basal (CRH-Test)": the sample before the challenge, LOINC's "--pre dose CRH";
    the challenge agent is no analyte of its own."""
    from mappings.normalize import query_tokens

    assert query_tokens("Glucose basal (Insulintest)") == ["glucose", "pre", "dose", "insulin"]
    assert query_tokens("ACTH basal (CRH-Test)")[1:] == ["pre", "dose", "crh"]
