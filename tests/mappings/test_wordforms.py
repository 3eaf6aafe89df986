"""Words in another form: "Desmethyl…" as "Nor…", two words the targets write as one
(mappings.wordforms, issue 17)."""

from __future__ import annotations

from mappings.suggest import TargetIndex, TargetTerm
from mappings.wordforms import joined_words, nor_forms


def test_a_desmethyl_metabolite_is_its_nor_form_when_the_targets_hold_it() -> None:
    vocab = {"nortrimipramine", "odesmethylvenlafaxine"}
    assert nor_forms(["desmethyltrimipramine", "serum"], vocab) == ["nortrimipramine", "serum"]
    assert nor_forms(["desmethylfoo"], vocab) == ["desmethylfoo"]  # no "norfoo" target
    assert nor_forms(["odesmethylvenlafaxine"], vocab) == ["odesmethylvenlafaxine"]


def test_two_words_the_targets_write_as_one_also_match_the_one_word() -> None:
    groups = [["sulf"], ["hgb", "hemoglobin"], ["and"], ["or"]]
    assert joined_words(groups, {"sulfhgb", "andor"}, ["sulf", "hgb", "and", "or"]) == [
        ["sulf", "sulfhgb"], ["hgb", "hemoglobin", "sulfhgb"], ["and"], ["or"]]
    # the parts of a split compound are no neighbouring words of the name
    parts = [["agar"], ["diffusion"]]
    assert joined_words(parts, {"agardiffusion"}, ["agardiffusionstest"]) == parts


def test_a_name_written_in_two_words_finds_the_one_word_target() -> None:
    terms = [TargetTerm(c, d, ((d, "display"), (s, "SHORTNAME")), {})
             for c, d, s in (("s", "Sulfhemoglobin [Mass/volume] in Blood", "SulfHgb Bld-mCnc"),
                             ("m", "Methemoglobin [Mass/volume] in Blood", "MetHgb Bld-mCnc"),
                             ("h", "Hemoglobin [Mass/volume] in Blood", "Hgb Bld-mCnc"))]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("Sulf Hgb", limit=1)[0].code == "s"
