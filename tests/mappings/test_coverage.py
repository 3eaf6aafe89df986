"""Coverage of a query's words by an abbreviation's expansion (mappings.coverage)."""

from __future__ import annotations

from mappings.coverage import coverage, expansion_phrases, loinc_names
from mappings.lexicon import Lexicon
from mappings.suggest import TargetIndex, TargetTerm


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
             _term("6301-6", "INR in Platelet poor plasma by Coagulation assay", "INR", "PPP",
                   "INR PPP"),
             _term("5902-2", "Prothrombin time (PT) in Platelet poor plasma by Coagulation "
                   "assay", "Prothrombin time", "PPP", "PT PPP"),
             _term("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "Creatinine",
                   "Ser/Plas")]
    terms += [_term(f"9{i}", f"{a} [#/volume] in Blood", a, "Bld")
              for i, a in enumerate(("Leukocytes", "Platelets", "Basophils", "Blasts",
                                     "Monocytes", "Reticulocytes", "Eosinophils"))]
    return TargetIndex(terms, lexicon=Lexicon(), glossary=False)


def test_an_expansion_that_is_a_loinc_component_names_it_only_as_a_whole() -> None:
    """"MCV" is the erythrocyte mean corpuscular volume (a LOINC COMPONENT): a term that
    only says "Erythrocytes" or "volume" names it in part, the one with every word in full."""
    index = _index()
    assert expansion_phrases(index, "erythrocyte mean corpuscular volume".split()) \
        == [("erythrocyte", "mean", "corpuscular", "volume")]
    cov, _ = coverage(index, index._groups("MCV"))
    assert cov[0] > 0.99
    assert cov[1] < 0.6  # Erythrocytes [#/volume]
    assert max(cov[6:]) < 0.5  # "volume" alone


def test_a_synonym_list_still_names_it_by_each_word() -> None:
    """"Krea": kreatinin creatinine are synonyms, not a phrase: either word names it."""
    index = _index()
    assert expansion_phrases(index, "kreatinin creatinine".split()) == []
    cov, _ = coverage(index, index._groups("Krea"))
    assert cov[5] > 0.99


def test_an_abbreviation_loinc_writes_in_its_component_needs_no_expansion() -> None:
    """LOINC's COMPONENT says "INR": the expansion's "coagulation" (a method word of the
    prothrombin time too) names the INR no more than its own specificity."""
    index = _index()
    assert loinc_names(index, "inr")
    assert not loinc_names(index, "mcv")
    cov, _ = coverage(index, index._groups("INR"))
    assert cov[3] > 0.99
    assert cov[4] < 0.9
