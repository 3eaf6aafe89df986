"""Coverage of a query's words: an abbreviation's expansion names it only as a whole."""

from __future__ import annotations

from mappings.coverage import coverage
from mappings.lexicon import Lexicon
from mappings.suggest import TargetIndex, TargetTerm, suggest


def _term(code: str, display: str, component: str, system: str, short: str = ""
          ) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"), (component, "COMPONENT"),
                                      (short or component, "SHORTNAME")),
                      {"SYSTEM": system, "SCALE_TYP": "Qn"})


def _index() -> TargetIndex:
    terms = [_term("30428-7", "Erythrocyte mean corpuscular volume [Entitic volume]",
                   "Erythrocyte mean corpuscular volume", "RBC", "MCV RBC"),
             _term("26453-1", "Erythrocytes [#/volume] in Blood", "Erythrocytes", "Bld"),
             _term("4537-7", "Erythrocyte sedimentation rate", "Erythrocyte sedimentation rate",
                   "Bld"),
             _term("11273-0", "Erythrocytes [Morphology] in Blood", "Erythrocytes", "Bld")]
    terms += [_term(f"9{i}", f"{a} [#/volume] in Blood", a, "Bld")
              for i, a in enumerate(("Leukocytes", "Platelets", "Basophils", "Blasts",
                                     "Monocytes", "Reticulocytes", "Eosinophils"))]
    return TargetIndex(terms, lexicon=Lexicon())


def test_a_common_word_of_an_expansion_names_the_abbreviation_in_part() -> None:
    """"MCV" is the erythrocyte mean corpuscular volume: a term that only says
    "Erythrocytes" or "volume" names it in part, the one with every word in full."""
    index = _index()
    cov, _ = coverage(index, index._groups("MCV"))
    assert cov[0] > 0.99
    assert max(cov[4:]) < 0.5  # "volume" alone


def test_mcv_is_the_mean_corpuscular_volume_not_the_erythrocyte_count() -> None:
    got = suggest(_index(), "MCV", specimen="Blood", category="Hematology")
    assert got[0].code == "30428-7"


def test_a_blood_gas_haemoglobin_derivative_is_a_fraction_of_total_haemoglobin() -> None:
    """CO-oximetry in a blood gas section reports COHb and MetHb as % of total Hb."""
    from mappings.hints import axes

    assert axes("Carboxyhemoglobin", specimen="Blood", category="Blood Gas").properties \
        == {"MFr"}
    assert axes("MetHb", category="Blutgasanalyse").properties == {"MFr"}
    assert axes("Hemoglobin", specimen="Blood", category="Blood Gas").properties == set()
    assert axes("Methemoglobin", specimen="Blood", category="Chemistry").properties == set()
