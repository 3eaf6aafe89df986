"""Allergen names (issue 17): component numbers run on ("rFel d4") read as LOINC writes them,
and allergen codes ("f13", "F013") learnt from LOINC's Austrian names (mappings.allergens)."""

from __future__ import annotations

from mappings.allergens import code_key, component_words, expand_codes
from mappings.coverage import coverage
from mappings.lexicon import derive, from_json, pairs_from_texts, to_json
from mappings.normalize import query_tokens
from mappings.suggest import TargetIndex, TargetTerm


def _allergy(code: str, display: str) -> TargetTerm:
    return TargetTerm(code, display, ((display, "display"),),
                      {"CLASS": "ALLERGY", "PROPERTY": "ACnc", "SYSTEM": "Ser"})


def test_a_component_number_run_on_is_a_word_of_its_own() -> None:
    assert query_tokens("IgE Katzenkomponente (rFel d4)")[-3:] == ["rfel", "d", "4"]
    assert query_tokens("nAra h9 RAST")[:3] == ["nara", "h", "9"]
    assert query_tokens("Latex rHev b 3")[1:] == ["rhev", "b", "3"]


def test_a_component_number_picks_its_component() -> None:
    terms = [_allergy(str(n), f"Cat recombinant (rFel d) {n} IgE Ab [Units/volume] in Serum")
             for n in (1, 2, 4)]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("IgE Katze (rFel d4)", unit="kU/L", limit=1)[0].code == "4"


def _named(code: str, display: str, austrian: str) -> TargetTerm:
    term = _allergy(code, display)
    texts = (*term.texts, (austrian, "de-AT LinguisticVariantDisplayName"))
    return TargetTerm(code, display, texts, term.properties)


def test_allergen_codes_are_learnt_from_the_austrian_display_names() -> None:
    pairs = [p for de, en in (("IgE f13 Erdnuss", "Peanut IgE Ab [Units/volume] in Serum"),
                              ("IgG f13 Erdnuss", "Peanut IgG Ab [Mass/volume] in Serum"),
                              ("IgE fx7 Nahrungsmittelmix", "Food Allergen Mix 7 (Onion+Garlic"
                               "+Celery) IgE Ab [Presence] in Serum by Multidisk"),
                              ("IgE f83 Huhn", "Chicken meat IgE Ab [Units/volume] in Serum"),
                              ("f83 Hühnerfleisch", "Chicken IgE Ab [Units/volume] in Serum"))
             for p in pairs_from_texts(en, [(de, "de-AT LinguisticVariantDisplayName")],
                                       {"CLASS": "ALLERGY"})]
    lexicon = derive(pairs)
    assert lexicon.codes == {"f13": ("peanut",), "fx7": ("food", "allergen", "mix", "7"),
                             "f83": ("chicken",)}
    assert from_json(to_json(lexicon)) == lexicon
    # other classes name no allergen by a code ("Hämoglobin A2")
    assert not derive(pairs_from_texts("Hemoglobin A2 [Mass/volume] in Blood",
                                       [("Hb A2", "de-AT LinguisticVariantDisplayName")],
                                       {"CLASS": "HEM/BC"})).codes


def test_a_zero_padded_code_is_read_as_its_allergen() -> None:
    assert code_key("g017") == "g17" and code_key("gx02") == "gx2" and code_key("igg4") is None
    assert expand_codes(["f013", "ige"], {"f13": ("peanut",)}, set()) == ["peanut", "ige"]
    assert expand_codes(["t3"], {"t3": ("silver", "birch")}, {"t3"}) == ["t3"]  # a target word
    terms = [_named("1", "Peanut IgE Ab [Units/volume] in Serum", "IgE f13 Erdnuss"),
             _allergy("2", "Cashew IgE Ab [Units/volume] in Serum")]
    lexicon = TargetIndex(terms, glossary=False).lexicon
    index = TargetIndex([_allergy(t.code, t.display) for t in terms], lexicon=lexicon,
                        glossary=False)
    assert index.suggest("F013-IgE", unit="kU/L", limit=1)[0].code == "1"


def test_a_single_allergen_filed_under_mix_words_is_not_a_mix() -> None:
    mixes = [_allergy(f"m{n}", f"Food Allergen Mix {n} (Onion+Celery+Garlic) IgE Ab "
                               "[Units/volume] in Serum by Multidisk") for n in range(1, 5)]
    singles = [_allergy("celery", "Celery IgE Ab [Units/volume] in Serum"),
               _allergy("onion", "Onion IgE Ab [Units/volume] in Serum")]
    index = TargetIndex([*mixes, *singles], glossary=False)
    assert index._mix_words >= {"food", "allergen"} and "celery" not in index._mix_words
    names = {t.code: i for i, t in enumerate(index.terms)}
    found, _ = coverage(index, index._groups("Allergen, Food, Celery IgE"))
    assert found[names["celery"]] == 1.0 and found[names["onion"]] < 1.0
    # a name that says "mix" keeps the mixes' words its own
    found, _ = coverage(index, index._groups("Food Allergen Mix 3"))
    assert found[names["celery"]] == 0.0


def test_a_component_in_one_word_is_read_as_loinc_writes_it() -> None:
    assert component_words("arah3", {"rara", "nara"}) == ("rara", "nara", "h", "3")
    assert component_words("nactd5", {"nact", "ract"}) == ("nact", "d", "5")
    assert component_words("hba1c", {"rhba", "nhba"}) == ()
    terms = [_allergy(str(n), f"Peanut native (nAra h) {n} IgE Ab [Units/volume] in Serum")
             for n in (1, 3)] + [_allergy("p", "Peanut IgE Ab [Units/volume] in Serum")]
    index = TargetIndex(terms, glossary=False)
    assert index.suggest("IgE Erdnuss Arah3", unit="kU/L", limit=1)[0].code == "3"
