"""Query rewriting: lab phrases to LOINC words, German report abbreviations, spelling keys."""

from __future__ import annotations

import pytest

from mappings.normalize import numeral_pairs, query_tokens, roman_numerals, skeleton


@pytest.mark.parametrize(("text", "expected"), [
    ("Thyroid Stimulating Hormone", ["thyrotropin"]),
    ("Anti-Nuclear Antibody", ["nuclear", "ab"]),
    ("Immunoglobulin A", ["iga"]),
    ("Free Calcium", ["calcium", "ionized"]),
    ("Uric Acid, Urine", ["urate", "urine"]),
    ("Protein /U", ["protein", "urin"]),
    ("Lymphozyten abs. mikr.", ["lymphozyten"]),
    ("Anti-Xa", ["anti", "xa"]),  # "anti" stays when no antibody is named
    ("IgG kappa Immunglobulin G kappa", ["igg", "kappa", "igg", "kappa"]),  # German spelling
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


@pytest.mark.parametrize(("text", "expected"), [
    ("Cortisol-Profil 3 Uhr", ["cortisol", "profil", "3", "am"]),
    ("Cortisol 8:00 Uhr /Speichel", ["cortisol", "8", "am", "speichel"]),
    ("Cortisol-Profil 12 Uhr", ["cortisol", "profil", "12", "pm"]),
    ("Cortisol-Profil 16 Uhr", ["cortisol", "profil", "4", "pm"]),
    ("ACTH-Profil 24 Uhr", ["acth", "profil", "12", "am"]),
])
def test_clock_times_are_named_by_the_12_hour_clock(text: str, expected: list[str]) -> None:
    """LOINC names a timed sample "4 PM specimen"; a German name says "16 Uhr"."""
    assert query_tokens(text) == expected


def test_timings_before_and_at_the_start_of_a_challenge() -> None:
    """"-30 min" is LOINC's "30 minutes pre"; "0 min" is the baseline sample ("basal"), not
    the 0th sample; a stimulated sample is taken after a challenge ("Stimulation")."""
    assert query_tokens("Cortisol -30 min (Insulintest)") == [
        "cortisol", "30", "minutes", "pre", "insulintest"]
    assert query_tokens("HGH 0 min (Insulintest)")[1:] == ["pre", "dose", "insulin"]
    assert query_tokens("Insulin Abnahme 0 Min.") == ["insulin", "abnahme", "baseline"]
    assert query_tokens("Glucose 0-30 min") == ["glucose", "0", "30", "minutes"]
    assert query_tokens("TSH stimuliert Abnahme 1") == [
        "thyrotropin", "stimulation", "1st", "specimen"]


def test_a_slash_after_a_single_letter_joins_a_pair_of_types() -> None:
    """"Influenza A/B", "K/L-Ratio": no specimen abbreviation (blood, CSF) after the slash;
    "Troponin T /B" and "CA 15-3/ASZ" still name theirs."""
    assert query_tokens("Influenza A/B") == ["influenza", "a", "b"]
    assert query_tokens("K/L-Ratio") == ["k", "l", "ratio"]
    assert query_tokens("Troponin T /B") == ["troponin", "t", "blut"]
    assert query_tokens("CA 15-3/ASZ") == ["ca", "15", "3", "aszites"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Interleukin-1ß", ["interleukin", "1", "beta"]),
    ("TGF-β1", ["tgf", "beta", "1"]),
    ("ß2-Mikroglobulin", ["beta", "2", "mikroglobulin"]),
    ("Kappa/λ", ["kappa", "lambda"]),
    ("Schweiß", ["schweiss"]),  # a German ß after a letter stays "ss"
])
def test_greek_letters_are_named_as_loinc_names_them(text: str, expected: list[str]) -> None:
    assert query_tokens(text) == expected


def test_numbers_of_kinds_loinc_numbers_in_roman() -> None:
    pairs = numeral_pairs(["apolipoprotein", "a", "i"]) | numeral_pairs(
        ["procollagen", "type", "iii"]) | numeral_pairs(["apolipoprotein", "c", "iii"])
    assert pairs == {("a", "i"), ("type", "iii"), ("c", "iii")}

    def english(word: str) -> tuple[str, ...]:
        return ("type",) if word == "typ" else ()

    assert roman_numerals(["apolipoprotein", "a1"], pairs, english) == {"a1": "i"}
    assert roman_numerals(["prokollagen", "typ", "3"], pairs, english) == {"3": "iii"}
    # no LOINC name writes "T-III" or "virus II": the numbers stay as they are
    assert roman_numerals(["t3", "frei"], pairs, english) == {}
    assert roman_numerals(["virus", "2"], pairs, english) == {}


@pytest.mark.parametrize(("text", "expected"), [
    ("CD19+5+ abs.", ["cd19", "cd5"]),
    ("CD56.16+CD3+", ["cd56", "cd16", "cd3"]),
    ("CD3+CD4+", ["cd3", "cd4"]),
    ("Glucose 1+2", ["glucose", "1", "2"]),  # no CD list: numbers stay
])
def test_later_numbers_of_a_cd_marker_list_are_markers(text: str, expected: list[str]) -> None:
    assert query_tokens(text) == expected


def test_anti_x_without_an_antibody_word_is_the_antibody_to_x() -> None:
    assert query_tokens("Anti-HAV") == ["hav", "ab"]
    assert query_tokens("Anti-D") == ["d", "ab"]
    # coagulation activities and the anti-Müllerian hormone are no antibodies
    assert query_tokens("Heparin Anti-Xa") == ["heparin", "anti", "xa"]
    assert query_tokens("Anti Müller Hormon")[0] == "anti"


@pytest.mark.parametrize(("name", "words"), [
    # a series' first specimen is drawn before the challenge, the n-th the (n-1)-th after it
    ("Cortisol #7", ["cortisol", "6th", "specimen", "post", "challenge"]),
    ("Prolactin # 2", ["prolactin", "1st", "specimen", "post", "challenge"]),
    ("Cortisol #1", ["cortisol", "baseline"]),
    ("LH#4 (Luteinizing Hormone)", ["lutropin", "3rd", "specimen", "post", "challenge",
                                    "lutropin"]),
    ("A. fumigatus #3 Ab", ["a", "fumigatus", "3", "ab"])])
def test_a_number_sign_closing_the_name_numbers_the_specimen(name: str, words: list[str]
                                                             ) -> None:
    assert query_tokens(name) == words


@pytest.mark.parametrize(("name", "words"), [
    ("Pyruvic Acid, Blood", ["pyruvate", "blood"]),
    ("Citric Acid/Creatinine Ratio", ["citrate", "creatinine", "ratio"]),
    ("2-Ketoglutaric acid", ["2", "ketoglutarate"]),
    ("Amino acids", ["amino", "acids"])])
def test_an_acid_is_named_as_its_anion(name: str, words: list[str]) -> None:
    assert query_tokens(name) == words


@pytest.mark.parametrize(("name", "words"), [
    ("HBsAg", "hepatitis b virus surface ag"),
    ("Hbeag", "hepatitis b virus e ag"),
    ("Anti-HBs", "hepatitis b virus surface ab"),
    ("anti-HBc IgM", "hepatitis b virus core ab igm"),
    ("HBs-Antigen", "hepatitis b virus surface ag"),
    ("HBe-Antikörper", "hepatitis b virus e ab"),
])
def test_hepatitis_b_markers_are_named_as_loinc_names_them(name: str, words: str) -> None:
    assert query_tokens(name) == words.split()


@pytest.mark.parametrize(("name", "words"), [
    ("Growth Hormone", ["somatotropin"]),
    ("Growth Hormone Releasing Hormone", ["growth", "hormone", "releasing", "hormone"]),
    ("Transferrin Saturation", ["iron", "saturation"]),
    ("Glycated Hemoglobin", ["hemoglobin", "a1c"]),
    ("Mono Spot Test", ["heterophile", "ab"]),
    ("Crenated Cells", ["burr", "cells"]),
    ("Teardrop Cells", ["dacrocytes"]),
    ("Rubeola IgG Ab", ["measles", "igg", "ab"]),
    ("Dilantin", ["phenytoin"]),
    ("Lymphs", ["lymphocytes"]),
    ("Eos, Pleural", ["eosinophils", "pleural"]),
    ("Basos", ["basophils"]),
    ("PT", ["prothrombin", "time"]),
])
def test_common_lab_names_are_named_as_loinc_names_them(name: str, words: list[str]) -> None:
    assert query_tokens(name) == words
