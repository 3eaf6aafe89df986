"""German plurals with umlaut read as their singular (mappings.plurals, issue 17)."""

from __future__ import annotations

from mappings.plurals import singulars
from mappings.suggest import TargetIndex, TargetTerm


def test_singulars_drop_the_ending_and_the_umlaut() -> None:
    assert singulars("graeser")[0] == "gras"
    assert singulars("baeume")[0] == "baum"
    assert singulars("nuesse")[0] == "nuss"
    assert singulars("leukozyten") == []  # no umlaut: the lexicon's endings do


def test_an_umlaut_plural_finds_the_singulars_target() -> None:
    terms = [TargetTerm(c, d, ((d, "display"),), {"CLASS": "ALLERGY"})
             for c, d in (("g", "Grass Allergen Mix 1 IgE Ab [Units/volume] in Serum"),
                          ("t", "Tree Allergen Mix 1 IgE Ab [Units/volume] in Serum"))]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("IgE Gräser Mix 1", limit=1)[0].code == "g"
