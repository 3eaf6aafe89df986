"""German words the lexicon and the index understand beyond their learnt form: inflected
forms through their stem, compounds with a linking element or an unknown part, and German
words weighed like their English translation (mappings.lexicon, mappings.suggest)."""

from __future__ import annotations

from mappings.coverage import english_query, translated_idf
from mappings.lexicon import Entry, Lexicon, from_json, suffix_rules, to_json
from mappings.suggest import TargetIndex, TargetTerm, suggest, with_translated_components


def _lexicon(**words: tuple[str, int]) -> Lexicon:
    return Lexicon(words={g: (Entry(tuple(e.split()), "COMPONENT", n, 1.0),)
                          for g, (e, n) in words.items()})


def test_an_inflected_form_also_gets_the_words_of_its_stem() -> None:
    lexicon = _lexicon(frei=("free", 86), freie=("nonesterified", 2), katze=("cat", 3))
    # own entries rest on 2 names, the stem's on 86: the stem's first
    assert lexicon.english("freie") == ("free", "nonesterified")
    assert lexicon.english("freies") == ("free",)  # "-es" off: frei
    assert lexicon.english("katzen") == ("cat",)
    assert lexicon.english("frei") == ("free",)
    assert lexicon.english("kurz") == ()
    better = _lexicon(zellen=("cells", 40), zelle=("cell", 3))
    assert better.english("zellen") == ("cells", "cell")  # own entries better attested


def _term(code: str, display: str, *german: str, system: str = "Ser") -> TargetTerm:
    component = display.split(" [")[0].split(" in ")[0].split(" of ")[0]
    texts = ((display, "display"), (component, "COMPONENT"),
             *((g, "de-DE LONG_COMMON_NAME") for g in german))
    return TargetTerm(code, display, texts, {"SYSTEM": system})


TERMS = [
    _term("1", "Cat epithelium IgE Ab [Units/volume] in Serum"),
    _term("2", "Dog epithelium IgE Ab [Units/volume] in Serum"),
    _term("3", "Wheat IgE Ab [Units/volume] in Serum"),
    _term("4", "Rye IgE Ab [Units/volume] in Serum"),
    _term("5", "Propionylcarnitine [Moles/volume] in Serum"),
    _term("6", "Propionylglycine [Moles/volume] in Serum"),
    _term("7", "Color of Body fluid", "Farbe von Körperflüssigkeit", system="Body fld"),
    _term("8", "Color of Pleural fluid", system="Plr fld"),
    _term("9", "Color of Urine", "Farbe von Urin", system="Urine"),
]
LEXICON = _lexicon(katze=("cat", 3), hund=("dog", 3), weizen=("wheat", 3), roggen=("rye", 3),
                   epithel=("epithelium", 3), farbe=("color", 20))


def test_compounds_split_at_a_linking_element() -> None:
    index = TargetIndex(TERMS, lexicon=LEXICON, glossary=False)
    # "katzen" + "epithelien": Fugen-n off the head; the tail is a target word's spelling
    assert index.split_compound("katzenepithel") == ["katze", "epithel"]
    assert index.split_compound("hundeepithel") == ["hund", "epithel"]  # Fugen-e
    assert suggest(index, "Katzenepithel IgE", unit="kU/L")[0].code == "1"


def test_an_unknown_compound_keeps_its_known_part() -> None:
    index = TargetIndex(TERMS, lexicon=LEXICON, glossary=False)
    # "mehl" (flour) is no word of the targets or the lexicon: "weizen" still names wheat
    assert index.split_compound("weizenmehl") == ["weizen", "mehl"]
    assert suggest(index, "Weizenmehl IgE", unit="kU/L")[0].code == "3"
    # a word spelt like a target word is a cognate, not a compound
    assert index.split_compound("propionylkarnitin") is None
    assert suggest(index, "Propionylkarnitin", unit="umol/L")[0].code == "5"


def test_glossary_words_split_when_the_glossary_is_off() -> None:
    terms = [_term("1", "Rh [Type] in Blood", "Rhesus Faktor [Typ] in Blut")]
    assert TargetIndex(terms, lexicon=Lexicon(), glossary=True).split_compound(
        "rhesusfaktor") is None  # the glossary translates it whole
    assert TargetIndex(terms, lexicon=Lexicon(), glossary=False).split_compound(
        "rhesusfaktor") == ["rhesus", "faktor"]


