"""The German → English lexicon learnt from LOINC's linguistic variants (mappings.lexicon): on
aligned pairs, on the real variant files (skipped when ../shared/data is absent), and in both
search paths (the in-memory index and the store's text index)."""

from __future__ import annotations

import csv
import gzip

import pytest

from mappings import textsearch
from mappings.lexicon import (
    RESIDUAL_CONFIDENCE,
    Lexicon,
    derive,
    from_json,
    name_segments,
    pairs_from_names,
    pairs_from_texts,
    pairs_from_variant,
    to_json,
)
from mappings.suggest import TargetIndex, TargetTerm, suggest
from mappings.textsearch import StoreTargetSearch
from termserver.model import Concept, ConceptProperty, Designation, Record
from termserver.store import Store, search
from tests.helpers import shared
from tests.mappings.test_textsearch import LOINC, load

UREA = [("Harnstoff [Masse/Volumen] in Serum oder Plasma", "Urea [Mass/volume] in Serum or Plasma",
         {"COMPONENT": "Urea", "PROPERTY": "MCnc", "SYSTEM": "Ser/Plas"}),
        ("Harnstoff [Mol/Volumen] in Urin", "Urea [Moles/volume] in Urine",
         {"COMPONENT": "Urea", "PROPERTY": "SCnc", "SYSTEM": "Urine"}),
        ("Eisen [Masse/Volumen] in Serum oder Plasma", "Iron [Mass/volume] in Serum or Plasma",
         {"COMPONENT": "Iron", "PROPERTY": "MCnc", "SYSTEM": "Ser/Plas"}),
        ("Eisen [Mol/Volumen] in Urin", "Iron [Moles/volume] in Urine",
         {"COMPONENT": "Iron", "PROPERTY": "SCnc", "SYSTEM": "Urine"})]


def _lexicon() -> Lexicon:
    return derive(p for de, en, props in UREA for p in pairs_from_names(de, en, props))


def test_long_names_are_cut_into_their_axes() -> None:
    assert name_segments("Kalium [Mol/Volumen] in Serum oder Plasma mit Teststreifen",
                         german=True) == {"COMPONENT": "Kalium", "PROPERTY": "Mol/Volumen",
                                          "SYSTEM": "Serum oder Plasma",
                                          "METHOD_TYP": "Teststreifen"}
    assert name_segments("Potassium [Moles/volume] in Urine by Test strip", german=False) == {
        "COMPONENT": "Potassium", "PROPERTY": "Moles/volume", "SYSTEM": "Urine",
        "METHOD_TYP": "Test strip"}


def test_words_come_from_aligned_pairs_and_cognates_are_left_to_spelling() -> None:
    lexicon = _lexicon()
    assert lexicon.english("harnstoff") == ("urea",)
    assert lexicon.english("eisen") == ("iron",)
    entry = lexicon.entries("harnstoff")[0]
    assert (entry.axis, entry.count, entry.confidence) == ("COMPONENT", 2, 1.0)
    assert lexicon.english("eisens") == ("iron",)  # a case ending
    assert not lexicon.known("serum")  # spelled alike: the spelling skeleton's job
    assert lexicon.value("PROPERTY", "Masse/Volumen") == {"MCnc": 1.0}
    assert lexicon.value("SYSTEM", "Urin") == {"Urine": 1.0}
    assert lexicon.english("stickstoff") == ()


def test_function_words_are_left_out_per_language() -> None:
    """English "AM" ("3 AM specimen") is a German function word ("am"): left out of the
    English side too, German "Uhr" was paired with "PM" alone."""
    pairs = [("SYSTEM", f"Serum --{h} Uhr", f"Serum --{e}", "words")
             for h, e in (("3", "3 AM"), ("6", "6 AM"), ("15", "3 PM"), ("18", "6 PM"))]
    assert set(derive(pairs).english("uhr")) == {"am", "pm"}


def test_one_pair_is_no_association_only_a_residual() -> None:
    lexicon = derive(pairs_from_names(*UREA[0]))
    # seen once: below MIN_COUNT for an association; left alone with "urea" once the rest is
    # explained, it is kept as a residual pairing of lower confidence
    assert [(e.english, e.axis, e.count, e.confidence) for e in lexicon.entries("harnstoff")] \
        == [(("urea",), "RESIDUAL", 1, RESIDUAL_CONFIDENCE)]


ALLERGENS = [("IgE t3 Birke", "Silver Birch IgE Ab [Units/volume] in Serum"),
             ("IgG t3 Birke", "Silver Birch IgG Ab [Units/volume] in Serum"),
             ("IgE f13 Erdnuss", "Peanut IgE Ab [Units/volume] in Serum"),
             ("IgE f17 Haselnuss Walnuss", "Hazelnut IgE Ab [Units/volume] in Serum"),
             ("IgE e1 Katzenepithelien", "Cat dander IgE Ab [Units/volume] in Serum"),
             ("IgE g6 Lieschgras", "Timothy IgE Ab [Units/volume] in Serum"),
             # allergens spelled alike: LOINC's structure words ("ab", "units") grow frequent
             *((f"IgE Allergen{n}", f"Allergen{n} IgE Ab [Units/volume] in Serum")
               for n in "ABCDEFGHIJKLMNOPQRSTUVWXY")]


