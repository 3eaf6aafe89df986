"""Units and names of specimens other than blood (mappings.fluids, mappings.hints)."""

from __future__ import annotations

import pytest

from mappings.fluids import said_24h, system_from_short_forms, system_short_forms
from mappings.hints import axes, unit_hint
from mappings.suggest import TargetIndex, TargetTerm, suggest
from mappings.units import per_creatinine, with_unit_words


@pytest.mark.parametrize(("unit", "prop"), [
    ("umol/g CRT", "Ratio"), ("uM/gCR", "Ratio"), ("ug/g creat", "MRto"),
    ("ng/mg Creat", "MRto"), ("mg/g{creat}", "MRto"), ("mmol/mol{Krea}", "SRto"),
    ("mg/mmol Krea", "Ratio")])
def test_a_unit_per_creatinine_is_a_ratio(unit: str, prop: str) -> None:
    assert per_creatinine(unit) is not None
    assert unit_hint(unit) == ({prop}, "Qn")


@pytest.mark.parametrize(("unit", "prop"), [
    ("ug/24 hr", "MRat"), ("mg/24 hrs", "MRat"), ("mg/day", "MRat"), ("g/d", "MRat"),
    ("mmol/24 Std", "SRat"), ("umol/(24.h)", "SRat")])
def test_a_unit_per_day_is_a_rate(unit: str, prop: str) -> None:
    assert unit_hint(unit) == ({prop}, "Qn")
    assert axes("Lead", unit=unit).timed


def test_a_count_per_field_is_per_area_by_microscopy() -> None:
    assert unit_hint("/[HPF]") == ({"Naric"}, "Qn")
    assert "microscopy.light.lpf" in axes("Casts", unit="/LPF").methods
    assert unit_hint("mg/dl") == ({"MCnc"}, "Qn")


@pytest.mark.parametrize("unit", ["#/hpf", "#/LPF", "{cells}/[HPF]", "cells/hpf"])
def test_a_count_sign_before_the_field_is_still_per_field(unit: str) -> None:
    assert unit_hint(unit) == ({"Naric"}, "Qn")
    assert any(m.startswith("microscopy.light.") for m in axes("Waxy Casts", unit=unit).methods)


def test_24_hours_said_in_the_name() -> None:
    assert said_24h("Dopamine, Ur, 24hr") and said_24h("Mercury,Urine 24 Hr")
    assert said_24h("Harnstoff-N/24h U") and not said_24h("Cortisol 124 h")
    assert axes("Nickel, Urine (24hr)").timed


def test_the_creatinine_a_unit_implies_joins_the_name() -> None:
    assert with_unit_words("Proline, Urine", "umol/g CRT") == "Proline, Urine creatinine"
    assert with_unit_words("Alb/Krea /U", "mg/g Krea") == "Alb/Krea /U"
    assert with_unit_words("Proline", "umol/L") == "Proline"
    assert axes("Proline", unit="umol/g CRT").systems == {"Urine": 1.0}


def test_short_forms_of_systems_are_learnt_from_shortnames() -> None:
    pairs = [("Creat Ur", "Urine")] * 30 + [("Prot Stl", "Stool")] * 30 \
        + [("Hair Zn", "Hair")] * 30 + [("Ur Ab", "Ser")]
    forms = system_short_forms(pairs)
    assert forms["stl"] == "Stool" and "hair" not in forms  # the word itself is no form
    assert "ur" not in forms  # a two-letter form needs ample evidence
    forms = system_short_forms(pairs * 40)
    assert forms["ur"] == "Urine"
    assert system_from_short_forms("Dopamine, Ur, 24hr", forms) == {"Urine": 1.0}
    assert system_from_short_forms("Barbiturate Confirmation, Ur", forms) == {"Urine": 1.0}
    assert system_from_short_forms("Ur Stl", forms) == {"Stool": 1.0}
    assert system_from_short_forms("Ur+Stl ...", forms) == {}


def _term(code: str, component: str, prop: str, system: str, time: str = "Pt") -> TargetTerm:
    display = f"{component} [{prop}] in {system}"
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                      {"PROPERTY": prop, "SYSTEM": system, "SCALE_TYP": "Qn",
                       "TIME_ASPCT": time})


def test_suggest_reads_creatinine_units_and_day_rates() -> None:
    index = TargetIndex([_term("1", "Proline", "SCnc", "Urine"),
                         _term("2", "Proline/Creatinine", "Ratio", "Urine"),
                         _term("3", "Lead", "MCnc", "Ser/Plas"),
                         _term("4", "Lead", "MRat", "Urine", "24H"),
                         _term("5", "Lead", "MCnc", "Urine")])
    assert suggest(index, "Proline, Urine", unit="umol/g CRT")[0].code == "2"
    assert suggest(index, "Lead, Urine (24 Hr)", unit="ug/24 hr")[0].code == "4"


def test_a_compound_keeps_the_head_noun_its_translation_lost() -> None:
    from mappings.compounds import lost_head
    from mappings.lexicon import Entry, Lexicon

    lexicon = Lexicon(words={
        "cystinkristalle": (Entry(("cystine",), "NAME", 2, 0.667),),
        "kristalle": (Entry(("crystals",), "COMPONENT", 78, 1.0),),
        "masernvirus": (Entry(("measles", "virus"), "COMPONENT", 9, 1.0),),
        "virus": (Entry(("virus",), "COMPONENT", 50, 1.0),)})
    assert lost_head(lexicon, "cystinkristalle") == ["cystinkristalle", "kristalle"]
    assert lost_head(lexicon, "masernvirus") is None  # its translation says the virus
    index = TargetIndex([_term("1", "Cystine", "MCnc", "Urine"),
                         _term("2", "Cystine crystals", "PrThr", "Urine")], lexicon=lexicon)
    assert suggest(index, "Cystinkristalle /U")[0].code == "2"


def test_the_scale_said_in_words_wins_over_the_unit() -> None:
    from mappings.fluids import said_scale

    assert said_scale({"urobilinogen", "semi", "qn"}) == "SemiQn"
    assert said_scale({"albumin", "semiqn"}) == "SemiQn"
    assert said_scale({"ebv", "dna", "qn"}) == "Qn" and said_scale({"ql"}) is None
    assert axes("Urobilinogen,Semi-Qn", unit="mg/dL").scale == "SemiQn"
    assert axes("CMV DNA qn. /SM PCR").scale == "Qn"


def test_what_is_excreted_is_a_day_s_amount_but_not_a_fraction() -> None:
    assert said_24h("Albumin Urinexkr.") and said_24h("Calcium Ausscheidung")
    assert not said_24h("Fraktionelle Harnstoff-Exkretion /U")
    assert axes("Cortisol Urinexkretion").properties == {"MRat", "SRat"}


def test_a_sediment_section_says_urine_sediment() -> None:
    from mappings.hints import category_hint, section_classes

    assert max((w, s) for s, w in category_hint("Harnsediment", {}).items())[1] == "Urine sed"
    assert section_classes("Harnstreifen / Urindiagnostik")["UA"] == 1.0


def test_a_cognate_gets_no_residual_translation() -> None:
    from mappings.lexicon import derive

    pairs = [("NAME", "Kreatinin", "Creatinine", "words"),
             ("NAME", "Kreatinin", "Vanillylmandelate Creatine", "words"),
             ("NAME", "Ratio", "Lactate dehydrogenase", "words"),
             ("NAME", "Ratio", "Ratio", "words")]
    lexicon = derive(pairs)
    assert "vanillylmandelate" not in lexicon.english("kreatinin")
    assert "dehydrogenase" not in lexicon.english("ratio")
