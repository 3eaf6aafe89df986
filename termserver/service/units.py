"""Units of lab codes in $translate: a unit given with the code (a `dependency` whose attribute
is `unit` or the UCUM system, or a bulk line's `unit`) is read as UCUM (termserver.grammar.ucum),
normalised (`mg/dl` → `mg/dL`, `MMOL/L` → `mmol/L`), used to choose map targets that depend on
a unit, and checked against the LOINC PROPERTY axis of each target (`mg/dL` is a mass
concentration and does not fit an `SCnc` term). When a target names its unit (a `product`
with attribute `unit`), the factor from the local unit to it is given, within one dimension
only: mass ↔ substance needs a molar mass, which no map gives here.

Dimensions are reduced here, not with `ucum.canonical`, because UCUM defines `mol` as a number
(6.022…×10²³), which would make amount and number concentrations one dimension.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from termserver.errors import TerminologyError
from termserver.grammar import ucum
from termserver.model import TranslateMatch
from termserver.service.context import TxContext

UCUM = ucum.UCUM
#: Dependency attributes that carry a unit (a URI's last segment `unit`/`units` counts too).
_UNIT_ATTRIBUTES = frozenset({"unit", "units", UCUM})
#: The longest unit text read (a lab unit is short; bounds the work).
MAX_UNIT_LENGTH = 100
#: Common lab spellings that are not UCUM atoms, and their UCUM form.
_ALIASES = {"IU": "[IU]", "iu": "[iU]", "mmHg": "mm[Hg]", "mm Hg": "mm[Hg]", "cells": "{cells}",
            "pH": "[pH]"}
#: Capital atoms kept as they are in a unit written in capitals (`U/L`), not case-folded.
_UPPER_KEPT = frozenset({"U", "L", "IU", "M"})
_ATOM = re.compile(r"(\{[^}]*\}|\[[^\]]*\][0-9+-]*|[./()])")
_POWER = re.compile(r"(?:x\s*)?10\s*[\^E]\s*([+-]?\d+)")

Dims = frozenset[tuple[str, int]]


def _d(**dims: int) -> Dims:
    return frozenset(dims.items())


#: Dimension (with `mol` and arbitrary units kept apart) → (what it is, LOINC PROPERTY values
#: that take it).
CLASSES: dict[Dims, tuple[str, frozenset[str]]] = {
    _d(g=1, m=-3): ("mass concentration", frozenset({"MCnc"})),
    _d(mol=1, m=-3): ("substance concentration", frozenset({"SCnc"})),
    _d(mol=1, s=-1, m=-3): ("catalytic concentration", frozenset({"CCnc"})),
    _d(m=-3): ("number concentration", frozenset({"NCnc"})),
    _d(arb=1, m=-3): ("arbitrary concentration", frozenset({"ACnc"})),
    _d(): ("dimensionless (fraction, ratio, count)", frozenset({
        "Fr", "MFr", "SFr", "VFr", "NFr", "CFr", "AFr", "Ratio", "MRto", "SRto", "NRto",
        "VRto", "ARto", "CRto", "RelMCnc", "RelSCnc", "RelCCnc", "RelACnc", "RelNCnc",
        "RelTime", "RelRto", "Titr", "Num", "Naric", "Prctl", "Zscore", "Score", "Rden",
        "EntNum", "LsCnc"})),
    _d(s=1): ("time", frozenset({"Time", "EntTime"})),
    _d(g=1): ("mass", frozenset({"Mass", "EntMass"})),
    _d(mol=1): ("amount of substance", frozenset({"Sub", "EntSub"})),
    _d(m=3): ("volume", frozenset({"Vol", "EntVol"})),
    _d(m=1): ("length", frozenset({"Len", "EntLen"})),
    _d(m=2): ("area", frozenset({"Area", "EntArea"})),
    _d(K=1): ("temperature", frozenset({"Temp"})),
    _d(mol=1, g=-1): ("substance content", frozenset({"SCnt", "Osmol"})),
    _d(mol=1, s=-1, g=-1): ("catalytic content", frozenset({"CCnt"})),
    _d(g=1, s=-1): ("mass rate", frozenset({"MRat"})),
    _d(mol=1, s=-1): ("substance rate or catalytic activity", frozenset({"SRat", "CAct"})),
    _d(m=3, s=-1): ("volume rate", frozenset({"VRat"})),
    _d(s=-1): ("frequency or number rate", frozenset({"Freq", "NRat"})),
    _d(g=1, m=-1, s=-2): ("pressure", frozenset({"Pres", "PPres"})),
    _d(arb=1): ("arbitrary amount", frozenset({"Arb", "ACnt"})),
}
#: Every PROPERTY value a unit is checked against (others are not quantities: no check).
QUANTITIES = frozenset(p for _, props in CLASSES.values() for p in props)


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as given, its UCUM form (None when it is not UCUM) and why not."""

    given: str
    ucum: str | None
    error: str | None = None

    @property
    def dims(self) -> Dims | None:
        return dimensions(self.ucum) if self.ucum is not None else None


