"""Words learnt from the whole target scope (mappings.scopewords), and the database path
learning them once per index build from every term, not from each short candidate list."""

from __future__ import annotations

import pytest

from loaders.base import CodeSystemContent
from mappings import scopewords, textsearch
from mappings.scopewords import ScopeWords, from_json, learn_scope, to_json
from mappings.textsearch import StoreTargetSearch
from termserver.ingest import save_code_system_content
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Record
from termserver.store import Store, search
from tests.helpers import join_background_work

LOINC = "http://loinc.org"


def _term(code: str, component: str, system: str, prop: str = "CCnc") -> list[Record]:
    display = f"{component} [Enzymatic activity/volume] in {system}"
    return [Concept(code, display),
            *(ConceptProperty(code, name, value, "string") for name, value in (
                ("COMPONENT", component), ("SYSTEM", system), ("PROPERTY", prop),
                ("SCALE_TYP", "Qn"), ("CLASSTYPE", "1")))]


#: 25 lactate dehydrogenase terms of other systems teach "LD"; a name for body fluid finds
#: only the body fluid terms as candidates, which alone teach nothing
RECORDS: list[Record] = [
    *(r for i in range(25) for r in _term(f"{100 + i}-{i % 10}", "Lactate dehydrogenase",
                                          f"Specimen {i}")),
    *_term("2000-1", "Lactate dehydrogenase", "Body fld"),
    *_term("2001-9", "Lactate", "Body fld", "SCnc"),
]


@pytest.fixture
def loinc(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    monkeypatch.setattr(scopewords, "LEARN_FROM", 20)
    monkeypatch.setattr(textsearch, "LEARN_FROM", 20)
    monkeypatch.setattr(textsearch, "_SCOPES", {})  # an earlier test may share a stamp
    monkeypatch.setattr(textsearch, "_SCOPE_STARTED", set())
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(LOINC, "9.98"),
                                                      iter(RECORDS)))
    return store


def test_the_database_path_reads_acronyms_learnt_from_every_term(loinc: Store) -> None:
    finder = StoreTargetSearch(loinc, [(LOINC, None)])
    words = finder.scope_words(wait=True)
    assert words is not None and words.acronyms["ld"] == ("lactate", "dehydrogenase")
    found = finder.suggest("LD, Body Fluid", unit="U/L")
    assert found[0].code == "2000-1"


def test_a_request_never_waits_for_the_scope_words_and_they_are_kept(
        loinc: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    finder = StoreTargetSearch(loinc, [(LOINC, None)])
    assert finder.scope_words() is None  # learnt in a thread meanwhile
    join_background_work()
    learnt = finder.scope_words()
    assert learnt is not None and learnt.acronyms.get("ld")
    monkeypatch.setattr(textsearch, "_SCOPES", {})  # as in another process

    def no_learning(*_: object) -> ScopeWords:
        raise AssertionError("learnt again although the words were kept")

    monkeypatch.setattr(textsearch, "_learn_scope", no_learning)
    assert StoreTargetSearch(loinc, [(LOINC, None)]).scope_words() == learnt


def test_scope_words_round_trip_through_json() -> None:
    from mappings.terms import TargetTerm

    terms = [TargetTerm(str(i), f"Lactate dehydrogenase [Enzymatic activity/volume] in {s}",
                        ((f"LDH {s[:2]}", "en-US SHORTNAME"),),
                        {"SYSTEM": s, "CLASS": "CHEM", "METHOD_TYP": "Screen"})
             for i, s in enumerate(["Urine", "Ser/Plas"] * 30)]
    words = learn_scope(terms, [frozenset({"lactate", "dehydrogenase"})] * 60,
                        ["Lactate dehydrogenase"] * 60, lambda w: False)
    assert from_json(to_json(words)) == words
    assert from_json(b"{") is None and from_json(b'{"format": -1}') is None


def _cells(code: str, component: str, system: str, name: str) -> list[Record]:
    display = f"{component} [#/volume] in {name}"
    return [Concept(code, display),
            *(ConceptProperty(code, prop, value, "string") for prop, value in (
                ("COMPONENT", component), ("SYSTEM", system), ("PROPERTY", "NCnc"),
                ("SCALE_TYP", "Qn"), ("CLASSTYPE", "1")))]


CELLS: list[Record] = [
    *_cells("30-1", "Monocytes", "Bld", "Blood"),
    *_cells("30-2", "Monocytes", "Periton fld", "Peritoneal fluid"),
    *(r for i, c in enumerate(("Erythrocytes", "Leukocytes", "Lymphocytes"))
      for r in _cells(f"31-{i}", c, "Periton fld", "Peritoneal fluid")),
    *_cells("32-1", "Myelocytes", "Bld", "Blood"),
    *_cells("33-1", "Promyelocytes", "Bld", "Blood"),
    *_cells("34-1", "Prom", "Bld", "Blood"),  # "prom" and "yelo": the parts of a false split
    *_cells("34-2", "Yelo", "Bld", "Blood"),
    *(r for i in range(20) for r in _cells(f"35-{i}", f"Cell type {i}", "Bld", "Blood")),
    *_cells("36-1", "Beta", "Ser", "Serum"),
    *_cells("36-2", "Beta globulin", "Ser", "Serum"),
]


@pytest.fixture
def cells(store: Store, monkeypatch: pytest.MonkeyPatch) -> StoreTargetSearch:
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    monkeypatch.setattr(textsearch, "_SCOPES", {})
    monkeypatch.setattr(textsearch, "_SCOPE_STARTED", set())
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(LOINC, "9.97"),
                                                      iter(CELLS)))
    finder = StoreTargetSearch(store, [(LOINC, None)])
    finder.scope_words(wait=True)
    return finder


def test_the_specimen_given_apart_brings_the_terms_of_its_system_first(
        cells: StoreTargetSearch) -> None:
    """"Ascites" is LOINC's Periton fld, which the displays call "Peritoneal fluid"."""
    words = cells.scope_words()
    assert words is not None and words.system_names["Periton fld"] == "Peritoneal fluid"
    found = cells.candidates("Monocytes", limit=1, specimen="Ascites")
    assert [t.code for _, t in found] == ["30-2"]


@pytest.mark.parametrize(("text", "best"), [
    ("Myelos #", "32-1"),  # a plural short form of an indexed word
    ("Promyelo #", "33-1"),  # the beginning of an indexed word, not the compound prom + yelo
])
def test_a_word_cut_short_finds_the_indexed_word(cells: StoreTargetSearch, text: str,
                                                  best: str) -> None:
    found = cells.suggest(text)
    assert found and found[0].code == best


def test_the_candidates_are_read_as_the_reranker_reads_the_name(
        cells: StoreTargetSearch) -> None:
    """A bare Greek letter names its electrophoresis globulin (mappings.globulins) when the
    candidates are chosen too, not only when they are reranked."""
    found = cells.suggest_with_systems("Beta", candidates=1)
    assert [s.code for _, s in found] == ["36-2"]
