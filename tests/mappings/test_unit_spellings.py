"""Catalogue spellings of UCUM units (mcg, Units, %sat, GPL U/mL, N/A), bare arbitrary
units, a screening word that makes a mass unit a cutoff, and specimens an order name or
"fecal" says."""

from __future__ import annotations

import pytest

from mappings.hints import axes, specimen_hint, unit_hint
from mappings.units import ucum_spelling

_FRACTIONS = unit_hint("%")[0]


@pytest.mark.parametrize(("unit", "props"), [
    ("mcg/mL", {"MCnc"}), ("mcmol/L", {"SCnc"}), ("Units/mL", {"CCnc"}),
    ("GPL U/mL", {"ACnc"}), ("[GPL'U]/mL", {"ACnc"}), ("ug Eq/mL", {"ACnc"}),
    ("ugE/mL", {"ACnc"}), ("EU/mL", {"ACnc"}), ("IV", {"ACnc"}), ("Index Value", {"ACnc"}),
    ("Units", {"ACnc"}), ("Bethesda", {"ACnc"}), ("mOsmol/kg", {"Osmol"}),
    ("x10E6", {"Num"}), ("ng/mL/hr", {"CCnc"}), ("uU/mL", {"CCnc"}),
    ("%sat", _FRACTIONS), ("% of CD4+", _FRACTIONS), ("%mean normal", _FRACTIONS)])
def test_a_catalogue_spelling_has_its_ucum_class(unit: str, props: set[str]) -> None:
    assert unit_hint(unit) == (props, "Qn")


def test_unchanged_ucum_units() -> None:
    assert unit_hint("kU/L")[0] == {"CCnc"}
    assert unit_hint("mU/L")[0] == {"CCnc"}
    assert unit_hint("kIU/L")[0] == {"ACnc"}
    assert unit_hint("x10E3/uL")[0] == {"NCnc"}
    assert ucum_spelling("mg/dL") == "mg/dl"


def test_a_ratio_unit_allows_the_ratio_properties() -> None:
    assert {"Ratio", "MRto"} <= unit_hint("Ratio")[0]


@pytest.mark.parametrize("unit", ["N/A", "n/a", "none", "-"])
def test_a_placeholder_is_no_unit(unit: str) -> None:
    assert unit_hint(unit) == (set(), None)
    assert axes("HIV 1 Ab", unit=unit).scale is None


def test_a_screen_in_a_mass_unit_may_report_presence() -> None:
    hint = axes("Cocaine, Urn, Screen", unit="ng/mL")
    assert hint.properties == {"MCnc", "PrThr"} and hint.scale is None and not hint.unit
    assert axes("Cocaine, Urn, Quant", unit="ng/mL").properties == {"MCnc"}


def test_conf_says_a_confirmatory_method() -> None:
    assert "confirm" in axes("Desipramine Conf", unit="ng/mL").methods


def test_an_order_name_saying_the_specimen_says_it_of_its_results() -> None:
    hint = axes("Beryllium", unit="ng/ml", category="Beryllium, Blood")
    assert max(hint.systems, key=lambda k: hint.systems[k]) == "Bld"
    assert hint.system_from_category
    given = axes("Beryllium", unit="ng/ml", specimen="Urine", category="Beryllium, Blood")
    assert max(given.systems, key=lambda k: given.systems[k]) == "Urine"


def test_a_drug_immunoassay_in_a_mass_unit_may_report_presence() -> None:
    assert axes("PHENCYCLIDINE, IA", unit="ng/mL").properties == {"MCnc", "PrThr"}


def test_fecal_says_stool() -> None:
    assert specimen_hint("Osmolality, Fecal") == {"Stool": 1.0}
