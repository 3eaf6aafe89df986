"""Blood-cell variants a local name without a method leaves open (mappings.hematology), and
the control sample of a coagulation test (mappings.controls)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mappings.controls import of_control
from mappings.hematology import usual_candidate
from mappings.hints import SPECIMEN_WORDS, axes, urine_sample
from mappings.suggest import TargetIndex, TargetTerm
from mappings.variants import prefer_plain_count


def _term(code: str, display: str, prop: str, system: str, method: str = "",
          scale: str = "Qn") -> TargetTerm:
    props = {"PROPERTY": prop, "SYSTEM": system, "SCALE_TYP": scale, "TIME_ASPCT": "Pt"}
    if method:
        props["METHOD_TYP"] = method
    return TargetTerm(code, display, ((display, "display"),
                                      (display.split(" [")[0].split(" in ")[0], "COMPONENT")),
                      props)


def _lookup(terms: list[TargetTerm]) -> Callable[[int], tuple[str, Mapping[str, str], str]]:
    comps = [next(t for t, label in x.texts if label == "COMPONENT") for x in terms]
    return lambda i: (terms[i].code, terms[i].properties, comps[i])


def _order(terms: list[TargetTerm], scores: list[float]) -> list[str]:
    scored = [(s, i, "") for i, s in enumerate(scores)]
    return [terms[i].code for _, i, _ in sorted(prefer_plain_count(scored, _lookup(terms)),
                                                reverse=True)]


def test_a_blood_count_without_a_method_is_the_first_made_counting_variant() -> None:
    """"Basophils" in blood: the analyser's count LOINC made first (704-7) goes before the
    later method-less term; for band forms the manual count was made first (763-3)."""
    basos = [_term("26444-0", "Basophils [#/volume] in Blood", "NCnc", "Bld"),
             _term("705-4", "Basophils [#/volume] in Blood by Manual count", "NCnc", "Bld",
                   "Manual count"),
             _term("704-7", "Basophils [#/volume] in Blood by Automated count", "NCnc", "Bld",
                   "Automated count")]
    assert _order(basos, [0.804, 0.792, 0.792]) == ["704-7", "26444-0", "705-4"]
    bands = [_term("26507-4", "Band form neutrophils [#/volume] in Blood", "NCnc", "Bld"),
             _term("30229-9", "Band form neutrophils [#/volume] in Blood by Automated count",
                   "NCnc", "Bld", "Automated count"),
             _term("763-3", "Band form neutrophils [#/volume] in Blood by Manual count",
                   "NCnc", "Bld", "Manual count")]
    assert _order(bands, [0.804, 0.792, 0.79])[0] == "763-3"


def test_a_blood_cell_form_is_read_by_light_microscopy() -> None:
    terms = [_term("38892-6", "Anisocytosis [Presence] in Blood", "PrThr", "Bld", scale="Ord"),
             _term("15150-6", "Anisocytosis [Presence] in Blood by Automated count", "PrThr",
                   "Bld", "Automated count", "Ord"),
             _term("702-1", "Anisocytosis [Presence] in Blood by Light microscopy", "PrThr",
                   "Bld", "Microscopy.light", "Ord")]
    assert _order(terms, [0.814, 0.802, 0.802])[0] == "702-1"
    assert usual_candidate({"SYSTEM": "RBC", "METHOD_TYP": "Automated count"})
    assert not usual_candidate({"SYSTEM": "Bld", "METHOD_TYP": "Electrophoresis"})


def test_a_body_fluid_count_keeps_the_method_less_term() -> None:
    terms = [_term("14343-8", "Eosinophils/100 leukocytes in Peritoneal fluid by Manual count",
                   "NFr", "Periton fld", "Manual count"),
             _term("30380-0", "Eosinophils/100 leukocytes in Peritoneal fluid", "NFr",
                   "Periton fld")]
    assert _order(terms, [0.902, 0.898])[0] == "30380-0"


def test_a_usual_variant_far_behind_stays_behind() -> None:
    terms = [_term("26444-0", "Basophils [#/volume] in Blood", "NCnc", "Bld"),
             _term("704-7", "Basophils [#/volume] in Blood by Automated count", "NCnc", "Bld",
                   "Automated count")]
    assert _order(terms, [0.9, 0.7]) == ["26444-0", "704-7"]


def test_control_in_a_coagulation_name_is_the_control_plasma() -> None:
    """"Thrombin Time Control" of a blood sample: LOINC's PPP^Control first, the patient's
    platelet-poor plasma next; thrombin and reptilase times say a coagulation test."""
    hint = axes("Thrombin Time Control", specimen="Blood", category="Hematology")
    assert max(hint.systems, key=lambda s: hint.systems[s]) == "PPP^Control"
    assert 0 < hint.systems["PPP"] < hint.systems["PPP^Control"]
    plain = axes("Reptilase Time", specimen="Blood", category="Hematology")
    assert max(plain.systems, key=lambda s: plain.systems[s]) == "PPP"
    assert "PPP^Control" not in plain.systems


def test_a_ratio_to_the_control_keeps_the_patient_sample() -> None:
    systems = {"PPP": 1.0, "Plas": 0.8}
    assert of_control({"pt", "patient", "control", "ratio"}, systems) == systems
    assert of_control({"pt"}, systems) == systems
    assert of_control({"pt", "control"}, systems)["PPP^Control"] == 1.0


def test_the_urine_sediment_compound_names_the_specimen_not_the_analyte() -> None:
    """"Bakterien [Nachweis] in Urinsediment": "Urinsediment" says LOINC's SYSTEM Urine sed;
    as an analyte word it favoured any term with a German name holding it (Leukozyten …
    in Urinsediment) over the English-only bacteria term."""
    terms = [TargetTerm("25145-4", "Bacteria [Presence] in Urine sediment by Light microscopy",
                        (("Bacteria [Presence] in Urine sediment by Light microscopy",
                          "display"), ("Bacteria", "COMPONENT")),
                        {"SYSTEM": "Urine sed", "PROPERTY": "PrThr"})]
    index = TargetIndex(terms, glossary=False)
    groups = index._groups("Bakterien [Nachweis] in Urinsediment mit Lichtmikroskopie")
    assert not any("urinsediment" in g for g in groups)
    assert "urinsediment" in SPECIMEN_WORDS and "harnsediment" in SPECIMEN_WORDS
    hint = axes("Bakterien Urinsediment")
    assert max(hint.systems, key=lambda s: hint.systems[s]) == "Urine sed"


def test_a_urine_sample_given_apart_is_also_its_sediment() -> None:
    """"RBC" of a urinalysis with the specimen Urine given apart: the sediment's terms count
    nearly as the urine's; a name saying urine itself ("Erythrozyten /U") keeps the urine
    first, as it would say "Sediment" when it counted there."""
    apart = axes("RBC", specimen="Urine", category="Hematology").systems
    assert apart["Urine"] == 1.0 and apart["Urine sed"] == 0.9
    named = axes("Erythrozyten /U").systems
    assert named["Urine"] == 1.0 and named["Urine sed"] == 0.6
    assert urine_sample({"Bld": 1.0}) == {"Bld": 1.0}


def test_an_inflected_german_method_is_named() -> None:
    """"mit manueller Zählung", "Automatisierte Zählung": a named method, so the usual
    variant does not override it."""
    assert "manual count" in axes("Eosinophile Blut Manuelle Zählung").methods
    assert "automated count" in axes(
        "Stabkernige Neutrophile/100 Leukozyten in Blut mit automatisierter Zählung").methods