def test_residual_pairings_of_rare_words() -> None:
    lexicon = derive(("NAME", de, en, "words") for de, en in ALLERGENS)
    assert set(lexicon.english("birke")) == {"silver", "birch"}  # twice: associated
    assert lexicon.english("erdnuss") == ("peanut",)  # once: a residual pairing
    assert lexicon.entries("erdnuss")[0].axis == "RESIDUAL"
    assert lexicon.english("katzenepithelien") == ("cat", "dander")
    assert lexicon.english("lieschgras") == ("timothy",)
    # two unknown German words for one English word: no residual pairing from that name
    assert lexicon.english("haselnuss") == () and lexicon.english("walnuss") == ()
    assert not lexicon.known("f13")  # a code-like token is never a residual pairing


def test_related_names_teach_short_forms() -> None:
    names = [("Metamyeloz. rel. mikr.", "Metamyelozyten relativ mikroskopisch"),
             ("Metamyeloz. abs.", "Metamyelozyten absolut"),
             ("Kalium Kap.", "Kalium Kapillarblut"), ("Natrium Kap.", "Natrium Kapillarblut"),
             ("Kalium /B", "Kalium /Blut")]
    pairs = [pair for short, full in names for pair in pairs_from_texts(
        "", [(full, "de-AT LinguisticVariantDisplayName"), (short, "de-AT RELATEDNAMES2")], {})]
    assert ("ABBR", "Kalium Kap.", "Kalium Kapillarblut", "abbrev") in pairs
    lexicon = derive(pairs)
    assert lexicon.abbreviations == {"metamyeloz": "metamyelozyten", "kap": "kapillarblut"}
    assert lexicon.english("kap") == ("kapillarblut",)
    assert from_json(to_json(lexicon)) == lexicon


def test_stored_texts_give_the_same_pairs() -> None:
    de, en, props = UREA[0]
    assert list(pairs_from_texts(en, [(en, "display"), (de, "de-DE LONG_COMMON_NAME")],
                                 props)) == list(pairs_from_names(de, en, props))
    assert list(pairs_from_texts(en, [("Harnstoff /S", "de-AT LinguisticVariantDisplayName")],
                                 props)) == [("NAME", "Harnstoff /S", en, "words")]


def test_in_memory_index_translates_german_words() -> None:
    terms = [TargetTerm(f"u{i}", en, ((en, "display"), (de, "de-DE LONG_COMMON_NAME"),
                                      (props["COMPONENT"], "COMPONENT")),
                        {k: v for k, v in props.items() if k != "COMPONENT"})
             for i, (de, en, props) in enumerate(UREA)]
    # no COMPONENT: no German name borrowed from terms with the same component
    terms.append(TargetTerm("u9", "Urea [Mass/volume] in Cerebral spinal fluid",
                            (("Urea [Mass/volume] in Cerebral spinal fluid", "display"),),
                            {"PROPERTY": "MCnc", "SYSTEM": "CSF"}))
    index = TargetIndex(terms, glossary=False)  # the glossary knows Harnstoff too
    assert index.lexicon.english("harnstoff") == ("urea",)
    assert "u9" in [s.code for s in suggest(index, "Harnstoff im Liquor", unit="mg/dl")]
    without = TargetIndex(terms, lexicon=Lexicon(), glossary=False)
    assert all(s.code != "u9" for s in suggest(without, "Harnstoff im Liquor", unit="mg/dl"))


STORED: list[Record] = []
for _i, (_de, _en, _props) in enumerate(UREA):
    STORED += [Concept(f"9{_i}-0", _en), Designation(f"9{_i}-0", _de, "de-AT", LOINC,
                                                     "LONG_COMMON_NAME")]
    STORED += [ConceptProperty(f"9{_i}-0", k, v, "string") for k, v in _props.items()]
STORED += [Concept("3094-0", "Urea nitrogen [Mass/volume] in Cerebral spinal fluid"),
           ConceptProperty("3094-0", "COMPONENT", "Urea nitrogen", "string"),
           ConceptProperty("3094-0", "PROPERTY", "MCnc", "string"),
           ConceptProperty("3094-0", "SYSTEM", "CSF", "string")]


