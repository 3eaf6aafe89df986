"""LOINC's short forms of words, learnt from the targets' SHORTNAMEs."""

from __future__ import annotations

import pytest

from mappings.shortforms import short_forms, split_case, with_long_forms
from mappings.suggest import TargetIndex, TargetTerm, suggest


def _term(code: str, analyte: str, system: str, code_system: str, short_system: str
          ) -> TargetTerm:
    display = f"{analyte} [Mass/volume] in {system}"
    return TargetTerm(code, display, ((display, "display"),
                                      (f"{analyte} {short_system}-mCnc", "en-US SHORTNAME"),
                                      (analyte, "COMPONENT")),
                      {"SYSTEM": code_system, "PROPERTY": "MCnc", "SCALE_TYP": "Qn"})


def _terms() -> list[TargetTerm]:
    drugs = ("Oxycodone Morphine Codeine Fentanyl Methadone Cocaine Heroin Tramadol Ethanol "
             "Caffeine Nicotine Lithium").split()
    return [*(_term(f"u{i}", d, "Urine", "Urine", "Urn") for i, d in enumerate(drugs)),
            *(_term(f"s{i}", d, "Serum or Plasma", "Ser/Plas", "SerPl")
              for i, d in enumerate(drugs)),
            _term("bu", "Bupropion", "Urine", "Urine", "Ur"),
            _term("bs", "Bupropion", "Serum or Plasma", "Ser/Plas", "SerPl")]


def test_a_short_form_many_terms_share_is_learnt() -> None:
    forms = short_forms((t.display, t.texts) for t in _terms())
    assert forms["urn"] == "urine"
    assert "serpl" not in forms  # no word of the long name is spelt with its letters
    few = short_forms((t.display, t.texts) for t in _terms()[:5])
    assert "urn" not in few  # too few terms pair it


def test_a_word_another_text_holds_or_a_known_word_is_no_short_form() -> None:
    terms = [*_terms(), TargetTerm("x", "Urn [Mass/volume] in Urine", (("Urn", "display"),))]
    assert "urn" not in short_forms((t.display, t.texts) for t in terms)
    assert "urn" not in short_forms(((t.display, t.texts) for t in _terms()),
                                    known=lambda w: w == "urn")


def test_a_local_short_form_is_written_out_and_names_the_specimen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mappings.scopewords.LEARN_FROM", 0)
    assert with_long_forms("Oxycodone, Urn, Quant", {"urn": "urine"}) == "oxycodone, urine, quant"
    assert with_long_forms("Oxycodone", {"urn": "urine"}) == "Oxycodone"
    index = TargetIndex(_terms())
    # the urine term's own short name says "Ur": only the written-out word names the specimen
    assert suggest(index, "Bupropion, Urn, Quant", unit="ng/mL")[0].code == "bu"


@pytest.mark.parametrize(("name", "parted"), [
    ("BasoFlg", "Baso Flg"),        # lower-case run, then a capitalised word
    ("WBCScat", "WBC Scat"),        # capitals before a capitalised word
    ("MDRDgfr", "MDRD gfr"),        # the other reading has more known parts
    ("NTproBNP", "NT proBNP"),      # known parts, as few as can be
    ("IgG", "IgG"),                 # known as a whole
    ("HBsAg", "HBsAg"),             # a one-letter part: no split
    ("Baso", "Baso"),
])
def test_a_word_written_in_cased_parts_is_parted(name: str, parted: str) -> None:
    known = {"baso", "wbc", "mdrd", "gfr", "igg", "nt", "pro", "bnp", "probnp"}.__contains__
    assert split_case(name, known) == parted


def test_cased_parts_find_the_analyte(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mappings.scopewords.LEARN_FROM", 0)
    index = TargetIndex(_terms())
    assert suggest(index, "CaffeineUrn")[0].code == "u9"  # "Caffeine Urn": urine
