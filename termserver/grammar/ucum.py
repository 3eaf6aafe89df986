"""UCUM (https://ucum.org/ucum): unit expressions parsed by the UCUM grammar over the
ucum-essence.xml data (prefixes, base units, derived, special and arbitrary units).

`parse` checks an expression (raising UcumError with the character position), `canonical`
reduces it to base units (the `canonical` property and filter of the tx-ecosystem IG) and
`describe` gives the long "print" form, e.g. `mg/dL` → `(milligram) / (deciliter)`.

Grammar (UCUM §7, with the usual readings of the reference implementations):
    main  = ["/"] term
    term  = component (("." | "/") component)*
    component = "(" term ")" [annotation] | annotation | factor [annotation]
              | symbol [exponent] [annotation]
`/` and `.` are left-associative and of equal rank: `kg/m.s` is `kg.m-1.s`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from termserver.grammar.provider import GrammarCodeSystem, preferred
from termserver.model import CodeSystemInfo, Concept, ConceptDetail, ConceptProperty

ESSENCE = Path(__file__).parent / "data" / "ucum-essence.xml"
_NS = "{http://unitsofmeasure.org/ucum-essence}"
#: Longest expression accepted (a validator never sends more; bounds the work), and the deepest
#: nesting of parentheses (bounds the recursion).
MAX_LENGTH, MAX_DEPTH = 500, 32
_DELIMITERS = "./(){}"
_EXPONENT = re.compile(r"^(.*?)([+-]?\d+)$")


class UcumError(ValueError):
    """An expression that is not valid UCUM; `position` is 1-based."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message if position is None else f"{message} at character {position}")
        self.position = position


@dataclass(frozen=True, slots=True)
class UnitDef:
    code: str
    name: str
    metric: bool
    special: bool
    arbitrary: bool
    definition: str  # the defining expression (for a special unit: its function's unit)
    value: float
    function: str | None = None
    base: bool = False


@dataclass(frozen=True, slots=True)
class Essence:
    version: str
    prefixes: dict[str, tuple[str, float]]  # code → (name, value)
    units: dict[str, UnitDef]


@cache
def essence() -> Essence:
    """The UCUM essence data shipped with the server (see NOTICE)."""
    root = ET.parse(ESSENCE).getroot()
    prefixes = {}
    for p in root.iter(_NS + "prefix"):
        value = p.find(_NS + "value")
        prefixes[str(p.get("Code"))] = (_text(p, "name"),
                                         float(value.get("value", "1") if value is not None
                                               else 1))
    units: dict[str, UnitDef] = {}
    for b in root.iter(_NS + "base-unit"):
        code = str(b.get("Code"))
        units[code] = UnitDef(code, _text(b, "name"), True, False, False, code, 1.0, base=True)
    for u in root.iter(_NS + "unit"):
        code = str(u.get("Code"))
        value = u.find(_NS + "value")
        assert value is not None, code
        function = value.find(_NS + "function")
        special = u.get("isSpecial") == "yes"
        if special and function is not None:
            definition, number, fname = str(function.get("Unit")), 1.0, function.get("name")
        else:
            definition = str(value.get("Unit") or "1")
            number, fname = float(value.get("value") or 1), None
        units[code] = UnitDef(code, _text(u, "name"), u.get("isMetric") == "yes", special,
                              u.get("isArbitrary") == "yes", definition, number, fname)
    return Essence(str(root.get("version")), prefixes, units)


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(_NS + tag)
    return "".join(found.itertext()).strip() if found is not None else ""


# -- syntax tree ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Symbol:
    prefix: str | None
    unit: str
    exponent: int = 1


@dataclass(frozen=True, slots=True)
class Factor:
    value: int


@dataclass(frozen=True, slots=True)
class Group:
    term: Term


@dataclass(frozen=True, slots=True)
class Annotation:
    text: str


Component = Symbol | Factor | Group | Annotation
#: (operator, component) pairs; the first operator is "." or, for a leading `/`, "/".
Term = tuple[tuple[str, Component], ...]


# -- lexer ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "op", "(", ")", "ann", "sym"
    text: str
    pos: int  # 1-based


