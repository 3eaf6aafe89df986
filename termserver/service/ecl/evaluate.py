"""Evaluate a parsed ECL expression against an `EclGraph`.

    evaluate("< 64572001 : 363698007 = << 10200004", graph) -> set of concept ids

Semantics follow the ECL 2.2 specification: hierarchy operators over active is-a links;
`:` refinements count matching relationships per concept (default cardinality [1..*],
`[0..n]` admits concepts without the attribute); in `{ }` groups all constraints must hold
in one role group (group 0 relationships count as one group each); `R` counts the sources
pointing at a concept; `.` yields attribute values. A work budget (`max_work`, the number of
concept ids and relationship rows handled) raises TooCostly when exceeded, and so does the
request's deadline (service/deadline), checked as work is charged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from termserver.errors import TooCostly
from termserver.service import deadline
from termserver.service.ecl import ast
from termserver.service.ecl.filters import (
    DescriptionFilter,
    FilterError,
    concept_predicate,
    member_field,
    member_predicate,
    wants_inactive,
)
from termserver.service.ecl.graph import IS_A, ConcreteValue, EclGraph, Relationship
from termserver.service.ecl.parser import InvalidEcl, parse

T = TypeVar("T")

#: Above this size a set is not passed to the graph as a query restriction (filtered here).
LARGE = 20_000
ROOT = "138875005"
HISTORICAL_ASSOCIATION = "900000000000522004"
SAME_AS, REPLACED_BY = "900000000000527005", "900000000000526001"
POSSIBLY_EQUIVALENT_TO, POSSIBLY_REPLACED_BY = "900000000000523009", "1186921001"
PARTIALLY_EQUIVALENT_TO, WAS_A = "1186924009", "900000000000528000"
HISTORY_PROFILES = {
    "MIN": {SAME_AS},
    "MOD": {SAME_AS, REPLACED_BY, POSSIBLY_EQUIVALENT_TO, POSSIBLY_REPLACED_BY,
            PARTIALLY_EQUIVALENT_TO},
    "MAX": {SAME_AS, REPLACED_BY, POSSIBLY_EQUIVALENT_TO, POSSIBLY_REPLACED_BY,
            PARTIALLY_EQUIVALENT_TO, WAS_A, "900000000000530003", "900000000000525002",
            "900000000000531004", "900000000000524003"},
}


def evaluate(ecl: str | ast.Expression, graph: EclGraph, *, max_work: int | None = None,
             warnings: list[str] | None = None) -> set[str]:
    """The concept ids `ecl` denotes in `graph`; `warnings` collects non-fatal notes
    (e.g. a `|term|` that matches no description of its concept)."""
    text = ecl if isinstance(ecl, str) else ""
    expr = parse(ecl) if isinstance(ecl, str) else ecl
    evaluator = Evaluator(graph, text=text, max_work=max_work)
    result = evaluator.expression(expr)
    if warnings is not None:
        warnings.extend(evaluator.warnings)
    return result


def matches(ecl: str | ast.Expression, code: str, graph: EclGraph, *,
            max_work: int | None = None) -> bool:
    """Whether `code` is in the set `ecl` denotes, without expanding hierarchy operators
    on a single focus concept (so `<< 404684003` costs one ancestor lookup)."""
    text = ecl if isinstance(ecl, str) else ""
    expr = parse(ecl) if isinstance(ecl, str) else ecl
    return Evaluator(graph, text=text, max_work=max_work).contains(expr, code)


@dataclass
class _Attr:
    """A resolved attribute constraint: type ids (None = any), op and value."""

    types: set[str] | None
    constraint: ast.AttributeConstraint
    values: set[str] | None = None  # concept values (None = any)


@dataclass
class Evaluator:
    graph: EclGraph
    text: str = ""
    max_work: int | None = None
    work: int = 0
    warnings: list[str] = field(default_factory=list)
    _cache: dict[ast.Expression, set[str]] = field(default_factory=dict)
    _lenient: int = 0  # > 0 while resolving filter values (metadata may be absent)

    # -- bookkeeping --------------------------------------------------------------------
    def error(self, detail: str) -> InvalidEcl:
        return InvalidEcl(self.text, detail)

    def charge(self, amount: int) -> None:
        deadline.check()
        self.work += amount
        if self.max_work is not None and self.work > self.max_work:
            raise TooCostly(f"The ECL expression '{self.text}' is too costly to evaluate "
                            f"(more than {self.max_work} concepts and relationships)",
                            message_id="VALUESET_TOO_COSTLY")

    # -- expressions --------------------------------------------------------------------
    def expression(self, expr: ast.Expression) -> set[str]:
        cached = self._cache.get(expr)
        if cached is not None:
            return cached
        if isinstance(expr, ast.SubExpression):
            result = self.sub_expression(expr)
        elif isinstance(expr, ast.Compound):
            result = self.compound(expr)
        elif isinstance(expr, ast.Refined):
            result = self.refinement(expr.refinement, self.expression(expr.focus))
        else:
            result = self.dotted(expr)
        self.charge(len(result))
        self._cache[expr] = result
        return result

    def contains(self, expr: ast.Expression, code: str) -> bool:
        """Membership test with shortcuts for compounds, refinements and hierarchy
        operators on one concept; anything else is evaluated in full."""
        if isinstance(expr, ast.Compound):
            first = self.contains(expr.operands[0], code)
            if expr.op == "and":
                return first and all(self.contains(e, code) for e in expr.operands[1:])
            if expr.op == "or":
                return first or any(self.contains(e, code) for e in expr.operands[1:])
            return first and not self.contains(expr.operands[1], code)
        if isinstance(expr, ast.Refined):
            return (self.contains(expr.focus, code)
                    and bool(self.refinement(expr.refinement, {code})))
        if isinstance(expr, ast.SubExpression) and not expr.filters and expr.history is None:
            focus = expr.focus
            if isinstance(focus, ast.Nested) and expr.operator is None:
                return self.contains(focus.expression, code)
            if isinstance(focus, ast.ConceptRef) and expr.operator not in ("!!>", "!!<"):
                return self.related(expr.operator, self.concept(focus), code)
        return code in self.expression(expr)

    def related(self, op: ast.Operator | None, focus: str, code: str) -> bool:
        """Whether `code` is in `op focus` (focus: one concept)."""
        if code == focus:
            return op in (None, "<<", ">>", "<<!", ">>!")
        if op is None or not self.graph.concept_exists(code):
            return False
        if op in ("<", "<<"):
            return focus in self.graph.ancestors(code)
        if op in ("<!", "<<!"):
            return focus in self.graph.parents(code)
        if op in (">", ">>"):
            return focus in self.graph.descendants(code)
        return focus in self.graph.children(code)

    def compound(self, expr: ast.Compound) -> set[str]:
        result = set(self.expression(expr.operands[0]))
        for operand in expr.operands[1:]:
            if expr.op == "and":
                if not result:
                    break
                result &= self.expression(operand)
            elif expr.op == "or":
                result |= self.expression(operand)
            else:
                result -= self.expression(operand)
        return result

    def sub_expression(self, expr: ast.SubExpression) -> set[str]:
        focus = self.focus(expr)
        result = self.apply_operator(expr.operator, focus, expr.focus)
        for block in expr.filters:
            if not result:
                break
            if block.kind == "D":
                result = self.description_filter(block, result)
            elif block.kind == "C":
                predicate = self.guard(partial(concept_predicate, block, self.resolve))
                result = {c for c, info in self.graph.concepts(result).items()
                          if predicate(info)}
        if expr.history is not None:
            result = result | self.history(expr.history, result)
        return result

    def focus(self, expr: ast.SubExpression) -> set[str]:
        focus = expr.focus
        if isinstance(focus, ast.ConceptRef):
            return {self.concept(focus)}
        if isinstance(focus, ast.Wildcard):
            return self.wildcard(wants_inactive(expr.filters))
        if isinstance(focus, ast.Nested):
            return self.expression(focus.expression)
        if isinstance(focus, ast.MemberOf):
            return self.member_of(focus, expr.filters)
        raise self.error(f"alternate identifiers ({focus.scheme}#{focus.code}) are not "
                         "supported")

    def wildcard(self, include_inactive: bool) -> set[str]:
        """`*`: the concepts of the hierarchy under the root 138875005 (concepts without
        any is-a link, such as orphaned module concepts in a subset, are not in it);
        with `{{ C active = false }}` inactive concepts too."""
        everything = self.graph.all_concepts(include_inactive=include_inactive)
        self.charge(len(everything))
        if self.graph.concept_exists(ROOT):
            tree = self.graph.descendants(ROOT)
            tree.add(ROOT)
            self.charge(len(tree))
            if include_inactive:
                active = self.graph.all_concepts()
                return {c for c in everything if c in tree or c not in active}
            return everything & tree
        return everything

    def concept(self, ref: ast.ConceptRef) -> str:
        if not self.graph.concept_exists(ref.id):
            if self._lenient:
                return ref.id
            raise self.error(f"Unknown SNOMED CT concept id: {ref.id}")
        if ref.term:
            wanted = " ".join(ref.term.split()).casefold()
            terms = {" ".join(d.term.split()).casefold()
                     for d in self.graph.descriptions({ref.id})}
            if terms and wanted not in terms:
                self.warnings.append(f"The term '{ref.term}' does not match any description "
                                     f"of the concept {ref.id}")
        return ref.id

    def apply_operator(self, op: ast.Operator | None, focus: set[str],
                       node: ast.Focus) -> set[str]:
        if op is None:
            return set(focus)
        if isinstance(node, ast.Wildcard) and op in ("<<", ">>", "<<!", ">>!"):
            return set(focus)
        graph = self.graph
        if op in ("!!>", "!!<"):
            step = graph.ancestors if op == "!!>" else graph.descendants
            return {c for c in focus if not (step(c) & focus)}
        closure: Callable[[str], set[str]] = {
            "<": graph.descendants, "<<": graph.descendants, ">": graph.ancestors,
            ">>": graph.ancestors, "<!": graph.children, "<<!": graph.children,
            ">!": graph.parents, ">>!": graph.parents}[op]
        transitive = op in ("<", "<<", ">", ">>")
        result: set[str] = set()
        for code in focus:
            if transitive and code in result:
                continue  # reached from an earlier member: its closure is already in
            found = closure(code)
            self.charge(len(found) + 1)
            result |= found
        if op in ("<<", ">>", "<<!", ">>!"):
            result |= focus
        return result

    def resolve(self, value: ast.FilterValue) -> set[str]:
        """A filter value that denotes concepts: an expression or a `( id id … )` set.
        Concept ids the graph lacks (e.g. metadata of a subset) are kept, not errors."""
        self._lenient += 1
        try:
            if isinstance(value, tuple):
                return {self.concept(v) for v in value if isinstance(v, ast.ConceptRef)}
            if isinstance(value, ast.SubExpression | ast.Compound | ast.Refined | ast.Dotted):
                return self.expression(value)
        finally:
            self._lenient -= 1
        raise self.error(f"'{value}' does not denote concepts")

    def guard(self, build: Callable[[], T]) -> T:
        try:
            return build()
        except FilterError as exc:
            raise self.error(str(exc)) from None

    # -- filters, membership, history ---------------------------------------------------
    def description_filter(self, block: ast.FilterBlock, concepts: set[str]) -> set[str]:
        check = self.guard(partial(DescriptionFilter, block, self.resolve))
        rows = self.graph.descriptions(concepts if len(concepts) <= LARGE else None)
        out: set[str] = set()
        count = 0
        for d in rows:
            count += 1
            if count % 1024 == 0:
                deadline.check()
            if d.concept_id in concepts and d.concept_id not in out and check(d):
                out.add(d.concept_id)
        self.charge(count)
        return out

    def member_of(self, node: ast.MemberOf, blocks: Iterable[ast.FilterBlock]) -> set[str]:
        refsets = self.expression(node.refsets)
        members = [b for b in blocks if b.kind == "M"]
        fields = node.fields or ("referencedComponentId",)
        if not members and fields == ("referencedComponentId",):
            result: set[str] = set()
            for refset in refsets:
                found = self.graph.refset_members(refset)
                self.charge(len(found) + 1)
                result |= found
            return result
        if fields == ("*",) or len(fields) > 1:
            raise self.error("selecting several reference set fields is not supported")
        predicates = [self.guard(partial(member_predicate, b, self.resolve)) for b in members]
        out: set[str] = set()
        for row in self.graph.refset_rows(refsets):
            self.charge(1)
            if all(p(row) for p in predicates):
                value = member_field(row, fields[0])
                if value:
                    out.add(value)
        return out

    def history(self, supplement: ast.HistorySupplement, result: set[str]) -> set[str]:
        if supplement.subset is not None:
            refsets = self.expression(supplement.subset)
        else:
            refsets = set(HISTORY_PROFILES[supplement.profile])
            if supplement.profile == "MAX" and self.graph.concept_exists(
                    HISTORICAL_ASSOCIATION):
                refsets |= self.graph.descendants(HISTORICAL_ASSOCIATION)
        added: set[str] = set()
        for row in self.graph.refset_rows(refsets):
            self.charge(1)
            if row.fields.get("targetComponentId") in result:
                added.add(row.referenced_component_id)
        return added

    # -- refinements --------------------------------------------------------------------
    def refinement(self, ref: ast.Refinement, candidates: set[str]) -> set[str]:
        if not candidates:
            return set()
        if isinstance(ref, ast.RefinementSet):
            if ref.op == "and":
                for item in ref.items:
                    candidates = self.refinement(item, candidates)
                return candidates
            out: set[str] = set()
            for item in ref.items:
                out |= self.refinement(item, candidates - out)
            return out
        if isinstance(ref, ast.AttributeGroup):
            return self.groups(ref, candidates)
        attr = self.resolve_attribute(ref)
        if ref.reverse:
            counts = self.reverse_counts(attr, candidates)
        else:
            counts = Counter()
            for row in self.attribute_rows([attr], candidates):
                if self.row_matches(attr, row):
                    counts[row.source] += 1
        return self.by_cardinality(ref.cardinality, counts, candidates)

    def by_cardinality(self, card: ast.Cardinality | None, counts: Counter[str],
                       candidates: set[str]) -> set[str]:
        low, high = (card.min, card.max) if card else (1, None)
        if low == 0:
            return {c for c in candidates if high is None or counts[c] <= high}
        return {c for c, n in counts.items()
                if c in candidates and n >= low and (high is None or n <= high)}

    def resolve_attribute(self, ref: ast.AttributeConstraint) -> _Attr:
        name = ref.name
        any_type = (isinstance(name, ast.SubExpression) and name.operator is None
                    and isinstance(name.focus, ast.Wildcard) and not name.filters)
        types = None if any_type else self.expression(name)
        values: set[str] | None = None
        if isinstance(ref.value, ast.SubExpression | ast.Compound | ast.Refined | ast.Dotted):
            value = ref.value
            any_value = (isinstance(value, ast.SubExpression) and value.operator is None
                         and isinstance(value.focus, ast.Wildcard) and not value.filters)
            values = None if any_value else self.expression(value)
        return _Attr(types, ref, values)

    def reverse_counts(self, attr: _Attr, candidates: set[str]) -> Counter[str]:
        if not isinstance(attr.constraint.value,
                          ast.SubExpression | ast.Compound | ast.Refined | ast.Dotted):
            raise self.error("the reverse flag needs a concept value")
        sources = attr.values
        rows: list[Relationship] = [r for r in self.graph.relationships(
            sources=sources if sources is not None and len(sources) <= LARGE else None,
            type_ids=attr.types,
            destinations=candidates if len(candidates) <= LARGE else None)
            if r.type_id != IS_A]
        if attr.types is not None and IS_A in attr.types:
            rows += [Relationship(child, IS_A, c) for c in candidates
                     for child in self.graph.children(c)]
        self.charge(len(rows))
        counts: Counter[str] = Counter()
        for row in rows:
            if row.destination in candidates and (sources is None or row.source in sources):
                counts[row.destination] += 1
        return counts

    def attribute_rows(self, attrs: list[_Attr],
                       candidates: set[str]) -> list[Relationship | ConcreteValue]:
        """Relationships and concrete values of `candidates` whose type any of `attrs` names."""
        types: set[str] | None = set()
        for attr in attrs:
            types = None if attr.types is None or types is None else types | attr.types
        concrete = any(not isinstance(a.constraint.value, ast.SubExpression | ast.Compound
                                      | ast.Refined | ast.Dotted) for a in attrs)
        values: set[str] | None = None
        if len(attrs) == 1 and attrs[0].values is not None and \
                attrs[0].constraint.op == "=" and not concrete:
            values = attrs[0].values
        small_sources = len(candidates) <= LARGE and (values is None
                                                      or len(candidates) <= len(values))
        rows: list[Relationship | ConcreteValue] = []
        if not concrete or len(attrs) > 1:
            rows += [r for r in self.graph.relationships(
                sources=candidates if small_sources else None, type_ids=types,
                destinations=values if not small_sources and values is not None
                and len(values) <= LARGE else None) if r.type_id != IS_A]
        if concrete:
            rows += self.graph.concrete_values(
                sources=candidates if len(candidates) <= LARGE else None, type_ids=types)
        if types is not None and IS_A in types:
            rows += [Relationship(c, IS_A, p) for c in candidates for p in self.graph.parents(c)]
        self.charge(len(rows))
        return [r for r in rows if r.source in candidates]

    @staticmethod
    def row_matches(attr: _Attr, row: Relationship | ConcreteValue) -> bool:
        if attr.types is not None and row.type_id not in attr.types:
            return False
        ref = attr.constraint
        if isinstance(row, Relationship):
            if not isinstance(ref.value, ast.SubExpression | ast.Compound | ast.Refined
                              | ast.Dotted):
                return False
            inside = attr.values is None or row.destination in attr.values
            return inside if ref.op == "=" else not inside
        return _concrete_matches(ref, row.value)

    def groups(self, group: ast.AttributeGroup, candidates: set[str]) -> set[str]:
        attrs: list[_Attr] = []
        body = self.compile_group(group.body, attrs)
        per_group: dict[tuple[str, int, int], list[Relationship | ConcreteValue]] = \
            defaultdict(list)
        for i, row in enumerate(self.attribute_rows(attrs, candidates)):
            key = (row.source, row.group, i if row.group == 0 else 0)
            per_group[key].append(row)
        counts: Counter[str] = Counter()
        for (source, _, _), rows in per_group.items():
            if body(rows):
                counts[source] += 1
        return self.by_cardinality(group.cardinality, counts, candidates)

    def compile_group(self, ref: ast.Refinement, attrs: list[_Attr]
                      ) -> Callable[[list[Relationship | ConcreteValue]], bool]:
        """A predicate on the rows of one role group; collects the attributes it reads."""
        if isinstance(ref, ast.RefinementSet):
            parts = [self.compile_group(item, attrs) for item in ref.items]
            if ref.op == "and":
                return lambda rows: all(p(rows) for p in parts)
            return lambda rows: any(p(rows) for p in parts)
        if isinstance(ref, ast.AttributeGroup):
            raise self.error("attribute groups cannot be nested")
        if ref.reverse:
            raise self.error("the reverse flag is not supported inside attribute groups")
        attr = self.resolve_attribute(ref)
        attrs.append(attr)
        low, high = (ref.cardinality.min, ref.cardinality.max) if ref.cardinality else (1, None)

        def check(rows: list[Relationship | ConcreteValue]) -> bool:
            n = sum(1 for row in rows if self.row_matches(attr, row))
            return n >= low and (high is None or n <= high)
        return check

    def dotted(self, expr: ast.Dotted) -> set[str]:
        current = self.expression(expr.focus)
        for name in expr.attributes:
            types = self.expression(name)
            rows = list(self.graph.relationships(
                sources=current if len(current) <= LARGE else None, type_ids=types))
            self.charge(len(rows))
            nxt = {r.destination for r in rows if r.source in current and r.type_id != IS_A}
            if IS_A in types:
                for code in current:
                    nxt |= self.graph.parents(code)
            current = nxt
        return current


def _concrete_matches(ref: ast.AttributeConstraint, actual: int | float | str) -> bool:
    wanted = ref.value
    if isinstance(wanted, bool):
        flag = str(actual).lower() in ("true", "1")
        return (flag == wanted) == (ref.op == "=")
    if isinstance(wanted, int | float):
        if isinstance(actual, str):
            try:
                actual = float(actual.lstrip("#"))
            except ValueError:
                return False
        ops: dict[str, Callable[[float, float], bool]] = {
            "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
        return ops[ref.op](float(actual), float(wanted))
    if isinstance(wanted, tuple):
        from termserver.service.ecl.filters import term_matches
        text = str(actual).strip('"')
        hit = any(isinstance(t, ast.TypedSearchTerm) and term_matches(text, t) for t in wanted)
        return hit if ref.op == "=" else not hit
    return False