@dataclass(frozen=True, slots=True)
class UnitMatch(TranslateMatch):
    """A match with what the unit says about it: (name, value[x] key, value) for each
    `unit-*` property (termserver.fhir.translation writes them as match `property` parts)."""

    unit_parts: tuple[tuple[str, str, Any], ...] = ()


def is_unit_attribute(attribute: str) -> bool:
    tail = re.split(r"[/#]", attribute.rstrip("/"))[-1]
    return attribute in _UNIT_ATTRIBUTES or tail.lower() in ("unit", "units")


def dependency_key(attribute: str, value: str) -> tuple[str, str]:
    """(attribute, value) compared between a request's dependency and a map's dependsOn:
    units as `unit` and their UCUM form, anything else as it is."""
    if not is_unit_attribute(attribute):
        return attribute, value
    return "unit", normalise(value).ucum or value


def requested_unit(dependencies: Iterable[tuple[str, str]]) -> Unit | None:
    return next((normalise(v) for a, v in dependencies if is_unit_attribute(a)), None)


def normalise(text: str) -> Unit:
    """`text` in UCUM form: valid UCUM keeps its atoms (a litre as `L`); an atom that is not
    UCUM is matched case-insensitively (several readings: the submultiple, as lab units
    are; `MG` → `mg`, not megagram); common non-UCUM spellings (`IU`, `mmHg`, `10^9`, `µ`)
    are mapped."""
    given = text.strip()
    if not given or len(given) > MAX_UNIT_LENGTH:
        return Unit(text[:MAX_UNIT_LENGTH], None,
                    f"a unit must have 1 to {MAX_UNIT_LENGTH} characters")
    return _normalise(text, given)


@lru_cache(maxsize=4096)
def _normalise(text: str, given: str) -> Unit:
    fixed = _POWER.sub(lambda m: f"10*{m.group(1)}", given.replace("µ", "u").replace("μ", "u"))
    fixed = _ALIASES.get(fixed, fixed)
    upper = any(c.isalpha() for c in fixed) and not any(c.islower() for c in fixed)
    atoms = [_atom(a, upper) for a in _ATOM.split(fixed) if a]
    candidate = "".join(_ALIASES.get(a, a) for a in atoms)
    if ucum.validate(candidate) is None:
        return Unit(text, candidate)
    return Unit(text, None, ucum.validate(given) or ucum.validate(candidate))


def _atom(atom: str, upper: bool = False) -> str:
    """One atom in UCUM form; `upper`: the unit was written in capitals (case is no guide)."""
    if atom in "./()" or atom.startswith(("{", "[")) or atom.isdigit() or atom in _ALIASES:
        return atom
    if not (upper and atom not in _UPPER_KEPT):
        try:
            found = ucum.symbol(atom)
            if isinstance(found, ucum.Symbol):
                return _written(found.prefix, found.unit, found.exponent)
            return atom
        except ucum.UcumError:
            pass
    code, exponent = atom, 1
    split = re.match(r"^(.*?)([+-]?\d+)$", atom)
    if split and split.group(1) and not split.group(1).endswith("*"):
        code, exponent = split.group(1), int(split.group(2))
    readings = _folded().get(code.lower(), ())
    if not readings:
        return atom
    prefix, unit = readings[0]
    return _written(prefix, unit, exponent)


def _written(prefix: str | None, unit: str, exponent: int) -> str:
    return (prefix or "") + ("L" if unit == "l" else unit) + ("" if exponent == 1
                                                              else str(exponent))


@cache
def _folded() -> dict[str, tuple[tuple[str | None, str], ...]]:
    """Lower-cased atom → its readings (prefix, unit): submultiples first, then no prefix,
    then multiples; lower-case unit codes first among equals."""
    data = ucum.essence()
    found: dict[str, list[tuple[float, str | None, str]]] = {}
    for code, unit in data.units.items():
        found.setdefault(code.lower(), []).append((1.0, None, code))
        if unit.metric:
            for prefix, (_, value) in data.prefixes.items():
                found.setdefault((prefix + code).lower(), []).append((value, prefix, code))
    def rank(r: tuple[float, str | None, str]) -> tuple[bool, float, bool]:
        return r[0] > 1, -r[0], not r[2].islower()  # gram before gauss, hour before henry

    return {k: tuple((p, u) for _, p, u in sorted(v, key=rank))
            for k, v in found.items()}


@lru_cache(maxsize=4096)
def dimensions(expr: str) -> Dims | None:
    """The dimension of a UCUM expression, `mol` and arbitrary units (`arb`) kept as their
    own; None for special units (°C, pH, …), which have no plain dimension."""
    try:
        return _term_dims(ucum.parse(expr))
    except (ucum.UcumError, _Special):
        return None


class _Special(Exception):
    pass


