"""The per-query index of a candidate list answers as a whole-scope index does: postings
found when asked equal postings built up front, and the one-matrix text match equals the
pairwise rapidfuzz scores it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from rapidfuzz import fuzz

import mappings.terms as terms_module
from mappings.suggest import TargetIndex, TargetTerm, lexical_match, suggest
from mappings.terms import Postings

TERMS = [
    TargetTerm(code, display, ((display, "display"), (german, "de-DE LONG_COMMON_NAME"),
                               (display.split(" [")[0], "COMPONENT")),
               {"SYSTEM": system, "PROPERTY": prop, "SCALE_TYP": "Qn"})
    for code, display, german, system, prop in (
        ("2345-7", "Glucose [Mass/volume] in Serum or Plasma",
         "Glukose [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
        ("2339-0", "Glucose [Mass/volume] in Blood", "Glukose [Masse/Volumen] in Blut",
         "Bld", "MCnc"),
        ("15074-8", "Glucose [Moles/volume] in Blood", "Glukose [Mol/Volumen] in Blut",
         "Bld", "SCnc"),
        ("718-7", "Hemoglobin [Mass/volume] in Blood", "Hämoglobin [Masse/Volumen] in Blut",
         "Bld", "MCnc"),
        ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
         "Kreatinin [Masse/Volumen] in Serum oder Plasma", "Ser/Plas", "MCnc"),
        ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma",
         "Kreatinin [Mol/Volumen] in Serum oder Plasma", "Ser/Plas", "SCnc"),
    )]


def test_postings_found_when_asked_equal_postings_built_up_front(
        monkeypatch: pytest.MonkeyPatch) -> None:
    words = [frozenset({"glucose", "serum"}), frozenset({"glucose", "blood"}),
             frozenset({"blood"}), frozenset()]
    lazy = Postings(words)
    monkeypatch.setattr(terms_module, "LAZY_TERMS", 0)
    eager = Postings(words)
    assert sorted(lazy) == sorted(eager) == ["blood", "glucose", "serum"]
    for word in ("glucose", "blood", "serum"):
        assert word in lazy and word in eager
        assert lazy[word].tolist() == eager[word].tolist()
        assert lazy[word].dtype == eager[word].dtype == np.int32
    assert lazy["glucose"].tolist() == [0, 1]
    assert "urine" not in lazy and lazy.get("urine") is None and eager.get("urine") is None
    with pytest.raises(KeyError):
        lazy["urine"]


def test_one_matrix_text_match_equals_the_pairwise_scores() -> None:
    index = TargetIndex(TERMS)
    queries = ("glukose blut", "glukose blut glucose blood", "glucose blood")
    order = list(range(len(TERMS)))
    for bare in (False, True):
        got = lexical_match(index, order, queries, bare)
        for k, i in enumerate(order):
            best, best_j = 0.0, 0
            for j, norm in (*enumerate(index._norm[i]), *(index._bare[i] if bare else ())):
                s = max(0.4 * fuzz.token_set_ratio(q, norm) + 0.6 * fuzz.token_sort_ratio(q, norm)
                        for q in queries) / 100
                if s > best:
                    best, best_j = s, j
            assert got[k] == (best, best_j)


def test_an_index_built_up_front_ranks_as_one_built_when_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = TargetIndex(TERMS)
    monkeypatch.setattr(terms_module, "LAZY_TERMS", 0)
    eager = TargetIndex(TERMS)
    for text, unit in (("Glukose im Blut", "mmol/l"), ("Kreatinin", "mg/dl"),
                       ("Hb", "g/dl"), ("Glucos", None)):
        a = suggest(lazy, text, unit=unit)
        b = suggest(eager, text, unit=unit)
        assert [(s.code, s.raw, s.why) for s in a] == [(s.code, s.raw, s.why) for s in b]
        assert a
    assert lazy.idf("glucose") == eager.idf("glucose") < lazy.idf("hemoglobin")


def _spell_fold_reference(text: str) -> str:
    """spell_fold as first written: a translate table, then every character tested."""
    import unicodedata

    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_spell_fold_fast_paths_fold_as_before() -> None:
    from termserver.textfold_extra import spell_fold

    for text in ("Glucose", "Hämoglobin [Masse/Volumen] in Venösem Blut", "GRÖSSE", "Straße",
                 "ẞ", "Protéine Ä", "İstanbul", "ﬁbrinogen", "µg/l °C m²", "Ωmega ǅ",
                 "Na\u0301tri\u0308um", "Интерлейкин-6", "a\u0308", ""):
        assert spell_fold(text) == _spell_fold_reference(text), text
    for code in range(0x80, 0x3000):
        text = f"a{chr(code)}Ü"
        assert spell_fold(text) == _spell_fold_reference(text), hex(code)


def test_ascii_texts_split_as_the_separator_pattern_splits() -> None:
    import random
    import re

    from mappings.normalize import fold, word_tokens

    split = re.compile(r"[^a-z0-9]+")
    rnd = random.Random(3)
    alphabet = [chr(c) for c in range(128)] + list("äöüßéµ°")
    for _ in range(20_000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 15)))
        if "i." in fold(text):  # the specimen phrases: tested with test_normalize
            continue
        assert word_tokens(text) == tuple(t for t in split.split(fold(text)) if t), repr(text)
