"""The lower places of a suggestion list show the variants of the first suggestion's
measurement (mappings.diversity)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mappings.diversity import with_variants
from mappings.hints import Axes, axes
from mappings.suggest import TargetIndex, TargetTerm, suggest


def _term(code: str, display: str, prop: str, system: str = "Bld", method: str = "",
          component: str | None = None) -> TargetTerm:
    props = {"PROPERTY": prop, "SYSTEM": system, "SCALE_TYP": "Qn", "TIME_ASPCT": "Pt"}
    if method:
        props["METHOD_TYP"] = method
    comp = component if component is not None else display.split(" [")[0]
    return TargetTerm(code, display, ((display, "display"), (comp, "COMPONENT")), props)


def _basophils() -> list[TargetTerm]:
    return [
        _term("30180-4", "Basophils/100 leukocytes in Blood", "NFr",
              component="Basophils/100 leukocytes"),
        _term("706-2", "Basophils/100 leukocytes in Blood by Automated count", "NFr",
              method="Automated count", component="Basophils/100 leukocytes"),
        _term("707-0", "Basophils/100 leukocytes in Blood by Manual count", "NFr",
              method="Manual count", component="Basophils/100 leukocytes"),
        _term("34911-8", "Immature basophils/100 leukocytes in Blood", "NFr",
              component="Basophils.immature/100 leukocytes"),
        _term("75023-2", "CD63 Basophils/100 basophils in Blood", "NFr",
              component="Basophils.CD63/100 basophils"),
        _term("26444-0", "Basophils [#/volume] in Blood", "NCnc"),
        _term("704-7", "Basophils [#/volume] in Blood by Automated count", "NCnc",
              method="Automated count", component="Basophils"),
        _term("13595-4", "Basophils/100 leukocytes in Nose", "NFr", "Nose",
              component="Basophils/100 leukocytes"),
    ]


def _lookup(terms: list[TargetTerm]) -> Callable[[int], tuple[str, Mapping[str, str], str]]:
    comps = [next(t for t, label in x.texts if label == "COMPONENT") for x in terms]
    return lambda i: (terms[i].code, terms[i].properties, comps[i])


def _codes(terms: list[TargetTerm], ranked: list[tuple[float, int, str]]) -> list[str]:
    return [terms[i].code for _, i, _ in ranked]


def test_the_other_forms_go_before_narrower_analytes() -> None:
    terms = _basophils()
    ranked = [(0.914, 0, ""), (0.902, 1, ""), (0.902, 2, ""), (0.836, 3, ""), (0.81, 4, ""),
              (0.804, 5, ""), (0.792, 6, ""), (0.776, 7, "")]
    hint = Axes(systems={"Bld": 1.0})
    out = with_variants(ranked, _lookup(terms), hint, named={0, 1, 2, 5, 6, 7})
    assert _codes(terms, out)[:5] == ["30180-4", "706-2", "707-0", "26444-0", "704-7"]
    assert "variant of the first suggestion" in out[3][2]
    assert sorted(x[:2] for x in out) == sorted(x[:2] for x in ranked)  # same scores
    # another SYSTEM than the first's and the specimen's is no variant: the nose stays last
    assert _codes(terms, out)[-1] == "13595-4"


def test_the_first_places_and_far_candidates_stay() -> None:
    terms = _basophils()
    ranked = [(0.914, 0, ""), (0.836, 3, ""), (0.902, 1, ""), (0.81, 4, ""), (0.70, 5, "")]
    out = with_variants(ranked, _lookup(terms), Axes(systems={"Bld": 1.0}), named={0, 1, 5})
    # the first two stay although the second is a narrower analyte; the count is 0.11 behind
    assert _codes(terms, out) == ["30180-4", "34911-8", "706-2", "75023-2",
                                  "26444-0"]


def test_nothing_moves_when_a_unit_decided_or_the_first_is_a_partial_match() -> None:
    terms = _basophils()
    ranked = [(0.914, 0, ""), (0.902, 1, ""), (0.836, 3, ""), (0.804, 5, "")]
    look = _lookup(terms)
    assert with_variants(ranked, look, Axes(systems={"Bld": 1.0}), named={1, 5}) == ranked
    with_unit = axes("Basophils", unit="%", specimen="Blood")
    assert with_unit.unit
    assert with_variants(ranked, look, with_unit, named={0, 1, 5}) == ranked


def test_suggest_shows_the_count_variants_of_a_differential() -> None:
    index = TargetIndex(_basophils(), glossary=False)
    found = [s.code for s in suggest(index, "Basophils", specimen="Blood",
                                     category="Hematology", limit=5)]
    # the analyser's fraction LOINC made first goes before the method-less term
    # (mappings.hematology)
    assert found[:2] == ["706-2", "30180-4"]
    assert {"26444-0", "704-7"} <= set(found)
    assert "34911-8" not in found and "75023-2" not in found
