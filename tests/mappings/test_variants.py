"""Choosing among LOINC variants the local name cannot tell apart (mappings.variants)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mappings.hints import axes
from mappings.suggest import TargetIndex, TargetTerm, suggest
from mappings.variants import (
    analyte_part,
    loinc_number,
    plain_components,
    prefer_first_made,
    prefer_plain_count,
    ratio_words,
    with_counterpart,
    without_method,
    without_per_hundred,
)


def _term(code: str, display: str, prop: str, system: str = "Ser/Plas", scale: str = "Qn",
          method: str = "", component: str | None = None) -> TargetTerm:
    props = {"PROPERTY": prop, "SYSTEM": system, "SCALE_TYP": scale, "TIME_ASPCT": "Pt"}
    if method:
        props["METHOD_TYP"] = method
    comp = component if component is not None else display.split(" [")[0]
    return TargetTerm(code, display, ((display, "display"), (comp, "COMPONENT")), props)


def _lookup(terms: list[TargetTerm]) -> Callable[[int], tuple[str, Mapping[str, str], str]]:
    comps = [next(t for t, label in x.texts if label == "COMPONENT") for x in terms]
    return lambda i: (terms[i].code, terms[i].properties, comps[i])


def test_loinc_number_is_the_running_number() -> None:
    assert loinc_number("14747-0") == 14747
    assert loinc_number("2346-5") == 2346
    assert loinc_number("E11.9") is None and loinc_number("LP1234-5") is None


def test_the_first_made_of_a_mass_substance_pair_wins_a_near_tie() -> None:
    terms = [_term("14747-0", "Glucose [Moles/volume] in Pleural fluid", "SCnc", "Plr fld"),
             _term("2346-5", "Glucose [Mass/volume] in Pleural fluid", "MCnc", "Plr fld")]
    scored = [(0.85, 0, "a"), (0.834, 1, "b")]
    out = prefer_first_made(scored, _lookup(terms), set())
    best = max(out)
    assert terms[best[1]].code == "2346-5" and best[0] > 0.85
    assert "mass from substance" in best[2]
    assert out[0] == scored[0]  # the later variant keeps its score


def test_an_exact_tie_goes_to_the_first_made_too() -> None:
    terms = [_term("14334-7", "Lithium [Moles/volume] in Serum or Plasma", "SCnc"),
             _term("3719-2", "Lithium [Mass/volume] in Serum or Plasma", "MCnc")]
    out = prefer_first_made([(0.83, 0, ""), (0.83, 1, "")], _lookup(terms), set())
    assert terms[max(out)[1]].code == "3719-2"


def test_no_preference_when_the_name_decided_or_the_gap_is_large() -> None:
    terms = [_term("14747-0", "Glucose [Moles/volume] in Pleural fluid", "SCnc", "Plr fld"),
             _term("2346-5", "Glucose [Mass/volume] in Pleural fluid", "MCnc", "Plr fld")]
    scored = [(0.92, 0, ""), (0.80, 1, "")]
    assert prefer_first_made(scored, _lookup(terms), {"SCnc"}) == scored  # mmol/L said it
    assert prefer_first_made(scored, _lookup(terms), set()) == scored  # 0.12 apart


def test_method_ordinal_and_count_variants_are_not_compared() -> None:
    terms = [_term("5000-1", "Glucose [Moles/volume] in Serum or Plasma", "SCnc"),
             _term("100-1", "Glucose [Mass/volume] in Serum or Plasma by Test strip", "MCnc",
                   method="Test strip"),
             _term("200-1", "Glucose [Presence] in Serum or Plasma", "PrThr", scale="Ord")]
    scored = [(0.85, 0, ""), (0.84, 1, ""), (0.84, 2, "")]
    assert prefer_first_made(scored, _lookup(terms), set()) == scored


def test_total_is_a_word_loinc_uses_only_in_denominators() -> None:
    comps = ["Calcium.ionized/Calcium.total", "Cholesterol.in HDL/Cholesterol.total",
             "Hemoglobin A1c/Hemoglobin.total", "Calcium", "Cholesterol", "Protein",
             "Albumin/Creatinine", "Creatinine"]
    assert ratio_words(comps) == frozenset({"total"})
    assert plain_components(comps) == [False, False, False, True, True, True, False, True]


def test_a_per_hundred_base_is_left_out() -> None:
    assert without_per_hundred("Blasts/100 leukocytes in Blood").split() == ["Blasts", "in",
                                                                            "Blood"]
    assert without_per_hundred("Blasten/100 Leukozyten").strip() == "Blasten"
    assert without_per_hundred("Albumin/Creatinine") == "Albumin/Creatinine"


def test_the_other_form_joins_the_top_five() -> None:
    terms = [_term(f"{n}-0", f"Basophils/100 leukocytes in Blood by m{n}", "NFr", "Bld",
                   method=f"m{n}", component="Basophils/100 leukocytes") for n in range(1, 6)]
    terms.append(_term("704-7", "Basophils [#/volume] in Blood", "NCnc", "Bld",
                       component="Basophils"))
    terms.append(_term("800-1", "Eosinophils [#/volume] in Blood", "NCnc", "Bld",
                       component="Eosinophils"))
    ranked = [(0.9 - 0.01 * i, i, "") for i in range(len(terms))]
    out = with_counterpart(ranked, _lookup(terms), 5)
    assert [terms[i].code for _, i, _ in out[:5]] == ["1-0", "2-0", "3-0", "4-0", "704-7"]
    assert "other form" in out[4][2]
    assert with_counterpart(out, _lookup(terms), 5) == out  # already there
    assert with_counterpart(ranked, _lookup(terms), 1) == ranked  # the first places stay


def _index() -> TargetIndex:
    return TargetIndex([
        _term("17861-6", "Calcium [Mass/volume] in Serum or Plasma", "MCnc"),
        _term("2000-8", "Calcium [Moles/volume] in Serum or Plasma", "SCnc"),
        _term("1995-0", "Calcium.ionized [Moles/volume] in Serum or Plasma", "SCnc"),
        _term("49935-0", "Calcium ionized/Calcium total corrected for albumin in Serum or Plasma",
              "MFr", component="Calcium.ionized/Calcium.total^^corrected for albumin"),
        _term("13459-3", "Cholesterol in LDL/Cholesterol total [Mass Ratio]", "MRto",
              component="Cholesterol.in LDL/Cholesterol.total"),
        _term("9830-1", "Cholesterol total/Cholesterol in HDL [Mass Ratio]", "MRto",
              component="Cholesterol.total/Cholesterol.in HDL"),
        _term("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "MCnc"),
        _term("14747-0", "Glucose [Moles/volume] in Pleural fluid", "SCnc", "Plr fld"),
        _term("2346-5", "Glucose [Mass/volume] in Pleural fluid", "MCnc", "Plr fld"),
        _term("26446-5", "Blasts/100 leukocytes in Blood", "NFr", "Bld",
              component="Blasts/100 leukocytes"),
        _term("13845-3", "CD5 blasts/100 blasts in Blood", "NFr", "Bld",
              component="Blasts.CD5/100 blasts"),
    ], glossary=False)


def test_a_total_is_the_plain_analyte_not_a_ratio() -> None:
    index = _index()
    assert "total" in index._implied
    assert index.suggest("Cholesterol, Total", specimen="Blood", category="Chemistry")[0] \
        .code == "2093-3"
    top = index.suggest("Calcium, Total", specimen="Blood", category="Chemistry")[0].code
    assert top in {"17861-6", "2000-8"}


def test_without_a_unit_the_first_made_glucose_wins_with_one_the_unit_decides() -> None:
    index = _index()
    assert index.suggest("Glucose, Pleural", specimen="Pleural")[0].code == "2346-5"
    assert index.suggest("Glucose, Pleural", unit="mmol/L", specimen="Pleural")[0] \
        .code == "14747-0"


def test_blasts_are_the_blast_fraction_not_a_marker_of_blasts() -> None:
    found = _index().suggest("Blasts", specimen="Blood", category="Hematology")
    assert found[0].code == "26446-5"


def test_a_percent_sign_in_the_name_is_the_unit() -> None:
    """'% Hemoglobin A1c' without a unit is a fraction, as if the unit were %."""
    hint = axes("% Hemoglobin A1c", specimen="Blood", category="Chemistry")
    assert "MFr" in hint.properties and hint.scale == "Qn"
    assert not axes("Ferritin", specimen="Blood").properties
    # a haemoglobin variant is a share of the total by itself (mappings.hbfractions)
    assert axes("Hemoglobin A1c", specimen="Blood").properties == {"MFr"}
    assert axes("% Hemoglobin A1c", unit="mmol/mol").properties != hint.properties


def test_a_count_without_a_method_is_the_method_less_term() -> None:
    """A German-translated 'by Manual count' variant a little ahead of LOINC's method-less
    fraction term gives way to it; an electrophoresis method is no counting method."""
    terms = [_term("14343-8", "Eosinophils/100 leukocytes in Peritoneal fluid by Manual count",
                   "NFr", "Periton fld", method="Manual count",
                   component="Eosinophils/100 leukocytes"),
             _term("30380-0", "Eosinophils/100 leukocytes in Peritoneal fluid", "NFr",
                   "Periton fld", component="Eosinophils/100 leukocytes"),
             _term("2865-4", "Alpha 1 globulin [Mass/volume] in Serum or Plasma by "
                   "Electrophoresis", "MCnc", method="Electrophoresis",
                   component="Alpha 1 globulin"),
             _term("104786-9", "Alpha 1 globulin [Mass/volume] in Serum or Plasma", "MCnc",
                   component="Alpha 1 globulin")]
    scored = [(0.902, 0, ""), (0.898, 1, ""), (0.872, 2, ""), (0.868, 3, "")]
    out = sorted(prefer_plain_count(scored, _lookup(terms)), reverse=True)
    assert [terms[i].code for _, i, _ in out] == ["30380-0", "14343-8", "2865-4", "104786-9"]
    assert "method-less" in out[0][2]
    far = [(0.95, 0, ""), (0.85, 1, "")]
    assert prefer_plain_count(far, _lookup(terms)) == far


def test_a_share_of_a_total_names_its_part() -> None:
    assert analyte_part("Carboxyhemoglobin/Hemoglobin.total") == "Carboxyhemoglobin"
    assert analyte_part("Creatine kinase.MB/Creatine kinase.total") == "Creatine kinase.MB"
    assert analyte_part("Blasts/100 leukocytes").strip() == "Blasts"
    # a ratio of two analytes, or a total of another analyte, stays whole
    assert analyte_part("Albumin/Creatinine") == "Albumin/Creatinine"
    assert analyte_part("Iron/Iron binding capacity.total") == \
        "Iron/Iron binding capacity.total"


def test_a_fraction_of_the_total_ties_with_the_concentration_of_its_part() -> None:
    terms = [_term("31157-1", "Carboxyhemoglobin [Mass/volume] in Blood", "MCnc", "Bld"),
             _term("20563-3", "Carboxyhemoglobin/Hemoglobin.total in Blood", "MFr", "Bld",
                   component="Carboxyhemoglobin/Hemoglobin.total")]
    index = TargetIndex(terms)
    got = {s.code: s for s in suggest(index, "Carboxyhemoglobin", specimen="Blood")}
    assert "component Carboxyhemoglobin/Hemoglobin.total named in full" in got["20563-3"].why


def test_a_long_name_without_its_method_part() -> None:
    assert without_method("Blasts [#/volume] in Blood by Manual count") == \
        "Blasts [#/volume] in Blood"
    assert without_method("Blasten [#/Volumen] in Blut mit manueller Zählung") == \
        "Blasten [#/Volumen] in Blut"
    assert without_method("Blasts [#/volume] in Blood") == "Blasts [#/volume] in Blood"


def test_a_method_said_in_short_is_not_outweighed_by_the_longer_german_name() -> None:
    """"Blasten abs. mikr.": the method variant's German name ("… mit manueller Zählung")
    matched the name worse as text than the method-less term's, which outweighed the named
    method; a name that says a method is compared with the names without their methods."""
    props = {"PROPERTY": "NCnc", "SYSTEM": "Bld", "SCALE_TYP": "Qn", "TIME_ASPCT": "Pt"}
    terms = [
        TargetTerm("30376-8", "Blasts [#/volume] in Blood", (
            ("Blasts [#/volume] in Blood", "display"), ("Blasts", "COMPONENT"),
            ("Blasten [#/Volumen] in Blut", "de-DE LONG_COMMON_NAME")), props),
        TargetTerm("708-8", "Blasts [#/volume] in Blood by Manual count", (
            ("Blasts [#/volume] in Blood by Manual count", "display"), ("Blasts", "COMPONENT"),
            ("Blasten [#/Volumen] in Blut mit manueller Zählung", "de-DE LONG_COMMON_NAME")),
            {**props, "METHOD_TYP": "Manual count"}),
    ]
    index = TargetIndex(terms)
    assert suggest(index, "Blasten abs. mikr.", unit="10*9/L")[0].code == "708-8"
    assert suggest(index, "Blasten abs.", unit="10*9/L")[0].code == "30376-8"
