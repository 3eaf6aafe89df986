"""SNOMED CT post-coordinated expressions (Compositional Grammar 2.x, the common subset):

    [=== | <<<] focus [+ focus …] [: attribute = value, … {attribute = value, …} …]

where a value is a concept (`id |term|`), a nested expression in parentheses, `#number` or a
"string". `parse` gives the structure (or None when the text is not an expression);
`render` the normal text form with preferred terms, e.g. `10200004|Liver structure|:…`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

_SCTID = re.compile(r"[1-9][0-9]{5,17}")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Attribute:
    type_id: str
    value: str | Expression  # concept id, nested expression, or "#n" / '"text"' concrete


@dataclass(frozen=True, slots=True)
class Expression:
    focus: tuple[str, ...]
    ungrouped: tuple[Attribute, ...] = ()
    groups: tuple[tuple[Attribute, ...], ...] = ()

    def concepts(self) -> set[str]:
        """Every concept id the expression names (focus, attribute types and values)."""
        found = set(self.focus)
        for attr in (*self.ungrouped, *(a for g in self.groups for a in g)):
            found.add(attr.type_id)
            if isinstance(attr.value, Expression):
                found |= attr.value.concepts()
            elif not attr.value.startswith(("#", '"')):
                found.add(attr.value)
        return found


def is_expression(code: str) -> bool:
    """True when `code` is not a plain concept id but parses as an expression."""
    return not code.isdigit() and parse(code) is not None


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression | None:
    """The expression `text` denotes, or None when it is not a well-formed expression."""
    try:
        p = _Parser(text)
        p.ws()
        for prefix in ("===", "<<<"):
            if p.accept(prefix):
                break
        expr = p.sub_expression()
        p.ws()
        return expr if p.pos == len(text) else None
    except _Fail:
        return None


class _Fail(Exception):
    pass


#: Most levels of nested `( … )` attribute values an expression may have (deeper ones are not
#: parsed: no real post-coordinated expression comes near, and recursion must stay bounded).
MAX_NESTING = 20


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.depth = text, 0, 0

    def ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def accept(self, token: str) -> bool:
        self.ws()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise _Fail(token)

    def concept(self) -> str:
        self.ws()
        m = _SCTID.match(self.text, self.pos)
        if not m:
            raise _Fail("concept id")
        self.pos = m.end()
        if self.accept("|"):
            end = self.text.find("|", self.pos)
            if end < 0:
                raise _Fail("|")
            self.pos = end + 1
        return m.group(0)

    def sub_expression(self) -> Expression:
        focus = [self.concept()]
        while self.accept("+"):
            focus.append(self.concept())
        ungrouped: list[Attribute] = []
        groups: list[tuple[Attribute, ...]] = []
        if self.accept(":"):
            while True:
                if self.accept("{"):
                    groups.append(tuple(self.attribute_set()))
                    self.expect("}")
                else:
                    ungrouped.extend(self.attribute_set())
                save = self.pos
                self.accept(",")
                self.ws()
                if not self.text.startswith("{", self.pos):
                    self.pos = save
                    break
        return Expression(tuple(focus), tuple(ungrouped), tuple(groups))

    def attribute_set(self) -> list[Attribute]:
        attrs = [self.attribute()]
        while True:
            save = self.pos
            if not self.accept(","):
                return attrs
            self.ws()
            if self.text.startswith("{", self.pos):
                self.pos = save
                return attrs
            attrs.append(self.attribute())

    def attribute(self) -> Attribute:
        type_id = self.concept()
        self.expect("=")
        self.ws()
        if self.accept("("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise _Fail(f"more than {MAX_NESTING} levels of nesting")
            value: str | Expression = self.sub_expression()
            self.expect(")")
            self.depth -= 1
        elif self.accept("#"):
            m = _NUMBER.match(self.text, self.pos)
            if not m:
                raise _Fail("number")
            self.pos = m.end()
            value = "#" + m.group(0)
        elif self.accept('"'):
            end = self.text.find('"', self.pos)
            if end < 0:
                raise _Fail('"')
            value = '"' + self.text[self.pos:end] + '"'
            self.pos = end + 1
        else:
            value = self.concept()
        return Attribute(type_id, value)


def render(expr: Expression, term: Callable[[str], str | None]) -> str:
    """The expression in normal text form, each concept with its term: `id|term|`."""
    def ref(code: str) -> str:
        t = term(code)
        return f"{code}|{t}|" if t else code

    def attr(a: Attribute) -> str:
        if isinstance(a.value, Expression):
            value = f"({render(a.value, term)})"
        elif a.value.startswith(("#", '"')):
            value = a.value
        else:
            value = ref(a.value)
        return f"{ref(a.type_id)}={value}"

    text = "+".join(ref(f) for f in expr.focus)
    parts = [",".join(attr(a) for a in expr.ungrouped)] if expr.ungrouped else []
    parts += ["{" + ",".join(attr(a) for a in g) + "}" for g in expr.groups]
    return f"{text}:{','.join(parts)}" if parts else text