def _tokens(expr: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(expr)
    while i < n:
        ch = expr[i]
        if ch in "./":
            out.append(_Token("op", ch, i + 1))
            i += 1
        elif ch in "()":
            out.append(_Token(ch, ch, i + 1))
            i += 1
        elif ch == "{":
            end = expr.find("}", i + 1)
            if end < 0:
                raise UcumError("Missing '}' to close the annotation", i + 1)
            text = expr[i + 1:end]
            for j, c in enumerate(text):
                if c == "{" or not 32 <= ord(c) <= 126:
                    raise UcumError(f"Character '{c}' is not allowed in an annotation",
                                    i + 2 + j)
            out.append(_Token("ann", text, i + 1))
            i = end + 1
        elif ch == "}":
            raise UcumError("Unexpected '}'", i + 1)
        else:
            start, depth = i, 0
            while i < n and (depth > 0 or expr[i] not in _DELIMITERS):
                c = expr[i]
                if not 33 <= ord(c) <= 126:
                    raise UcumError(f"Character '{c}' is not allowed in a unit", i + 1)
                depth += (c == "[") - (c == "]")
                if depth < 0:
                    raise UcumError("Unexpected ']'", i + 1)
                i += 1
            if depth:
                raise UcumError("Missing ']'", start + 1)
            out.append(_Token("sym", expr[start:i], start + 1))
    return out


# -- parser -----------------------------------------------------------------------------------

class _Parser:
    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokens(expr)
        self.i = self.depth = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def main(self) -> Term:
        first = self.peek()
        if first is None:
            raise UcumError("The unit expression is empty")
        lead = "."
        if first.kind == "op" and first.text == "/":
            self.take()
            lead = "/"
        term = self.term(lead)
        extra = self.peek()
        if extra is not None:
            raise UcumError(f"Unexpected '{extra.text}'", extra.pos)
        return term

    def term(self, lead: str = ".") -> Term:
        parts = [(lead, self.component())]
        while (token := self.peek()) is not None and token.kind == "op":
            self.take()
            parts.append((token.text, self.component()))
        return tuple(parts)

    def component(self) -> Component:
        token = self.peek()
        if token is None:
            raise UcumError("Expected a unit after the operator", len(self.expr) + 1)
        self.take()
        found: Component
        if token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise UcumError(f"Parentheses nest deeper than {MAX_DEPTH} levels", token.pos)
            found = Group(self.term())
            self.depth -= 1
            close = self.peek()
            if close is None or close.kind != ")":
                raise UcumError("Missing ')'", close.pos if close else len(self.expr) + 1)
            self.take()
        elif token.kind == "ann":
            return Annotation(token.text)
        elif token.kind == "sym":
            found = symbol(token.text, token.pos)
        else:
            raise UcumError(f"Unexpected '{token.text}'", token.pos)
        after = self.peek()
        if after is not None and after.kind == "ann":
            self.take()  # an annotation on the component: no meaning of its own
        return found


def symbol(text: str, pos: int = 1) -> Symbol | Factor:
    """A unit atom with optional prefix and exponent (`mm2`, `10*-3`), or a factor (`100`)."""
    if text.isdigit():
        return Factor(int(text))
    units, prefixes = essence().units, essence().prefixes
    code, exponent = text, 1
    split = _EXPONENT.match(text)
    if split and split.group(1):
        code, exponent = split.group(1), int(split.group(2))
    if code in units:
        return Symbol(None, code, exponent)
    for prefix in sorted(prefixes, key=len, reverse=True):
        rest = code[len(prefix):]
        if code.startswith(prefix) and rest in units:
            if not units[rest].metric:
                raise UcumError(f"The unit '{rest}' is not metric and cannot take the prefix "
                                f"'{prefix}'", pos)
            return Symbol(prefix, rest, exponent)
    raise UcumError(f"The unit '{code}' is unknown", pos)


def parse(expr: str) -> Term:
    """The syntax tree of `expr`; UcumError when it is not valid UCUM."""
    if len(expr) > MAX_LENGTH:
        raise UcumError(f"The unit expression is longer than {MAX_LENGTH} characters")
    return _Parser(expr).main()


def validate(expr: str) -> str | None:
    """None when `expr` is valid UCUM, else the reason."""
    try:
        parse(expr)
    except UcumError as exc:
        return str(exc)
    return None


# -- canonical form ---------------------------------------------------------------------------

Dimensions = dict[str, int]


def canonical(expr: str) -> tuple[float, Dimensions]:
    """(factor, base units with exponents): `expr` = factor × Π base^exponent. Special units
    (Cel, [pH], …) contribute their function's unit; arbitrary units ([iU]) stay themselves."""
    return _reduce_term(parse(expr))


def canonical_code(expr: str) -> str:
    """The canonical unit of `expr` as a UCUM expression (`mg/dL` → `g.m-3`; `1` if none)."""
    return format_dimensions(canonical(expr)[1])


def format_dimensions(dims: Dimensions) -> str:
    parts = [code if exp == 1 else f"{code}{exp}" for code, exp in sorted(dims.items()) if exp]
    return ".".join(parts) or "1"


@cache
def _unit_canonical(code: str) -> tuple[float, tuple[tuple[str, int], ...]]:
    unit = essence().units[code]
    if unit.base or unit.arbitrary:
        return 1.0, ((code, 1),)
    value, dims = _reduce_term(parse(unit.definition))
    if unit.function == "sqrt":
        dims = {k: v // 2 for k, v in dims.items()}
    return value * unit.value, tuple(dims.items())


def _reduce_term(term: Term) -> tuple[float, Dimensions]:
    value, dims = 1.0, Dimensions()
    for op, component in term:
        v, d = _reduce(component)
        sign = -1 if op == "/" else 1
        value = value / v if sign < 0 else value * v
        for k, e in d.items():
            dims[k] = dims.get(k, 0) + sign * e
    return value, {k: e for k, e in dims.items() if e}


def _reduce(component: Component) -> tuple[float, Dimensions]:
    if isinstance(component, Factor):
        return float(component.value), {}
    if isinstance(component, Annotation):
        return 1.0, {}
    if isinstance(component, Group):
        return _reduce_term(component.term)
    value, dims = _unit_canonical(component.unit)
    if component.prefix:
        value *= essence().prefixes[component.prefix][1]
    exp = component.exponent
    return value ** exp, {k: e * exp for k, e in dims}


# -- print form -------------------------------------------------------------------------------

def describe(expr: str) -> str:
    """The long form of `expr` (`m3.kg-1` → `(meter ^ 3) * (kilogram ^ -1)`); `(unity)` for
    an empty expression."""
    return _describe_term(parse(expr)) if expr else "(unity)"


def _describe_term(term: Term) -> str:
    out = []
    for i, (op, component) in enumerate(term):
        text = _describe(component)
        if i == 0:
            out.append(f"1 / {text}" if op == "/" else text)
        else:
            out.append(f"{' / ' if op == '/' else ' * '}{text}")
    return "".join(out)


def _describe(component: Component) -> str:
    if isinstance(component, Factor):
        return str(component.value)
    if isinstance(component, Annotation):
        return "1"
    if isinstance(component, Group):
        return f"({_describe_term(component.term)})"
    name = essence().units[component.unit].name
    if component.prefix:
        name = essence().prefixes[component.prefix][0] + name
    if component.exponent != 1:
        name += f" ^ {component.exponent}"
    return f"({name})"


# -- the code system --------------------------------------------------------------------------

UCUM = "http://unitsofmeasure.org"


class UcumUnits(GrammarCodeSystem):
    """`http://unitsofmeasure.org`: every valid expression is a code; its display is the code
    itself (as the reference servers answer), the long form is a designation, and the
    `canonical` property (filter `canonical = g`) is its unit in base units."""

    filters = {"canonical": ("=", "in")}

    def __init__(self) -> None:
        super().__init__(CodeSystemInfo(
            UCUM, essence().version, name="UCUM", title="Unified Code for Units of Measure",
            case_sensitive=True, language="en"))

    def explain(self, code: str) -> str | None:
        reason = validate(code)
        return f"Error processing unit '{code}': {reason}" if reason else None

    def describe(self, code: str) -> ConceptDetail | None:
        try:
            term = parse(code)
        except UcumError:
            return None
        try:
            props: tuple[ConceptProperty, ...] = (ConceptProperty(
                code, "canonical", format_dimensions(_reduce_term(term)[1]), "code"),)
        except ArithmeticError:  # e.g. `/0` or `10*999999`: valid syntax, no magnitude
            props = ()
        return ConceptDetail(Concept(code, code), properties=props,
                             designations=(preferred(code, _describe_term(term)),))
