"""Units that decide more than their UCUM class: logarithmic units, ratios to creatinine,
a reference word after the unit; a count sign and plural short forms in the name; a lone
fluid and a coagulation test of a blood sample as specimens."""

from __future__ import annotations

import pytest

from mappings.hints import axes, specimen_hint, unit_hint
from mappings.suggest import TargetIndex, TargetTerm, suggest
from mappings.units import plural_short, said_cutoff, with_unit_words, without_reference


@pytest.mark.parametrize(("unit", "prop"), [
    ("log10 copies/mL", "LnCnc"), ("log10copy/mL", "LnCnc"), ("Log copy/mL", "LnCnc"),
    ("log IU/mL", "LaCnc"), ("log10 IU/mL", "LaCnc")])
def test_a_logarithmic_unit_is_a_log_concentration(unit: str, prop: str) -> None:
    assert unit_hint(unit) == ({prop}, "Qn")


@pytest.mark.parametrize(("unit", "prop"), [
    ("umol/g CRT", "Ratio"), ("mg/g creat", "MRto"), ("ug/g Cr", "MRto"),
    ("mmol/mol{creat}", "SRto"), ("ng/mg Creat", "MRto")])
def test_an_amount_per_creatinine_is_a_ratio_to_creatinine(unit: str, prop: str) -> None:
    assert unit_hint(unit) == ({prop}, "Qn")
    assert with_unit_words("Proline, Urine", unit) == "Proline, Urine creatinine"
    assert with_unit_words("Proline/Creatinine", unit) == "Proline/Creatinine"


def test_a_word_after_the_unit_names_its_reference() -> None:
    assert without_reference("mU/g Hb") == "mU/g"
    assert unit_hint("mU/g Hb")[0] == {"CCnt"}
    assert unit_hint("nmol/hr/mg prt")[0] == {"CCnt"}
    assert without_reference("log10 copies") == "log10 copies"


def test_a_count_sign_says_a_count_but_not_before_a_number() -> None:
    assert axes("Basos#", specimen="Ascites").properties == {"NCnc"}
    assert axes("Mesothelial cells #").properties == {"NCnc"}
    assert "NCnc" not in axes("Glucose #2").properties


def test_a_plural_short_form_reaches_the_word() -> None:
    assert plural_short("basos", "basophils") and plural_short("myelos", "myelocytes")
    assert not plural_short("bass", "bassoon") and not plural_short("basos", "basos")


def _term(code: str, display: str, prop: str) -> TargetTerm:
    component = display.split(" [")[0].split(" in ")[0]
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                      {"SYSTEM": "Periton fld", "PROPERTY": prop, "SCALE_TYP": "Qn"})


def test_plural_short_form_with_count_sign_finds_the_count() -> None:
    index = TargetIndex([
        _term("1", "Basophils [#/volume] in Peritoneal fluid", "NCnc"),
        _term("2", "Basophils/100 leukocytes in Peritoneal fluid", "NFr"),
        _term("3", "Bass IgE Ab [Units/volume] in Peritoneal fluid", "ACnc")])
    assert suggest(index, "Basos#", specimen="Ascites")[0].code == "1"


def test_a_unit_per_creatinine_finds_the_ratio_term() -> None:
    index = TargetIndex([
        TargetTerm("26726-0", "Proline [Moles/volume] in Urine",
                   (("Proline [Moles/volume] in Urine", "display"), ("Proline", "COMPONENT")),
                   {"SYSTEM": "Urine", "PROPERTY": "SCnc", "SCALE_TYP": "Qn"}),
        TargetTerm("30067-3", "Proline/Creatinine [Ratio] in Urine",
                   (("Proline/Creatinine [Ratio] in Urine", "display"),
                    ("Proline/Creatinine", "COMPONENT")),
                   {"SYSTEM": "Urine", "PROPERTY": "Ratio", "SCALE_TYP": "Qn"})])
    assert suggest(index, "Proline, Urine", unit="umol/g CRT")[0].code == "30067-3"
    assert suggest(index, "Proline, Urine", unit="umol/L")[0].code == "26726-0"


def test_a_fluid_no_other_word_names_is_a_body_fluid() -> None:
    assert specimen_hint("Lymphocytes, Fluid") == {"Body fld": 1.0, "XXX": 0.5}
    assert specimen_hint("Eosinophils, Serous")["Body fld"] == 1.0
    assert specimen_hint("Glucose, Pleural Fluid")["Plr fld"] == 1.0
    assert specimen_hint("Cerebrospinal Fluid") == {"CSF": 1.0}


def test_a_coagulation_test_of_a_blood_sample_is_measured_in_platelet_poor_plasma() -> None:
    assert max((s := axes("Fibrinogen", specimen="Blood").systems), key=lambda k: s[k]) == "PPP"
    assert max((g := axes("Glucose", specimen="Blood").systems), key=lambda k: g[k]) == "Bld"
    assert "PPP" not in axes("Fibrinogen", specimen="Serum").systems


def test_only_a_numbered_factor_is_a_coagulation_factor() -> None:
    def best(text: str) -> str:
        systems = axes(text, specimen="Blood").systems
        return max(systems, key=lambda k: systems[k])

    assert best("Factor VIII Activity") == best("Faktor-V-Aktivität") == "PPP"
    assert best("Rheumatoid Factor") == best("Intrinsic Factor Ab") == "Bld"


def test_a_stated_cutoff_reports_presence_in_urine() -> None:
    assert said_cutoff("Temazepam (cutoff 50 ng/mL)") == "Temazepam"
    assert said_cutoff("Cutoff index") is None
    assert with_unit_words("Oxazepam (cutoff 50 ng/mL)", None) == "Oxazepam"
    hint = axes("Oxazepam (cutoff 50 ng/mL)")
    assert (hint.properties, hint.scale, hint.systems) == ({"PrThr"}, "Ord", {"Urine": 1.0})
    index = TargetIndex([
        TargetTerm("1", "Oxazepam cutoff [Mass/volume] in Urine",
                   (("Oxazepam cutoff [Mass/volume] in Urine", "display"),
                    ("Oxazepam cutoff", "COMPONENT")),
                   {"SYSTEM": "Urine", "PROPERTY": "MCnc", "SCALE_TYP": "Qn"}),
        TargetTerm("2", "Oxazepam [Presence] in Urine",
                   (("Oxazepam [Presence] in Urine", "display"), ("Oxazepam", "COMPONENT")),
                   {"SYSTEM": "Urine", "PROPERTY": "PrThr", "SCALE_TYP": "Ord"})])
    assert suggest(index, "Oxazepam (cutoff 50 ng/mL)")[0].code == "2"
