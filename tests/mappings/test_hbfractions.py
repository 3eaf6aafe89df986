"""A form of haemoglobin named with no unit is its share of the total haemoglobin
(mappings.hbfractions)."""

from __future__ import annotations

import pytest

from mappings.hints import axes
from mappings.normalize import query_tokens
from mappings.suggest import TargetIndex, TargetTerm


@pytest.mark.parametrize("name", ["Hgb F", "Hemoglobin A2", "Haemoglobin  E", "HbA1c",
                                  "Glycosylated Hb", "Fetal Hemoglobin"])
def test_a_haemoglobin_variant_is_a_share_of_the_total(name: str) -> None:
    assert axes(name, specimen="Blood", category="Hematology").properties == {"MFr"}


@pytest.mark.parametrize(("name", "category"), [
    ("Hemoglobin", "Hematology"), ("Hgb, Plasma", "Chemistry"), ("HBs Ag", "Chemistry"),
    ("Hemoglobin S Screen", "Hematology")])
def test_total_haemoglobin_and_a_screen_are_not(name: str, category: str) -> None:
    assert "MFr" not in axes(name, specimen="Blood", category=category).properties


def test_a_blood_gas_derivative_stays_a_share() -> None:
    assert axes("Methemoglobin", specimen="Blood", category="Blood Gas").properties == {"MFr"}


def test_glycated_and_fetal_haemoglobin_are_named_as_loinc_names_them() -> None:
    assert query_tokens("Glycated Hemoglobin") == ["hemoglobin", "a1c"]
    assert query_tokens("Fetal Hgb") == ["hemoglobin", "f"]


def test_the_share_of_the_total_ranks_first() -> None:
    def term(code: str, display: str, component: str, prop: str) -> TargetTerm:
        return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                          {"PROPERTY": prop, "SYSTEM": "Bld", "SCALE_TYP": "Qn",
                           "TIME_ASPCT": "Pt"})
    terms = [term("1-1", "Hemoglobin C [Mass/volume] in Blood", "Hemoglobin C", "MCnc"),
             term("2-2", "Hemoglobin C/Hemoglobin.total in Blood",
                  "Hemoglobin C/Hemoglobin.total", "MFr")]
    found = TargetIndex(terms, glossary=False).suggest("Hemoglobin C", specimen="Blood",
                                                       category="Chemistry")
    assert found[0].code == "2-2"
