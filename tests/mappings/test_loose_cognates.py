"""Pathogen and allergen names in the learnt lexicon (mappings.lexicon): loose cognates a
search's close spellings do not match ("Borrelien"/"Borrelia") are kept as entries, and a
residual pairing takes up to four English words ("FSME")."""

from __future__ import annotations

from mappings.lexicon import derive
from mappings.suggest import TargetIndex, TargetTerm

NAMES = [("Borrelien AK IgG", "Borrelia burgdorferi IgG Ab [Presence] in Serum"),
         ("Borrelien AK IgM", "Borrelia burgdorferi IgM Ab [Presence] in Serum"),
         ("Chlamydia AK IgG", "Chlamydophila pneumoniae IgG Ab [Presence] in Serum"),
         ("Chlamydia AK IgA", "Chlamydophila pneumoniae IgA Ab [Presence] in Serum"),
         ("Chlamydia trachomatis AK", "Chlamydia trachomatis Ab [Presence] in Serum"),
         ("IgE Makrele", "Mackerel IgE Ab [Units/volume] in Serum"),
         ("Agardiffusion Test", "Diffusion Test [Presence] in Isolate"),
         ("Agardiffusion Probe", "Diffusion Probe [Presence] in Isolate")]


def test_loose_cognates_are_learnt() -> None:
    lexicon = derive(("NAME", de, en, "words") for de, en in NAMES)
    entry = lexicon.entries("borrelien")[0]
    assert (entry.english, entry.axis, entry.count) == (("borrelia",), "COGNATE", 2)
    assert lexicon.english("makrele") == ("mackerel",)  # one name is enough
    assert not lexicon.known("chlamydia")  # an English word of the names itself
    assert not lexicon.known("agardiffusion")  # a compound holding the English word


def test_a_loose_cognate_finds_its_target() -> None:
    terms = [TargetTerm("1", "Borrelia burgdorferi IgG Ab [Presence] in Serum",
                        (("Borrelia burgdorferi IgG Ab [Presence] in Serum", "display"),)),
             TargetTerm("2", "Bordetella pertussis IgG Ab [Presence] in Serum",
                        (("Bordetella pertussis IgG Ab [Presence] in Serum", "display"),))]
    index = TargetIndex(terms, lexicon=derive(("NAME", de, en, "words") for de, en in NAMES),
                        glossary=False)
    assert index.suggest("Borrelien IgG", limit=1)[0].code == "1"


def test_a_residual_pairing_takes_up_to_four_english_words() -> None:
    """A German short name of a four-word English pathogen name ("FSME": European tick borne
    encephalitis) is a residual pairing too."""
    lexicon = derive([("NAME", "FSME IgG", "European tick borne encephalitis IgG", "words")])
    assert lexicon.english("fsme") == ("european", "tick", "borne", "encephalitis")
