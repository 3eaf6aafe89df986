"""Normalisation and suggestion ranking over a small hand-made LOINC-like index."""

from __future__ import annotations

import pytest

from mappings.normalize import fold, normalize, tokens
from mappings.suggest import TargetIndex, TargetTerm, specimen_hint, suggest, unit_hint
from termserver.model import Concept, ConceptDetail, ConceptProperty, Designation


@pytest.mark.parametrize(("a", "b"), [
    ("Hämoglobin", "Haemoglobin"),
    ("HÄMOGLOBIN", "haemoglobin"),
    ("Fußball", "FUSSBALL"),
    ("Glukose  (nüchtern)", "glukose nuechtern"),
])
def test_umlauts_case_and_punctuation_meet(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_fold_drops_other_accents() -> None:
    assert fold("Protéine Ä") == "proteine ae"


def test_abbreviations_expand_after_the_token() -> None:
    assert tokens("Hb") == ["hb", "haemoglobin", "hemoglobin"]
    assert "aspartate" in tokens("GOT") and "alanine" in tokens("GPT")
    assert tokens("Krea i.S.") == ["krea", "kreatinin", "creatinine", "im", "serum"]
    assert "chlorid" in tokens("Cl-") and "natrium" in tokens("Na")


def test_unit_and_specimen_hints() -> None:
    assert unit_hint("mmol/L") == ({"SCnc"}, "Qn")
    assert unit_hint("mg/dL") == ({"MCnc"}, "Qn")
    assert unit_hint("g/dl") == ({"MCnc"}, "Qn")
    assert unit_hint("U/l")[0] == {"CCnc"}
    assert unit_hint(None) == (set(), None)
    assert specimen_hint("Serum")["Ser/Plas"] == 1.0
    assert "Urine" in specimen_hint("Urin") and "CSF" in specimen_hint("Liquor")
    assert specimen_hint("something else") == {}


def _term(code: str, display: str, german: str, system: str, prop: str,
          scale: str = "Qn") -> ConceptDetail:
    props = tuple(ConceptProperty(code, name, value, "string") for name, value in (
        ("COMPONENT", display.split(" [")[0]), ("SYSTEM", system), ("PROPERTY", prop),
        ("SCALE_TYP", scale)))
    return ConceptDetail(Concept(code, display), (Designation(code, german, "de-DE"),), props)


@pytest.fixture(scope="module")
def index() -> TargetIndex:
    return TargetIndex.from_details([
        _term("59260-0", "Hemoglobin [Moles/volume] in Blood", "Hämoglobin [Mol/Volumen] in Blut",
              "Bld", "SCnc"),
        _term("718-7", "Hemoglobin [Mass/volume] in Blood", "Hämoglobin [Masse/Volumen] in Blut",
              "Bld", "MCnc"),
        _term("30350-3", "Hemoglobin [Mass/volume] in Venous blood",
              "Hämoglobin [Masse/Volumen] in Venösem Blut", "BldV", "MCnc"),
        _term("725-2", "Hemoglobin [Presence] in Urine", "Hämoglobin [Nachweis] in Urin",
              "Urine", "PrThr", "Ord"),
        _term("2345-7", "Glucose [Mass/volume] in Serum or Plasma",
              "Glukose [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
        _term("2339-0", "Glucose [Mass/volume] in Blood", "Glukose [Masse/Volumen] in Blut",
              "Bld", "MCnc"),
        _term("2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
              "Kreatinin [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
    ])


def test_german_name_with_unit_ranks_the_right_code_first(index: TargetIndex) -> None:
    got = suggest(index, "Hämoglobin im Blut", unit="g/dl")
    assert got[0].code == "718-7"
    assert {s.code for s in got[:3]} >= {"59260-0", "30350-3"}
    assert all(0.0 <= s.score <= 1.0 for s in got)
    assert got[0].score > got[1].score


def test_unit_decides_between_mass_and_moles(index: TargetIndex) -> None:
    assert suggest(index, "Hb", unit="mmol/L", specimen="Blut")[0].code == "59260-0"
    assert suggest(index, "Hb", unit="g/dL", specimen="Blut")[0].code == "718-7"


def test_specimen_hint_picks_the_system(index: TargetIndex) -> None:
    assert suggest(index, "BZ", specimen="Serum")[0].code == "2345-7"
    assert suggest(index, "BZ", specimen="Vollblut")[0].code == "2339-0"
    assert suggest(index, "Hämoglobin", specimen="Urin")[0].code == "725-2"
    assert suggest(index, "Krea i.S.")[0].code == "2160-0"


def test_why_explains_the_evidence(index: TargetIndex) -> None:
    best = suggest(index, "Haemoglobin im Blut", unit="g/dl", specimen="Blut")[0]
    assert best.code == "718-7"
    assert "query tokens found" in best.why
    assert "PROPERTY MCnc" in best.why and "SYSTEM Bld" in best.why
    assert "de-DE" in best.why or "display" in best.why or "COMPONENT" in best.why


def test_nothing_matching_gives_nothing(index: TargetIndex) -> None:
    assert suggest(index, "zzzz qqqq") == []
    assert suggest(index, "   ") == []
    assert suggest(TargetIndex([TargetTerm("1", "x")]), "Hb") == []
    assert len(suggest(index, "Hämoglobin", limit=2)) == 2
