"""A hand-written recursive-descent parser for ECL 2.x (brief and long syntax).

`parse(text)` returns an `ast.Expression` or raises `InvalidEcl` (an InvalidRequest with
message id INVALID_ECL) naming the 1-based character position and what was expected.
Whitespace and `/* … */` comments may appear between any two tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal, cast

from termserver.errors import InvalidRequest
from termserver.service.ecl import ast
from termserver.service.ecl.graph import ACCEPTABLE, PREFERRED
from termserver.service.ecl.scanner import MAX_NESTING, NAME, Fail, Scanner, TooDeep

_SCTID = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_OPERATORS: tuple[tuple[str, ast.Operator], ...] = (
    ("<<!", "<<!"), ("<<", "<<"), ("<!", "<!"), ("<", "<"), (">>!", ">>!"), (">>", ">>"),
    (">!", ">!"), (">", ">"), ("!!>", "!!>"), ("!!<", "!!<"))
_LONG_OPERATORS: dict[str, ast.Operator] = {
    "descendantorselfof": "<<", "descendantof": "<", "childof": "<!", "childorselfof": "<<!",
    "ancestororselfof": ">>", "ancestorof": ">", "parentof": ">!", "parentorselfof": ">>!"}
_COMPARISONS: tuple[ast.Comparison, ...] = ("!=", "<=", ">=", "=", "<", ">")
_ACCEPTABILITY_TOKENS = {"accept": ACCEPTABLE, "acceptable": ACCEPTABLE,
                         "prefer": PREFERRED, "preferred": PREFERRED}
_DESCRIPTION_FILTERS = {"term", "language", "typeid", "type", "dialectid", "dialect",
                        "moduleid", "effectivetime", "active", "id"}
_CONCEPT_FILTERS = {"definitionstatusid", "definitionstatus", "moduleid", "effectivetime",
                    "active"}


class InvalidEcl(InvalidRequest):
    """An ECL text that does not parse or names something that does not exist."""

    def __init__(self, text: str, detail: str) -> None:
        super().__init__(f"Invalid ECL expression: '{text}': ({detail})",
                         message_id="INVALID_ECL", tx_code="vs-invalid")
        self.detail = detail


def parse(text: str) -> ast.Expression:
    """Parse one ECL expression constraint (the whole text must be consumed)."""
    parser = _Parser(text)
    try:
        expr = parser.expression()
        parser.ws()
        if parser.pos < len(text):
            parser.fail("end of expression (use parentheses to combine or refine "
                        "sub-expressions)")
        return expr
    except TooDeep as deep:
        raise InvalidEcl(text, f"Syntax error at character {deep.pos + 1}: more than "
                         f"{MAX_NESTING} levels of nesting") from None
    except Fail as fail:
        at = f"Syntax error at character {fail.pos + 1}: "
        if fail.plain:
            raise InvalidEcl(text, at + fail.expected) from None
        found = text[fail.pos:fail.pos + 12]
        where = f"found '{found}'" if found else "found end of text"
        raise InvalidEcl(text, f"{at}expected {fail.expected}, {where}") from None


class _Parser(Scanner):
    # -- expressions --------------------------------------------------------------------
    def expression(self) -> ast.Expression:
        first = self.sub_expression()
        if self.accept(":"):
            return ast.Refined(first, self.refinement(in_group=False))
        if self.peek("."):
            attributes: list[ast.Expression] = []
            while self.accept("."):
                attributes.append(self.sub_expression())
            return ast.Dotted(first, tuple(attributes))
        op = self.binary_operator()
        if op is None:
            return first
        operands = [first]
        while True:
            operands.append(self.sub_expression())
            start = self.pos
            nxt = self.binary_operator()
            if nxt is None:
                break
            if nxt != op or op == "minus":
                self.fail(f"'{op.upper()}' and '{nxt.upper()}' cannot be combined without "
                          "parentheses", start, plain=True)
        return ast.Compound(op, tuple(operands))

    def binary_operator(self) -> Literal["and", "or", "minus"] | None:
        self.ws()
        if self.accept_keyword("AND") or self.accept(","):
            return "and"
        if self.accept_keyword("OR"):
            return "or"
        if self.accept_keyword("MINUS"):
            return "minus"
        return None

    def operator(self) -> ast.Operator | None:
        self.ws()
        for token, op in _OPERATORS:
            if self.accept(token):
                return op
        for word, op in _LONG_OPERATORS.items():
            if self.accept_keyword(word):
                return op
        return None

    def sub_expression(self) -> ast.SubExpression:
        return self.nested("sub", self._sub_expression)

    def _sub_expression(self) -> ast.SubExpression:
        operator = self.operator()
        focus: ast.Focus
        blocks: list[ast.FilterBlock] = []
        if self.accept("^") or self.accept_keyword("memberOf"):
            fields: tuple[str, ...] | None = None
            if self.accept("["):
                fields = ("*",) if self.accept("*") else self.field_names()
                self.expect("]")
            focus = ast.MemberOf(ast.SubExpression(None, self.focus()), fields)
            while self.peek_block("M"):
                blocks.append(self.filter_block())
        else:
            focus = self.focus()
        history: ast.HistorySupplement | None = None
        while self.peek("{{") and history is None:
            if self.peek_block("+"):
                history = self.history()
            elif self.peek_block("M"):
                self.fail("a description or concept filter (member filters follow '^ refset')")
            else:
                blocks.append(self.filter_block())
        return ast.SubExpression(operator, focus, tuple(blocks), history)

    def field_names(self) -> tuple[str, ...]:
        names = [self.name("a reference set field name")]
        while self.accept(","):
            names.append(self.name("a reference set field name"))
        return tuple(names)

    def focus(self) -> ast.Focus:
        self.ws()
        if self.accept("*"):
            return ast.Wildcard()
        if self.accept("("):
            inner = self.expression()
            self.expect(")", "')' or a binary operator (AND, OR, MINUS)")
            return ast.Nested(inner)
        m = NAME.match(self.text, self.pos)
        if m and self.text.startswith("#", m.end()):
            return self.alt_identifier()
        return self.concept_ref("a concept id, '*', '^' or '('")

    def alt_identifier(self) -> ast.AltId:
        scheme = self.name("an identifier scheme")
        self.expect("#")
        if self.peek('"'):
            return ast.AltId(scheme, self.quoted())
        m = re.compile(r"[^\s(){}\[\],|]+").match(self.text, self.pos)
        if not m:
            self.fail("an alternate identifier code")
        self.pos = m.end()
        return ast.AltId(scheme, m.group())

    def concept_ref(self, what: str = "a concept id") -> ast.ConceptRef:
        self.ws()
        start = self.pos
        m = _SCTID.match(self.text, self.pos)
        if not m or (m.end() < len(self.text) and self.text[m.end()].isalpha()):
            self.fail(what)
        sctid = m.group()
        if not 6 <= len(sctid) <= 18 or sctid.startswith("0"):
            self.fail("a SNOMED CT identifier (6 to 18 digits, no leading zero)")
        self.pos = m.end()
        term = None
        if self.accept("|"):
            end = self.text.find("|", self.pos)
            if end < 0:
                self.fail("'|' closing the term")
            term = self.text[self.pos:end].strip()
            self.pos = end + 1
        return ast.ConceptRef(sctid, term, start)

    def concept_ref_set(self) -> tuple[ast.ConceptRef, ...]:
        self.expect("(")
        refs = [self.concept_ref()]
        while not self.accept(")"):
            refs.append(self.concept_ref("a concept id or ')'"))
        return tuple(refs)

    def expression_or_set(self) -> ast.Expression | tuple[ast.ConceptRef, ...]:
        if self.peek("("):
            options: tuple[Callable[[], ast.Expression | tuple[ast.ConceptRef, ...]], ...] = (
                self.concept_ref_set, self.sub_expression)
            return self.attempt(*options)
        return self.sub_expression()

    # -- refinements --------------------------------------------------------------------
    def refinement(self, *, in_group: bool) -> ast.Refinement:
        return self.nested(f"ref{in_group}", lambda: self._refinement(in_group))

    def _refinement(self, in_group: bool) -> ast.Refinement:
        items = [self.sub_refinement(in_group)]
        op = self.binary_operator()
        if op is None:
            return items[0]
        if op == "minus":
            self.fail("AND, OR or ',' (MINUS is not allowed in refinements)")
        while True:
            items.append(self.sub_refinement(in_group))
            start = self.pos
            nxt = self.binary_operator()
            if nxt is None:
                break
            if nxt != op:
                self.fail("AND and OR cannot be combined without parentheses", start,
                          plain=True)
        return ast.RefinementSet(op, tuple(items))

    def sub_refinement(self, in_group: bool) -> ast.Refinement:
        cardinality = self.cardinality() if self.peek("[") else None
        if self.peek("{"):
            if in_group:
                self.fail("an attribute (attribute groups cannot be nested)")
            self.expect("{")
            body = self.refinement(in_group=True)
            self.expect("}", "'}' or ','")
            return ast.AttributeGroup(body, cardinality)
        if cardinality is None and self.peek("("):
            def nested() -> ast.Refinement:
                self.expect("(")
                inner = self.refinement(in_group=in_group)
                self.expect(")")
                return inner
            return self.attempt(nested, lambda: self.attribute(None))
        return self.attribute(cardinality)

    def cardinality(self) -> ast.Cardinality:
        self.expect("[")
        low = self.integer()
        self.expect("..")
        high = None if self.accept("*") else self.integer()
        self.expect("]")
        if high is not None and high < low:
            self.fail("a cardinality whose maximum is not below its minimum")
        return ast.Cardinality(low, high)

    def integer(self) -> int:
        self.ws()
        m = re.compile(r"[0-9]+").match(self.text, self.pos)
        if not m:
            self.fail("a non-negative integer")
        self.pos = m.end()
        return int(m.group())

    def attribute(self, cardinality: ast.Cardinality | None) -> ast.AttributeConstraint:
        reverse = self.accept_keyword("R") or self.accept_keyword("reverseOf")
        name = self.sub_expression()
        self.ws()
        op_pos = self.pos
        op = self.comparison("a comparison operator ('=', '!=', '<', '<=', '>', '>=')")
        value: ast.Expression | int | float | tuple[ast.TypedSearchTerm, ...] | bool
        if self.accept("#"):
            value = self.number()
        elif self.peek_string():
            self.check_op(op, "strings", op_pos)
            value = self.search_terms()
        elif self.peek_keyword("true") or self.peek_keyword("false"):
            self.check_op(op, "booleans", op_pos)
            value = self.accept_keyword("true") or not self.accept_keyword("false")
        else:
            self.check_op(op, "concept values", op_pos)
            value = self.sub_expression()
        return ast.AttributeConstraint(name, op, value, cardinality, reverse)

    def comparison(self, what: str) -> ast.Comparison:
        for op in _COMPARISONS:
            if self.accept(op):
                return op
        self.fail(what)

    def check_op(self, op: ast.Comparison, what: str, pos: int) -> None:
        if op not in ("=", "!="):
            self.fail(f"'=' or '!=' (operator '{op}' is not defined for {what})", pos)

    def number(self) -> int | float:
        self.ws()
        m = _NUMBER.match(self.text, self.pos)
        if not m:
            self.fail("a number after '#'")
        self.pos = m.end()
        return float(m.group()) if m.group(1) else int(m.group())

    # -- strings ------------------------------------------------------------------------
    def peek_string(self) -> bool:
        if self.peek('"') or self.peek_keyword("match") or self.peek_keyword("wild"):
            return True
        if self.peek("("):
            save = self.pos
            self.pos += 1
            found = self.peek('"') or self.peek_keyword("match") or self.peek_keyword("wild")
            self.pos = save
            return found
        return False

    def quoted(self) -> str:
        self.expect('"', "a string in double quotes")
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif ch == '"':
                return "".join(out)
            else:
                out.append(ch)
        self.fail("'\"' closing the string")

    def search_term(self) -> ast.TypedSearchTerm:
        kind: Literal["match", "wild"] = "match"
        if self.accept_keyword("wild"):
            kind = "wild"
            self.expect(":")
        elif self.accept_keyword("match"):
            self.expect(":")
        return ast.TypedSearchTerm(kind, self.quoted())

    def search_terms(self) -> tuple[ast.TypedSearchTerm, ...]:
        if not self.accept("("):
            return (self.search_term(),)
        terms = [self.search_term()]
        while not self.accept(")"):
            terms.append(self.search_term())
        return tuple(terms)

    def tokens(self, what: str, pattern: str = r"[A-Za-z0-9][A-Za-z0-9_-]*") -> tuple[str, ...]:
        """One token or a parenthesised, whitespace-separated set of tokens."""
        regex = re.compile(pattern)

        def one() -> str:
            self.ws()
            m = regex.match(self.text, self.pos)
            if not m:
                self.fail(what)
            assert m is not None
            self.pos = m.end()
            return m.group()

        if not self.accept("("):
            return (one(),)
        items = [one()]
        while not self.accept(")"):
            items.append(one())
        return tuple(items)

    # -- filters ------------------------------------------------------------------------
    def peek_block(self, kind: str) -> bool:
        """True when a `{{` block of `kind` (D/C/M, or + for history) starts here."""
        if not self.peek("{{"):
            return False
        save = self.pos
        self.pos += 2
        self.ws()
        rest = self.text[self.pos:self.pos + 2]
        self.pos = save
        if kind == "+":
            return rest.startswith("+")
        return (len(rest) == 2 and rest[0].upper() == kind
                and not (rest[1].isalnum() or rest[1] in "_-"))

    def filter_block(self) -> ast.FilterBlock:
        self.expect("{{")
        kind: Literal["D", "C", "M"] = "D"
        letters: tuple[Literal["D", "C", "M"], ...] = ("D", "C", "M")
        for letter in letters:
            if self.accept_keyword(letter):
                kind = letter
                break
        filters = [self.filter(kind)]
        while self.accept(","):
            filters.append(self.filter(kind))
        self.expect("}}", "',' or '}}'")
        return ast.FilterBlock(kind, tuple(filters))

    def filter(self, kind: str) -> ast.Filter:
        self.ws()
        start = self.pos
        raw = self.name("a filter name")
        name = raw.lower()
        allowed = {"D": _DESCRIPTION_FILTERS, "C": _CONCEPT_FILTERS}.get(kind)
        if allowed is not None and name not in allowed:
            self.fail(f"a {'description' if kind == 'D' else 'concept'} filter "
                      f"({', '.join(sorted(allowed))})", start)
        self.ws()
        op_pos = self.pos
        op = self.comparison("a comparison operator")
        if name == "effectivetime":
            return ast.Filter(name, op, self.tokens("a date yyyymmdd in quotes", r'"[0-9]{8}"'))
        if kind == "M" and name not in ("moduleid", "active"):
            return ast.Filter(raw, op, self.member_value(op))
        if op not in ("=", "!="):
            self.fail(f"'=' or '!=' for the filter '{raw}'", op_pos)
        value: ast.FilterValue
        acceptability: tuple[tuple[str, tuple[str, ...]], ...] = ()
        if name in ("moduleid", "typeid", "definitionstatusid"):
            value = self.expression_or_set()
        elif name == "active":
            value = self.boolean()
        elif name == "term":
            value = self.search_terms()
        elif name == "id":
            value = self.tokens("a description id", r"[0-9]{6,18}")
        elif name in ("dialect", "dialectid"):
            value, acceptability = self.dialects(name)
        else:  # language, type, definitionstatus
            value = tuple(t.lower() for t in self.tokens(f"a value for '{raw}'"))
        return ast.Filter(name, op, value, acceptability)

    def boolean(self) -> bool:
        for word, flag in (("true", True), ("false", False), ("1", True), ("0", False)):
            if self.accept_keyword(word):
                return flag
        self.fail("true, false, 1 or 0")

    def member_value(self, op: ast.Comparison) -> ast.FilterValue:
        if self.accept("#"):
            return self.number()
        if self.peek_string():
            return self.search_terms()
        if self.accept_keyword("true"):
            return True
        if self.accept_keyword("false"):
            return False
        return self.expression_or_set()

    def acceptability_set(self) -> tuple[str, ...]:
        self.expect("(")
        out: list[str] = []
        while not self.accept(")"):
            self.ws()
            m = NAME.match(self.text, self.pos)
            if m and m.group().lower() in _ACCEPTABILITY_TOKENS:
                self.pos = m.end()
                out.append(_ACCEPTABILITY_TOKENS[m.group().lower()])
            else:
                out.append(self.concept_ref("accept, prefer, a concept id or ')'").id)
        return tuple(out)

    def dialects(self, name: str) -> tuple[ast.FilterValue,
                                           tuple[tuple[str, tuple[str, ...]], ...]]:
        def item() -> str:
            if name == "dialectid":
                return self.concept_ref().id
            return self.name("a dialect alias such as en-US").lower()

        if name == "dialectid" and not self.peek("("):
            value: ast.FilterValue = self.sub_expression()
            items: list[tuple[str, tuple[str, ...]]] = []
        else:
            items = []
            if self.accept("("):
                while not self.accept(")"):
                    key = item()
                    items.append((key, self.acceptability_set() if self.peek("(") else ()))
            else:
                items.append((item(), ()))
            value = tuple(key for key, _ in items)
        if self.peek("("):
            common = self.acceptability_set()
            items = [(key, common) for key, _ in items] or [("*", common)]
        return value, tuple((k, a) for k, a in items if a)

    def history(self) -> ast.HistorySupplement:
        self.expect("{{")
        self.expect("+")
        self.ws()
        if not self.text[self.pos:self.pos + 7].upper() == "HISTORY":
            self.fail("HISTORY")
        self.pos += 7
        profile: Literal["MIN", "MOD", "MAX"] = "MAX"
        subset: ast.Expression | None = None
        if self.text.startswith("-", self.pos):
            self.pos += 1
            word = self.text[self.pos:self.pos + 3].upper()
            if word not in ("MIN", "MOD", "MAX"):
                self.fail("MIN, MOD or MAX")
            profile = cast(Literal["MIN", "MOD", "MAX"], word)
            self.pos += 3
        elif self.accept("("):
            subset = self.expression()
            self.expect(")")
        self.expect("}}")
        return ast.HistorySupplement(profile, subset)
