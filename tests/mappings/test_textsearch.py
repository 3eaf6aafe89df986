"""Suggestions through the database text index (mappings/textsearch.py), on both backends."""

from __future__ import annotations

import pytest

from loaders.base import CodeSystemContent
from mappings.textsearch import StoreTargetSearch, skeleton
from termserver.errors import NotFound
from termserver.ingest import save_code_system_content
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Designation, Record
from termserver.store import Store

LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"


def _loinc(code: str, display: str, german: str | None, component: str, system: str,
           prop: str) -> list[Record]:
    records: list[Record] = [Concept(code, display)]
    if german:
        records.append(Designation(code, german, "de-DE", LOINC, "LONG_COMMON_NAME"))
    records += [ConceptProperty(code, name, value, "string") for name, value in (
        ("COMPONENT", component), ("SYSTEM", system), ("PROPERTY", prop), ("SCALE_TYP", "Qn"))]
    return records


LOINC_RECORDS: list[Record] = [
    *_loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma",
            "Kalium [Mol/Volumen] in Serum oder Plasma", "Potassium", "Ser/Plas", "SCnc"),
    *_loinc("2828-2", "Potassium [Moles/volume] in Urine", "Kalium [Mol/Volumen] in Urin",
            "Potassium", "Urine", "SCnc"),
    *_loinc("2000-8", "Calcium [Moles/volume] in Serum or Plasma", None, "Calcium",
            "Ser/Plas", "SCnc"),
    *_loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma", None, "Glucose",
            "Ser/Plas", "MCnc"),
    *_loinc("2339-0", "Glucose [Mass/volume] in Blood", None, "Glucose", "Bld", "MCnc"),
    *_loinc("718-7", "Hemoglobin [Mass/volume] in Blood", "Hämoglobin [Masse/Volumen] in Blut",
            "Hemoglobin", "Bld", "MCnc"),
    *_loinc("26464-8", "Leukocytes [#/volume] in Blood", None, "Leukocytes", "Bld", "NCnc"),
    *_loinc("7966-5", "Mumps virus IgG Ab [Units/volume] in Serum", None, "Mumps virus Ab.IgG",
            "Ser", "ACnc"),
    *_loinc("26511-6", "Neutrophils/100 leukocytes in Blood", None, "Neutrophils/100 leukocytes",
            "Bld", "NFr"),
    *_loinc("2465-3", "IgG [Mass/volume] in Serum", None, "IgG", "Ser", "MCnc"),
    *_loinc("7962-4", "Measles virus IgG Ab [Units/volume] in Serum", None,
            "Measles virus Ab.IgG", "Ser", "ACnc"),
]


def load(store: Store, url: str, version: str, records: list[Record]) -> None:
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(url, version),
                                                      iter(records)))


@pytest.fixture
def loinc(store: Store) -> Store:
    load(store, LOINC, "2.78", LOINC_RECORDS)
    return store


def test_skeleton_joins_german_and_english_spellings() -> None:
    for a, b in (("glukose", "glucose"), ("kalzium", "calcium"), ("leukozyten", "leukocytes"),
                 ("haemoglobin", "hemoglobin"), ("kreatinin", "creatinine")):
        assert skeleton(a) == skeleton(b), (a, b)
    assert skeleton("kalium") != skeleton("kalzium")


@pytest.mark.parametrize(("text", "unit", "specimen", "best"), [
    ("Kalium", "mmol/L", "Serum", "2823-3"),  # German designation
    ("kalium im Urin", None, None, "2828-2"),
    ("Glukose i.S.", "mg/dL", None, "2345-7"),  # German spelling of an English-only term
    ("Glucose", "mg/dL", "Vollblut", "2339-0"),
    ("Kalzium", "mmol/l", "Serum", "2000-8"),  # not Kalium
    ("Hb", "g/dL", None, "718-7"),  # abbreviation
    ("HÄMOGLOBIN", None, None, "718-7"),
    ("Leukozyten", None, "Blut", "26464-8"),
    ("Mumpsvirus-AK IgG", None, None, "7966-5"),  # an unknown compound, split
    ("Neutroph. rel.", "%", None, "26511-6"),  # a word the abbreviation begins
    ("Masern-AK IgG", "U/mL", None, "7962-4"),  # through the German glossary
])
def test_suggestions_through_the_index(loinc: Store, text: str, unit: str | None,
                                       specimen: str | None, best: str) -> None:
    search = StoreTargetSearch(loinc, [(LOINC, None)])
    found = search.suggest(text, unit=unit, specimen=specimen)
    assert found and found[0].code == best, [(s.code, s.score) for s in found]
    assert found[0].why and 0 < found[0].score <= 1
    assert all(a.score >= b.score for a, b in zip(found, found[1:], strict=False))


def test_query_words_and_their_spellings(loinc: Store) -> None:
    search = StoreTargetSearch(loinc, [(LOINC, None)])
    assert search.split("mumpsvirus") == ["mumps", "virus"]
    assert search.split("mumps") == [] and search.split("xylophonquartett") == []
    close = dict(search.close_tokens("glukose"))
    assert close["glucose"] == 0.95  # same skeleton
    assert dict(search.close_tokens("neutroph"))["neutrophils"] == 0.8  # begins it
    kalzium = dict(search.close_tokens("kalzium"))
    assert kalzium["calcium"] > kalzium.get("kalium", 0.0)  # one letter off weighs less
    assert search.query("Glukose im Serum")[1] == ["serum"]  # "im" is a stop word
    assert search.rerank_text("Glukose i.S.") == "glucose im serum"
    assert search.rerank_text("Mumpsvirus") == "mumps virus"
    assert {"measles", "virus"} <= set(search.query("Masern")[0])  # the German glossary


def test_nothing_for_empty_or_unknown_text(loinc: Store) -> None:
    search = StoreTargetSearch(loinc, [(LOINC, "2.78")])
    assert search.suggest("") == []
    assert search.suggest("  ,; ") == []
    assert search.suggest("Xylophonquartett") == []
    assert len(search.suggest("Serum", limit=2)) == 2


def test_two_code_systems_and_unknown_ones(loinc: Store) -> None:
    load(loinc, SCT, "2025", [Concept("88480006", "Potassium"),
                              Designation("88480006", "Potassium (substance)", "en")])
    search = StoreTargetSearch(loinc, [(LOINC, None), (SCT, "2025")])
    found = search.suggest_with_systems("Potassium", limit=10)
    systems = {s.code: system for system, s in found}
    assert systems["88480006"] == (SCT, "2025") and systems["2823-3"] == (LOINC, "2.78")
    with pytest.raises(NotFound):
        StoreTargetSearch(loinc, [("http://example.org/none", None)])


def test_a_changed_code_system_is_reindexed(loinc: Store) -> None:
    search = StoreTargetSearch(loinc, [(LOINC, None)])
    assert search.current()
    assert all(s.code != "1751-7" for s in search.suggest("Albumin"))
    load(loinc, LOINC, "2.78", [*LOINC_RECORDS, *_loinc(
        "1751-7", "Albumin [Mass/volume] in Serum or Plasma", None, "Albumin", "Ser/Plas",
        "MCnc")])
    assert not search.current()
    fresh = StoreTargetSearch(loinc, [(LOINC, None)])
    assert fresh.current()
    assert fresh.suggest("Albumin")[0].code == "1751-7"
