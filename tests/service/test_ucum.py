"""UCUM (termserver.grammar.ucum) against the UCUM functional tests (UcumFunctionalTests.xml,
tests/fixtures/ucum, see its NOTICE): every validation case, the display-name cases, and the
conversion/multiplication/division cases checked through the canonical form."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from termserver.errors import TooCostly
from termserver.grammar import ucum
from termserver.grammar.ucum import UcumError, UcumUnits, canonical, canonical_code, describe

TESTS = Path(__file__).resolve().parent.parent / "fixtures" / "ucum" / "UcumFunctionalTests.xml"


@cache
def _section(name: str) -> list[dict[str, str]]:
    root = ET.parse(TESTS).getroot()
    found = root.find(name)
    assert found is not None, name
    return [dict(c.attrib) for c in found if c.tag == "case"]


def _cases(name: str) -> list[dict[str, str]]:
    return _section(name) if TESTS.exists() else []


def test_the_functional_tests_are_there() -> None:
    assert len(_cases("validation")) == 529
    assert sum(c["valid"] == "false" for c in _cases("validation")) >= 30


@pytest.mark.parametrize("case", _cases("validation"), ids=lambda c: c["id"])
def test_validation(case: dict[str, str]) -> None:
    error = ucum.validate(case["unit"])
    if case["valid"] == "true":
        assert error is None, f"{case['unit']!r}: {error}"
    else:
        assert error is not None, f"{case['unit']!r} is invalid: {case.get('reason')}"


@pytest.mark.parametrize("case", _cases("displayNameGeneration"), ids=lambda c: c["id"])
def test_display_name_generation(case: dict[str, str]) -> None:
    assert describe(case["unit"]) == case["display"]


def _same(got: float, outcome: str) -> bool:
    """`got` equals `outcome` to the precision `outcome` is written with."""
    digits = len(outcome.lower().split("e")[0].replace(".", "").replace("-", "").lstrip("0"))
    return math.isclose(got, float(outcome), rel_tol=0.5 * 10 ** (1 - max(digits, 1)) + 1e-12)


@pytest.mark.parametrize("case", _cases("conversion"), ids=lambda c: c["id"])
def test_conversion_through_the_canonical_form(case: dict[str, str]) -> None:
    src_value, src_dims = canonical(case["srcUnit"])
    dst_value, dst_dims = canonical(case["dstUnit"])
    assert src_dims == dst_dims
    assert _same(float(case["value"]) * src_value / dst_value, case["outcome"])


@pytest.mark.parametrize("op", ["multiplication", "division"])
def test_multiplication_and_division(op: str) -> None:
    for case in _cases(op):
        v1, d1 = canonical(case["u1"])
        v2, d2 = canonical(case["u2"])
        sign = 1 if op == "multiplication" else -1
        dims = {k: d1.get(k, 0) + sign * d2.get(k, 0) for k in {*d1, *d2}}
        value = float(case["v1"]) * v1 * (float(case["v2"]) * v2) ** sign
        res_value, res_dims = canonical(case["uRes"]) if case["uRes"] else (1.0, {})
        assert {k: e for k, e in dims.items() if e} == res_dims, case["id"]
        assert _same(value / res_value, case["vRes"]), case["id"]


# -- grammar details the tests above do not pin ----------------------------------------------

@pytest.mark.parametrize("expr", [
    "mg/dL", "mg/dL{milligram per deciliter}", "%{Negative Control}", "10*3/uL", "/min",
    "kg/m2", "mm[Hg]", "[iU]/L", "Cel", "[degF]", "umol/L", "g/(8.h){shift}", "B[10.nV]",
    "[m/s2/Hz^(1/2)]", "10^3", "%[slope]", "{score}", "1", "[pH]", "meq/L", "ng/mL{FEU}",
])
def test_valid_expressions(expr: str) -> None:
    assert ucum.validate(expr) is None


@pytest.mark.parametrize(("expr", "where"), [
    ("kgXX", 1), ("mg/", 4), ("mg//dL", 4), ("(mg", 4), ("mg)", 3), ("m{a", 2),
    ("[in_i", 1), ("mg{€}", 4), ("k[in_i]", 1), ("m g", 2), ("{a}m", 4),
])
def test_invalid_expressions_say_where(expr: str, where: int) -> None:
    with pytest.raises(UcumError) as caught:
        ucum.parse(expr)
    assert caught.value.position == where, str(caught.value)


def test_prefixes_only_on_metric_units() -> None:
    assert ucum.validate("km") is None
    assert "not metric" in (ucum.validate("k[lb_av]") or "")
    assert ucum.validate("mm[Hg]") is None


def test_canonical_codes() -> None:
    assert canonical_code("kg") == "g"
    assert canonical_code("mg/dL") == "g.m-3"
    assert canonical_code("mL") == "m3"
    assert canonical_code("N") == "g.m.s-2"
    assert canonical_code("%") == "1"
    assert canonical_code("Cel") == "K"  # a special unit: its function's unit
    assert canonical_code("[iU]/L") == "[iU].m-3"  # arbitrary units stay themselves
    assert canonical_code("[lb_av]/h") == canonical_code("kg/s")


def test_long_and_deep_expressions_are_refused() -> None:
    assert ucum.validate("m." * ucum.MAX_LENGTH + "m") is not None
    deep = ucum.MAX_DEPTH
    assert ucum.validate("(" * deep + "m" + ")" * deep) is None
    assert "nest deeper" in (ucum.validate("(" * (deep + 1) + "m" + ")" * (deep + 1)) or "")


def test_the_provider() -> None:
    provider = UcumUnits()
    assert (provider.url, provider.version, provider.case_sensitive) == (
        "http://unitsofmeasure.org", "2.2", True)
    detail = provider.lookup("mg/dL")
    assert detail is not None
    assert detail.concept.display == "mg/dL"  # the code itself, as the reference servers do
    assert [d.value for d in detail.designations] == ["(milligram) / (deciliter)"]
    assert [(p.property, p.value) for p in detail.properties] == [("canonical", "g.m-3")]
    assert provider.lookup("kgXX") is None
    assert provider.lookup("KG") is None  # case-sensitive: no such unit (MG is megagauss)
    assert provider.lookup("") is None
    arithmetic = provider.lookup("/0")  # valid syntax, no magnitude: no canonical property
    assert arithmetic is not None and arithmetic.properties == ()
    with pytest.raises(TooCostly):
        list(provider.concepts())
