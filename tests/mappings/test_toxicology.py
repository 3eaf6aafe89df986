"""Drug tests: a screen word with a drug level's unit says LOINC's Screen method, a
chromatography-mass spectrometry method its Confirmatory method; "Cord" reported per gram is
the umbilical cord's tissue, not cord blood."""

from __future__ import annotations

import pytest

from mappings.hints import axes
from mappings.suggest import TargetIndex, TargetTerm, suggest


def _term(code: str, display: str, props: dict[str, str]) -> TargetTerm:
    component = display.split(" [")[0]
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT")),
                      {"TIME_ASPCT": "Pt", **props})


@pytest.mark.parametrize(("name", "unit"), [
    ("OPIATES, IA", "ng/mL"), ("MEPERIDINE,IA", "ng/mL"), ("Amphetamines Scr", "ng/mL"),
    ("Cocaine, Urn, Screen", "ng/mL"), ("Benzodiazepines, EIA", "ng/mL")])
def test_a_drug_screen_is_the_screen_method(name: str, unit: str) -> None:
    assert "screen" in axes(name, unit).methods


def test_scr_in_a_creatinine_unit_is_no_screen() -> None:
    assert "screen" not in axes("Creatinine SCr", "mg/dL").methods
    assert "screen" not in axes("Influenza A Ag, EIA").methods  # no drug level: immunoassay


@pytest.mark.parametrize(("name", "technique"), [
    ("Carboxy THC (GC/MS)", "gc/ms"), ("Tacrolimus by HPLC-MS/MS", "lc/ms/ms"),
    ("Cocaine, LC-MS/MS", "lc/ms/ms")])
def test_mass_spectrometry_is_the_confirmatory_method(name: str, technique: str) -> None:
    methods = axes(name, "ng/mL").methods
    assert "confirm" in methods and technique in methods


def test_an_immunoassay_screen_finds_the_screen_term() -> None:
    index = TargetIndex([
        _term("1", "Opiates [Presence] in Serum or Plasma",
              {"PROPERTY": "PrThr", "SYSTEM": "Ser/Plas", "SCALE_TYP": "Ord"}),
        _term("2", "Opiates [Presence] in Serum or Plasma by Screen method",
              {"PROPERTY": "PrThr", "SYSTEM": "Ser/Plas", "SCALE_TYP": "Ord",
               "METHOD_TYP": "Screen"})])
    assert suggest(index, "OPIATES, IA", unit="ng/mL")[0].code == "2"


def test_cord_per_gram_is_cord_tissue() -> None:
    hint = axes("Gabapentin, Cord, Qual", "ng/g")
    assert "BldCo" not in hint.systems and hint.systems["TissCo"] == 1.0
    assert hint.systems["XXX"] > 0
    assert axes("Bilirubin, Cord", "mg/dL").systems["BldCo"] == 1.0  # per volume: cord blood
    index = TargetIndex([
        _term("1", "Gabapentin [Presence] in Cord blood",
              {"PROPERTY": "PrThr", "SYSTEM": "BldCo", "SCALE_TYP": "Ord"}),
        _term("2", "Gabapentin [Presence] in Specimen",
              {"PROPERTY": "PrThr", "SYSTEM": "XXX", "SCALE_TYP": "Ord"})])
    assert suggest(index, "Gabapentin, Cord, Qual", unit="ng/g")[0].code == "2"
