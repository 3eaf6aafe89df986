"""The database text index (termserver/store/textindex.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from loaders.base import CodeSystemContent
from mappings.textsearch import index_text
from termserver.ingest import remove_code_system, save_code_system_content
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Designation, Record
from termserver.store import Store, textindex

LAB = "http://example.org/lab"
OTHER = "http://example.org/other"


def load(store: Store, url: str, version: str, records: list[Record]) -> int:
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(url, version),
                                                      iter(records)))
    cs = store.resolve_code_system(url, version)
    assert cs is not None
    return cs.pk


LAB_RECORDS: list[Record] = [
    Concept("K", "Potassium [Moles/volume] in Serum or Plasma"),
    Designation("K", "Kalium [Mol/Volumen] in Serum oder Plasma", "de-DE", None, "LCN"),
    ConceptProperty("K", "SYSTEM", "Ser/Plas", "string"),
    ConceptProperty("K", "PROPERTY", "SCnc", "string"),
    Concept("KU", "Potassium [Moles/volume] in Urine"),
    Designation("KU", "Kalium [Mol/Volumen] in Urin", "de-DE"),
    Concept("HB", "Hemoglobin [Mass/volume] in Blood"),
    Designation("HB", "Hämoglobin [Masse/Volumen] in Blut", "de-DE"),
    Concept("CREA", "Creatinine [Mass/volume] in Serum or Plasma"),
    Concept("NA", "Sodium [Moles/volume] in Serum or Plasma"),
    Concept("OLD", "Potassium retired term", inactive=True),
]


def test_build_is_idempotent_and_inactive_concepts_only_on_request(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    assert textindex.index_info(store, pk) is None
    assert not textindex.is_current(store, pk, index_text)
    assert textindex.build_text_index(store, pk, index_text) is True
    assert textindex.build_text_index(store, pk, index_text) is False
    info = textindex.index_info(store, pk)
    assert info is not None and (info.docs, info.active) == (6, 5)  # OLD is inactive
    assert textindex.is_current(store, pk, index_text)
    vocab = textindex.vocabulary(store, pk)
    assert vocab["potassium"] == 3 and vocab["kalium"] == 2 and vocab["retired"] == 1
    assert vocab["haemoglobin"] == 1  # folded as the normaliser says: ä -> ae
    assert textindex.search(store, [pk], ["retired"]) == []
    assert [c for _, c, _ in textindex.search(store, [pk], ["retired"], active_only=False)
            ] == ["OLD"]
    assert "OLD" not in {c for _, c, _ in textindex.search(store, [pk], ["potassium"])}


def test_german_folding_and_designations_are_searched(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    textindex.build_text_index(store, pk, index_text)
    # "kalium" is only in the German designations
    assert {c for _, c, _ in textindex.search(store, [pk], ["kalium"])} == {"K", "KU"}
    # "Hämoglobin" in the designation, the query folded the same way
    assert [c for _, c, _ in textindex.search(store, [pk], index_text("HÄMOGLOBIN").split())
            ] == ["HB"]
    assert textindex.search(store, [pk], ["hamoglobin"]) == []  # no fuzzy magic here


def test_rank_prefers_documents_with_more_and_rarer_words(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    textindex.build_text_index(store, pk, index_text)
    hits = textindex.search(store, [pk], ["kalium", "serum"])
    assert hits[0][1] == "K"  # both words
    assert [c for _, c, _ in hits].index("KU") < [c for _, c, _ in hits].index("CREA")
    assert all(a[2] >= b[2] for a, b in zip(hits, hits[1:], strict=False))
    assert len(textindex.search(store, [pk], ["serum"], limit=2)) == 2


def test_alternative_spellings_and_prefixes(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    textindex.build_text_index(store, pk, index_text)
    # one word, several spellings: a group scores once
    hits = textindex.search(store, [pk], [["hb", "haemoglobin", "hemoglobin"]])
    assert [c for _, c, _ in hits] == ["HB"]
    # a long token also matches words beginning like it (minus two letters)
    assert [c for _, c, _ in textindex.search(store, [pk], ["creatinin"])] == ["CREA"]
    assert textindex.search(store, [pk], ["creat"]) == []  # short tokens match whole words


def test_empty_and_unknown_queries(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    textindex.build_text_index(store, pk, index_text)
    assert textindex.search(store, [pk], []) == []
    assert textindex.search(store, [pk], ["", "x y", "Ä"]) == []  # not index tokens
    assert textindex.search(store, [pk], ["zzzunknown"]) == []
    assert textindex.search(store, [pk], ["kalium"], limit=0) == []


def test_rebuild_after_content_change_and_orphans_dropped(store: Store) -> None:
    textindex.build_text_index(store, load(store, LAB, "1", LAB_RECORDS), index_text)
    pk2 = load(store, LAB, "1", [*LAB_RECORDS, Concept("CA", "Calcium [Moles/volume] in Serum")])
    assert not textindex.is_current(store, pk2, index_text)
    assert textindex.search(store, [pk2], ["calcium"]) == []  # stale or none: not built
    assert textindex.build_text_index(store, pk2, index_text) is True
    assert [c for _, c, _ in textindex.search(store, [pk2], ["calcium"])] == ["CA"]
    other = load(store, OTHER, "1", [Concept("X", "Calcium oxalate crystals")])
    remove_code_system(store, LAB, "1")
    textindex.build_text_index(store, other, index_text)  # drops the removed one's index
    assert textindex.index_info(store, pk2) is None
    assert textindex.search(store, [pk2], ["calcium"]) == []
    assert [c for _, c, _ in textindex.search(store, [other], ["calcium"])] == ["X"]


def test_search_over_two_code_systems(store: Store) -> None:
    lab = load(store, LAB, "1", LAB_RECORDS)
    other = load(store, OTHER, "2", [Concept("P1", "Potassium chloride"),
                                     Concept("P2", "Sodium chloride")])
    for pk in (lab, other):
        textindex.build_text_index(store, pk, index_text)
    hits = textindex.search(store, [lab, other], ["potassium"])
    assert {(cs, c) for cs, c, _ in hits} == {(lab, "K"), (lab, "KU"), (other, "P1")}
    assert {c for _, c, _ in textindex.search(store, [other], ["potassium"])} == {"P1"}
    unbuilt = load(store, "http://example.org/unbuilt", "1", [Concept("Q", "Potassium")])
    assert {cs for cs, _, _ in textindex.search(store, [unbuilt, other], ["potassium"])} == {
        other}


def test_term_texts_reads_display_designations_and_properties(store: Store) -> None:
    pk = load(store, LAB, "1", LAB_RECORDS)
    found = textindex.term_texts(store, pk, ["K", "HB", "NOPE"], ["SYSTEM"])
    assert set(found) == {"K", "HB"}
    display, texts, props = found["K"]
    assert display == "Potassium [Moles/volume] in Serum or Plasma"
    assert texts == [(display, "display"),
                     ("Kalium [Mol/Volumen] in Serum oder Plasma", "de-DE LCN")]
    assert props == {"SYSTEM": "Ser/Plas"}  # PROPERTY not asked for
    assert textindex.term_texts(store, pk, ["K"])["K"][2] == {"SYSTEM": "Ser/Plas",
                                                               "PROPERTY": "SCnc"}
    assert textindex.term_texts(store, pk, []) == {}
