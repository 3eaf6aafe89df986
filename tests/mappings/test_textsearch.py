"""Suggestions through the store's text index of `$expand` (mappings/textsearch.py over
termserver/store/search_candidates.py), on both backends; the missing-index state."""

from __future__ import annotations

import pytest

from loaders.base import CodeSystemContent
from mappings.glossary import GLOSSARY, glossary_words
from mappings.normalize import index_word
from mappings.textsearch import IndexNotReady, StoreTargetSearch, index_text, skeleton
from termserver.errors import NotFound
from termserver.ingest import save_code_system_content
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Designation, Record
from termserver.store import Store, search

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
def loinc(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(search, "SEARCH_MIN", 1)  # index this tiny LOINC like a real one
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
    ("Masern-AK IgG", "U/mL", None, "7962-4"),  # a German compound, split
])
def test_suggestions_through_the_index(loinc: Store, text: str, unit: str | None,
                                       specimen: str | None, best: str) -> None:
    search = StoreTargetSearch(loinc, [(LOINC, None)])
    found = search.suggest(text, unit=unit, specimen=specimen)
    assert found and found[0].code == best, [(s.code, s.score) for s in found]
    assert found[0].why and 0 < found[0].score <= 1
    assert all(a.score >= b.score for a, b in zip(found, found[1:], strict=False))


def test_query_words_and_their_spellings(loinc: Store) -> None:
    search_ = StoreTargetSearch(loinc, [(LOINC, None)])
    assert search_.split("mumpsvirus") == ["mumps", "virus"]
    assert search_.split("mumps") == [] and search_.split("xylophonquartett") == []
    assert search_.split("kaliumsurin") == ["kalium", "urin"]  # a linking "s" dropped
    # the index's folding joins German and English spellings into one index word
    assert index_word("Glukose") == index_word("glucose")
    assert index_word("Kalzium") == index_word("calcium") != index_word("Kalium")
    assert index_text("Hämoglobin") == index_text("Haemoglobin") == index_word("hamoglobin")
    assert dict(search_.close_tokens("neutroph"))[index_word("neutrophils")] == 0.8
    kalzium = search_.query("Kalzium")[0]
    assert kalzium[index_word("calcium")] == 1.0
    assert kalzium.get(index_word("kalium"), 0.0) < 1.0  # one letter off weighs less
    groups = search_.query("Glukose im Serum")
    assert len(groups) == 2 and groups[1]["serum"] == 1.0  # "im" is a stop word
    terms = [t for _, t in search_.candidates("Glukose i.S.")]
    assert search_.rerank_text("Glukose i.S.", terms) == "glucose i.s."
    assert search_.rerank_text("Glucose /S", terms) == "Glucose /S"  # as it is: hints read it
    assert search_.rerank_text("Mumpsvirus-AK") == "mumps virus-ak"
    german = next(k for k in GLOSSARY if glossary_words(k))  # the German glossary
    assert {index_word(w) for w in glossary_words(german)} <= set(search_.query(german)[0])


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
    search_ = StoreTargetSearch(loinc, [(LOINC, None)])
    assert search_.current()
    assert all(s.code != "1751-7" for s in search_.suggest("Albumin"))
    load(loinc, LOINC, "2.78", [*LOINC_RECORDS, *_loinc(
        "1751-7", "Albumin [Mass/volume] in Serum or Plasma", None, "Albumin", "Ser/Plas",
        "MCnc")])
    assert not search_.current()
    fresh = StoreTargetSearch(loinc, [(LOINC, None)])
    assert fresh.current()
    assert fresh.suggest("Albumin")[0].code == "1751-7"


def test_a_missing_index_is_reported_not_built(loinc: Store) -> None:
    cs = loinc.resolve_code_system(LOINC)
    assert cs is not None
    with loinc.engine.begin() as conn:  # as after an upgrade, or while `reindex` runs
        search.drop(conn, cs.pk)
    with pytest.raises(IndexNotReady) as caught:
        StoreTargetSearch(loinc, [(LOINC, None)])
    assert caught.value.http_status == 503 and "being built" in caught.value.message
    assert f"{LOINC}|2.78" in caught.value.message
    with loinc.engine.begin() as conn:
        search.build(conn, cs.pk)
    assert StoreTargetSearch(loinc, [(LOINC, None)]).suggest("Kalium")[0].code == "2823-3"


def test_a_value_set_scope_keeps_only_its_codes(loinc: Store) -> None:
    allowed = {"2828-2", "2339-0"}
    search_ = StoreTargetSearch(loinc, [(LOINC, None)], allowed=allowed.__contains__)
    assert [s.code for s in search_.suggest("Kalium")] == ["2828-2"]
    assert {s.code for s in search_.suggest("Glucose", limit=10)} == {"2339-0"}


def test_frequent_words_only_rank_the_rare_ones_hits(loinc: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.store import search_candidates as sc

    monkeypatch.setattr(sc, "FREQUENT_MIN", 2)  # "serum" (5 texts) is frequent here
    monkeypatch.setattr(sc, "FREQUENT_SHARE", 0.0)
    cs = loinc.resolve_code_system(LOINC)
    assert cs is not None
    state = sc.state(loinc, cs.pk)
    assert state is not None and state.active == state.texts  # no inactive concept here
    kalium_serum = [{"kalium": 1.0}, {"serum": 1.0}]
    found = [code for code, _ in sc.candidates(loinc, state, kalium_serum, 10)]
    assert found[0] == "2823-3" and "2828-2" in found  # urine: kalium only
    assert "2000-8" not in found  # serum alone does not select a concept
    only_frequent = [code for code, _ in sc.candidates(loinc, state, [{"serum": 1.0}], 3)]
    assert len(only_frequent) == 3  # the best-ranked texts of the least frequent word
    mumps = sc.candidates(loinc, state, [{"serum": 1.0}], 3, allowed={"7966-5"}.__contains__)
    assert [code for code, _ in mumps] == ["7966-5"]


def test_a_specimen_given_apart_orders_the_candidates_of_one_analyte(loinc: Store) -> None:
    """Among the terms of one analyte the index hands over first those of the specimen given
    apart (without it, the first indexed: Potassium in Urine)."""
    s = StoreTargetSearch(loinc, [(LOINC, None)])
    assert [t.code for _, t in s.candidates("Potassium", 1, specimen="Urine")] == ["2828-2"]
    assert [t.code for _, t in s.candidates("Glucose", 1, specimen="Blood")] == ["2339-0"]
    found = [t.code for _, t in s.candidates("Potassium", 10, specimen="Serum")]
    assert found[:2] == ["2823-3", "2828-2"]
    assert [t.code for _, t in s.candidates("Potassium", 1)] == ["2828-2"]


def test_run_together_cased_words_are_parted_for_the_index(store: Store,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A name the index does not know whole ("NTproBNP") is looked up in its cased parts."""
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    load(store, LOINC, "2.78", [
        *LOINC_RECORDS,
        Concept("33762-6", "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in "
                           "Serum or Plasma"),
        Designation("33762-6", "NT-proBNP SerPl-mCnc", "en-US", LOINC, "SHORTNAME")])
    s = StoreTargetSearch(store, [(LOINC, None)])
    assert [x.code for x in s.suggest("NTproBNP", specimen="Blood")][:1] == ["33762-6"]