def _term_dims(term: ucum.Term) -> Dims:
    out: dict[str, int] = {}
    for op, component in term:
        for k, e in _component_dims(component).items():
            out[k] = out.get(k, 0) + (-e if op == "/" else e)
    return frozenset((k, e) for k, e in out.items() if e)


def _component_dims(component: ucum.Component) -> dict[str, int]:
    if isinstance(component, ucum.Group):
        return dict(_term_dims(component.term))
    if not isinstance(component, ucum.Symbol):
        return {}
    return {k: e * component.exponent for k, e in _unit_dims(component.unit)}


@cache
def _unit_dims(code: str) -> Dims:
    unit = ucum.essence().units[code]
    if code == "mol":
        return _d(mol=1)
    if unit.arbitrary:
        return _d(arb=1)
    if unit.base:
        return _d(**{code: 1})
    if unit.special:
        raise _Special(code)
    return _term_dims(ucum.parse(unit.definition))


def describe_class(dims: Dims | None) -> str:
    if dims is None:
        return "no plain dimension"
    known = CLASSES.get(dims)
    return known[0] if known else f"dimension {ucum.format_dimensions(dict(dims))}"


def factor(source: str, target: str) -> float | None:
    """How many `target` one `source` is (`mg/dL` → `g/L`: 0.01), when both have the same
    dimension (and neither is a special unit); None otherwise."""
    a, b = dimensions(source), dimensions(target)
    if a is None or a != b:
        return None
    return ucum.canonical(source)[0] / ucum.canonical(target)[0]


def target_unit(match: TranslateMatch) -> str | None:
    """The unit a match's target is in: a `product` with a unit attribute."""
    for entry in match.product:
        attribute = entry.get("attribute") or entry.get("property")
        if attribute and is_unit_attribute(str(attribute)):
            value = _entry_value(entry)
            if value:
                return value
    return None


def _entry_value(entry: Mapping[str, Any]) -> str | None:
    for key, value in entry.items():
        if key.startswith("value") and key != "valueSet":
            return str(value.get("code")) if isinstance(value, dict) else str(value)
    return None


def annotate(ctx: TxContext, unit: Unit, matches: Sequence[TranslateMatch]
             ) -> tuple[list[TranslateMatch], list[str]]:
    """The matches with their unit parts, and the messages about the unit."""
    notes: list[str] = []
    if unit.ucum is None:
        notes.append(f"The unit '{unit.given}' is not valid UCUM ({unit.error}); it was "
                     "compared as given and not checked against the targets")
    elif unit.ucum != unit.given:
        notes.append(f"The unit '{unit.given}' is read as the UCUM unit '{unit.ucum}'")
    out: list[TranslateMatch] = []
    for m in matches:
        parts = _parts(ctx, unit, m, notes) if m.concept is not None else []
        out.append(UnitMatch(m.relationship, m.equivalence, m.concept, m.source, m.origin_map,
                             m.comment, m.depends_on, m.product, tuple(parts)) if parts else m)
    return out, notes


def _parts(ctx: TxContext, unit: Unit, m: TranslateMatch, notes: list[str]
           ) -> list[tuple[str, str, Any]]:
    assert m.concept is not None
    parts: list[tuple[str, str, Any]] = []
    if unit.ucum is None:
        return [("unit-warning", "valueString", f"'{unit.given}' is not valid UCUM")]
    parts.append(("unit-ucum", "valueCoding", {"system": UCUM, "code": unit.ucum}))
    dims = unit.dims
    prop = _loinc_property(ctx, m.concept.system, m.concept.code, m.concept.version)
    if prop is not None and prop in QUANTITIES and dims is not None:
        fits = dims in CLASSES and prop in CLASSES[dims][1]
        if not fits:
            text = (f"The unit '{unit.ucum}' ({describe_class(dims)}) does not fit the "
                    f"PROPERTY '{prop}' of {m.concept.system}#{m.concept.code}")
            parts.append(("unit-warning", "valueString", text))
            notes.append(text)
    target = target_unit(m)
    if target is not None:
        normal = normalise(target).ucum or target
        parts.append(("unit-target", "valueCoding", {"system": UCUM, "code": normal}))
        ratio = factor(unit.ucum, normal)
        if ratio is not None:
            parts.append(("unit-factor", "valueDecimal", float(f"{ratio:.12g}")))
        else:
            parts.append(("unit-warning", "valueString",
                          f"No conversion from '{unit.ucum}' to '{normal}': not the same "
                          "dimension (a conversion between mass and substance needs the "
                          "molar mass)"))
    return parts


def _loinc_property(ctx: TxContext, system: str | None, code: str | None,
                    version: str | None) -> str | None:
    """The target's PROPERTY (a LOINC axis), when its code system is known and has it."""
    if not system or not code:
        return None
    try:
        provider = ctx.code_system(system, version)
        detail = provider.lookup(code) if provider is not None else None
    except TerminologyError:
        return None
    if detail is None:
        return None
    return next((p.value for p in detail.properties if p.property == "PROPERTY"), None)
