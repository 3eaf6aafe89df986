"""Names without a unit (issue 17, MIMIC style: name, fluid and section): what the unit
column and the name's organism say about the axes (mappings.hints)."""

from __future__ import annotations

from mappings.detection import PENALTY, prefer_detection
from mappings.hints import axes, unit_hint, without_epithets
from mappings.suggest import TargetIndex, TargetTerm


def test_a_unit_column_saying_none_is_no_unit() -> None:
    """"N/A" says the result has no unit: not a quantity of an unknown unit."""
    for unit in ("N/A", "n/a", "NA", "none", "-"):
        assert unit_hint(unit) == (set(), None)
    assert axes("Oxycodone", unit="N/A", specimen="Urine").scale is None
    assert unit_hint("mg/dL")[1] == "Qn"


def test_an_organism_epithet_is_no_specimen_when_the_specimen_is_given() -> None:
    """"Trichomonas vaginalis" in urine is tested in urine, not in vaginal fluid."""
    assert without_epithets("Trichomonas vaginalis") == "Trichomonas  "
    assert without_epithets("Creatinine, Dialysis") == "Creatinine, Dialysis"
    hint = axes("Trichomonas vaginalis", specimen="Urine")
    assert max(hint.systems, key=lambda k: hint.systems[k]) == "Urine"
    assert not hint.system_from_text
    # with no specimen given apart the epithet still says where the organism is sought
    assert "Vag" in axes("Trichomonas vaginalis").systems
    assert max((h := axes("Sodium, Joint Fluid", specimen="Joint Fluid")).systems,
               key=lambda k: h.systems[k]) == "Synv fld"


def test_value_says_a_quantity() -> None:
    """"IgM Ab Value": the number a qualitative result is read from."""
    assert axes("Epstein-Barr Virus IgM Ab Value", specimen="Blood").scale == "Qn"
    assert axes("Epstein-Barr Virus IgM Ab", specimen="Blood").scale is None


def test_dfa_is_an_immunofluorescence() -> None:
    """Direct fluorescent antibody staining: LOINC's METHOD_TYP IF."""
    assert "immunofluorescence" in axes("Influenza B - DFA").methods


def test_a_clearance_of_a_urine_specimen_compares_urine_with_serum() -> None:
    hint = axes("Creatinine Clearance", specimen="Urine", category="Chemistry")
    assert max(hint.systems, key=lambda k: hint.systems[k]) == "Urine+Ser/Plas"
    assert axes("Creatinine", specimen="Urine").systems.get("Urine+Ser/Plas") is None


def test_a_detection_name_prefers_the_organism_to_the_antibodies() -> None:
    """"Influenza B - DFA" stains the organism's antigen: the Ab terms, which share its
    organism and method words, go after the Ag term; a name saying Ab keeps them."""
    def term(code: str, display: str, component: str, system: str) -> TargetTerm:
        return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                          {"SYSTEM": system, "PROPERTY": "PrThr", "SCALE_TYP": "Ord",
                           "METHOD_TYP": "IF", "CLASS": "MICRO"})

    index = TargetIndex([
        term("ab", "Influenza virus B Ab [Presence] in Serum by Immunofluorescence",
             "Influenza virus B Ab", "Ser"),
        term("ag", "Influenza virus B Ag [Presence] in Serum by Immunofluorescence",
             "Influenza virus B Ag", "Ser")], glossary=False)
    assert index.suggest("Influenza B - DFA", limit=1)[0].code == "ag"
    assert index.suggest("Influenza B Ab IFA", limit=1)[0].code == "ab"
    ranked = [(0.8, 0, ""), (0.79, 1, "")]
    comps = {0: "Influenza virus B Ab", 1: "Influenza virus B Ag"}
    out = prefer_detection(ranked, lambda i: ("", {}, comps[i]), "Influenza B PCR")
    assert out[0][0] == 0.8 - PENALTY and out[1][0] == 0.79
    assert prefer_detection(ranked, lambda i: ("", {}, comps[i]), "Influenza B IgG") == ranked


def test_a_control_is_the_control_sample() -> None:
    """"Thrombin Time Control": LOINC's "in Control Platelet poor plasma" (PPP^Control)."""
    hint = axes("Thrombin Time Control", specimen="Blood", category="Hematology")
    assert max(hint.systems, key=lambda k: hint.systems[k]).endswith("^Control")
    assert "PPP^Control" in hint.systems and hint.systems["PPP^Control"] > hint.systems["PPP"]
    assert not any(k.endswith("^Control") for k in axes("Thrombin Time", specimen="Blood",
                                                         category="Hematology").systems)


def test_an_organism_in_a_body_fluid_is_sought_not_its_antibodies() -> None:
    """"Influenza A" in "Other Body Fluid": antibodies are measured in serum or plasma."""
    ranked = [(0.8, 0, ""), (0.79, 1, "")]
    comps = {0: "Influenza virus A Ab", 1: "Influenza virus A Ag"}
    fluid = axes("Influenza A", specimen="Other Body Fluid").systems
    out = prefer_detection(ranked, lambda i: ("", {}, comps[i]), "Influenza A", fluid)
    assert out[0][0] == 0.8 - PENALTY
    blood = axes("Influenza A", specimen="Blood", category="Chemistry").systems
    assert prefer_detection(ranked, lambda i: ("", {}, comps[i]), "Influenza A", blood) == ranked
    assert prefer_detection(ranked, lambda i: ("", {}, comps[i]), "Influenza A IgG Ab",
                            fluid) == ranked