def test_a_german_word_weighs_like_its_english_translation() -> None:
    """The German name of a translated term holds "farbe"; the untranslated term for the
    pleural fluid named in the query must not lose for lack of a German name."""
    index = TargetIndex(TERMS, lexicon=LEXICON, glossary=False)
    cap = translated_idf(index, "farbe")
    assert cap is not None and cap <= index.idf("farbe")
    assert translated_idf(index, "pleura") is None
    groups = index._groups("Farbe /PP Farbe /Pleurapunktat")
    assert english_query(index, groups) == "color"  # each word once
    found = suggest(index, "Farbe /PP Farbe /Pleurapunktat", unit="1")
    assert found[0].code == "8"
    assert found[0].why.startswith("100% of the name's words found")
    body = next(s for s in found if s.code == "7")  # "Farbe von Körperflüssigkeit"
    assert "closest name (100%)" in found[0].why and "closest name (100%)" in body.why


def test_suffix_correspondences_are_learnt_from_word_pairs_of_one_meaning() -> None:
    pairs = [("aktivitaet", "activity"), ("osmolalitaet", "osmolality"),
             ("qualitaet", "quality"), ("kalkuliert", "calculated"),
             ("aktiviert", "activated"), ("konjugiert", "conjugated"),
             ("plasmazellen", "plasma"), ("blutzellen", "blood"), ("knochenzellen", "bone")]
    rules = suffix_rules(pairs)
    assert rules["et"] == ("i",)  # aktivitaet/activity in `spelling`: activitet/activiti
    assert rules["iert"] == ("ated",)
    assert "cellen" not in rules  # a compound's part, not an ending
    assert suffix_rules(pairs[:2]) == {}  # fewer than MIN_SUFFIX_PAIRS pairs


def test_an_unknown_word_becomes_a_target_word_by_a_learnt_suffix() -> None:
    terms = [_term("1", "Viscosity of Synovial fluid", system="Synv fld"),
             _term("2", "Volume of Synovial fluid", system="Synv fld")]
    lexicon = Lexicon(suffixes={"et": ("i",), "iert": ("ated",)})
    index = TargetIndex(terms, lexicon=lexicon, glossary=False)
    assert index.cognates("viskositaet") == ["viscosity"]
    assert index.cognates("volumen") == []  # spelt close to a target word already
    assert suggest(index, "Viskosität /PG")[0].code == "1"
    assert TargetIndex(terms, lexicon=Lexicon(), glossary=False).cognates("viskositaet") == []
    kept = from_json(to_json(lexicon))
    assert kept is not None and kept.suffixes == lexicon.suffixes


def test_a_german_component_is_borrowed_from_a_name_without_a_property() -> None:
    """"Farbe von Urin" (no [property]) lends "Farbe" to an untranslated term with the
    same English COMPONENT; a name with a property is cut before " [" as before."""
    terms = with_translated_components([
        _term("1", "Color of Urine", "Farbe von Urin", system="Urine"),
        _term("2", "Color of Pleural fluid", system="Plr fld"),
        _term("3", "Cholesterol in HDL [Mass/volume] in Serum",
              "Cholesterin in HDL [Masse/Volumen] in Serum"),
        _term("4", "Cholesterol in HDL [Moles/volume] in Serum")])
    assert ("Farbe", "de COMPONENT") in terms[1].texts
    assert ("Cholesterin in HDL", "de COMPONENT") in terms[3].texts
    assert not any(label == "de COMPONENT" for _, label in terms[0].texts)


def test_a_name_given_twice_does_not_favour_longer_target_names() -> None:
    """A catalogue text with a short and a long name repeats its words; compared once each,
    the single analyte beats the mix that holds it."""
    terms = [_term("1", "Buprenorphine [Presence] in Urine", system="Urine"),
             _term("2", "Buprenorphine+Norbuprenorphine [Presence] in Urine", system="Urine")]
    index = TargetIndex(terms, lexicon=Lexicon(), glossary=False)
    found = suggest(index, "Buprenorphin /U ql. Buprenorphin /Urin qual.", unit="{neg,pos}")
    assert found[0].code == "1"
