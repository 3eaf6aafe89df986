"""A coagulation factor or inhibitor named with no unit is its activity in % of normal
(mappings.coagactivity); LOINC names coagulation factor II "Prothrombin"."""

from __future__ import annotations

import pytest

from mappings.coagactivity import RELATIVE, relative_activity
from mappings.hints import axes
from mappings.normalize import query_tokens
from mappings.suggest import TargetIndex, TargetTerm


def _term(code: str, display: str, component: str, prop: str, method: str) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                      {"PROPERTY": prop, "SYSTEM": "PPP", "SCALE_TYP": "Qn",
                       "TIME_ASPCT": "Pt", "METHOD_TYP": method})


@pytest.mark.parametrize("name", ["Factor IX", "Faktor 11", "Antithrombin III",
                                  "Protein C, Functional", "Alpha-2 Antiplasmin"])
def test_a_factor_or_inhibitor_without_a_unit_is_its_activity_relative_to_normal(
        name: str) -> None:
    assert axes(name, specimen="Blood", category="Hematology").properties == set(RELATIVE)


@pytest.mark.parametrize("name", ["Factor IX Antigen", "Factor IX Inhibitor",
                                  "Protein S, Free", "Factor V Leiden", "Prothrombin Time",
                                  "Plasminogen Activator Inhibitor", "Rheumatoid Factor",
                                  "Platelet Factor 4"])
def test_other_measurements_of_a_factor_are_not_its_activity(name: str) -> None:
    assert relative_activity(name, set(query_tokens(name))) is None


def test_a_unit_decides_by_itself() -> None:
    assert axes("Factor IX", unit="IU/dL").properties == {"ACnc"}


def test_the_activity_relative_to_normal_wins_over_an_interpretation() -> None:
    terms = [
        _term("1-1", "Antithrombin [Interpretation] in Platelet poor plasma",
              "Antithrombin", "Imp", "Chromo"),
        _term("2-2", "Antithrombin in Platelet poor plasma by Chromogenic method",
              "Antithrombin", "RelCCnc", "Chromo"),
        _term("3-3", "Antithrombin Ag [Mass/volume] in Platelet poor plasma",
              "Antithrombin Ag", "MCnc", "IA")]
    found = TargetIndex(terms, glossary=False).suggest("Antithrombin", specimen="Blood",
                                                       category="Hematology")
    assert found[0].code == "2-2"


def test_factor_two_is_prothrombin_but_for_its_inhibitor() -> None:
    assert "prothrombin" in query_tokens("Factor II")
    assert "prothrombin" in query_tokens("Faktor 2 Aktivität")
    assert "prothrombin" not in query_tokens("Factor II Inhibitor")