def test_store_search_learns_the_lexicon_from_stored_designations(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    load(store, LOINC, "9.99", STORED)
    finder = StoreTargetSearch(store, [(LOINC, "9.99")])
    assert finder.lexicon.english("harnstoff") == ("urea",)
    assert "urea" in finder.query("Harnstoff")[0]
    best = finder.suggest("Harnstoff-N im Liquor", unit="mg/dl")
    assert best and best[0].code == "3094-0"
    assert "unit mg/dl fits Mass concentration (MCnc)" in best[0].why


def test_the_learnt_lexicon_is_kept_for_every_process_until_a_rebuild(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Learnt once per index build and kept in the database: another process (an empty
    process cache) and a restart read it instead of learning; a rebuilt index learns anew."""
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    monkeypatch.setattr(textsearch, "_LEXICONS", {})  # an earlier test's build may share a stamp
    load(store, LOINC, "9.99", STORED)
    learnt = StoreTargetSearch(store, [(LOINC, "9.99")]).lexicon
    assert from_json(to_json(learnt)) == learnt
    monkeypatch.setattr(textsearch, "_LEXICONS", {})  # as in another process

    def no_learning(*_: object) -> None:
        raise AssertionError("learnt again although a lexicon was kept")

    with monkeypatch.context() as m:
        m.setattr(textsearch, "derive", no_learning)
        assert StoreTargetSearch(store, [(LOINC, "9.99")]).lexicon == learnt
    monkeypatch.setattr(textsearch, "_LEXICONS", {})
    with store.engine.begin() as conn:  # a reindex: the kept lexicon belongs to the old build
        search.build(conn, store.resolve_code_system(LOINC, "9.99").pk)  # type: ignore[union-attr]
    calls: list[int] = []
    derive_ = textsearch.derive
    monkeypatch.setattr(textsearch, "derive", lambda pairs: calls.append(1) or derive_(pairs))
    assert StoreTargetSearch(store, [(LOINC, "9.99")]).lexicon == learnt
    assert calls == [1]
    assert from_json(b"{") is None and from_json(b'{"format": -1}') is None


def _variant_lexicon() -> Lexicon:
    core_path = shared("loinc/LoincTableCore_2.78.csv.gz")
    variants = [shared(f"loinc/loinc-2.74-accessory/LinguisticVariants/{v}"
                       "LinguisticVariant.csv.gz") for v in ("deDE15", "deAT24")]
    with gzip.open(core_path, "rt", encoding="utf-8", newline="") as f:
        core = {r["LOINC_NUM"]: r for r in csv.DictReader(f)}
    pairs = []
    for path in variants:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["LOINC_NUM"] in core:
                    pairs.extend(pairs_from_variant(row, core[row["LOINC_NUM"]]))
    return derive(pairs)


@pytest.mark.shared_data
def test_lexicon_learnt_from_the_real_variants() -> None:
    lexicon = _variant_lexicon()
    assert len(lexicon) > 1000
    for german, english in (("harnstoff", "urea"), ("gesamt", "total"), ("kalium", "potassium"),
                            ("natrium", "sodium"), ("eisen", "iron"), ("blei", "lead"),
                            ("frei", "free"), ("tollwut", "rabies"),
                            ("berechnet", "calculated"), ("harnsaeure", "urate")):
        assert english in lexicon.english(german), german
    assert lexicon.value("SYSTEM", "Serum") == {"Ser": 1.0}
    assert lexicon.value("PROPERTY", "Massenkonzentration") == {"MCnc": 1.0}
    assert "24H" in lexicon.value("TIME_ASPCT", "24 Stunden")
    assert "Test strip" in lexicon.value("METHOD_TYP", "Teststreifen")


def test_allergen_component_names_and_compound_heads_are_no_words_to_learn() -> None:
    pairs = [("NAME", de, en, "words") for de, en in (
        ("IgE Erdnuss Arah3", "Peanut native (nAra h) 3 IgE Ab [Units/volume] in Serum"),
        ("IgE Erdnuss (rAra h2)", "Peanut recombinant (rAra h) 2 IgE Ab [Units/volume] in Serum"),
        ("IgE Erdnuss nAra h1", "Peanut native (nAra h) 1 IgE Ab [Units/volume] in Serum"),
        ("Zytomegalie-Virus AK", "Cytomegalovirus Ab [Units/volume] in Serum"),
        ("Zytomegalie-Virus DNA", "Cytomegalovirus DNA [Presence] in Blood"),
        ("Hanta Virus AK", "Hantavirus Ab [Presence] in Serum"),
        ("Hanta Virus IgG", "Hantavirus IgG Ab [Presence] in Serum"))]
    lexicon = derive(pairs)
    assert "nara" not in lexicon.english("erdnuss")  # WHO/IUIS "nAra h": a code, no word
    assert not lexicon.english("virus")  # the head of "Cytomegalovirus", not its translation
    assert lexicon.english("hanta")[0] == "hantavirus"  # a first part still learns it


def test_a_number_names_another_type_never_a_translation() -> None:
    pairs = [("NAME", de, en, "words") for de, en in (
        ("IgG Weizen", "Wheat IgG4 Ab [Mass/volume] in Serum"),
        ("IgG Roggen", "Rye IgG4 Ab [Mass/volume] in Serum"),
        ("IgG Hafer", "Oat IgG4 Ab [Mass/volume] in Serum"))]
    assert "igg4" not in derive(pairs).english("igg")  # IgG is not IgG4
