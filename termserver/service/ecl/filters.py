"""ECL filter blocks: `{{ D … }}` description, `{{ C … }}` concept, `{{ M … }}` member filters,
and search-term matching (`match:` word prefixes, `wild:` globs)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from termserver.service.ecl import ast
from termserver.service.ecl.graph import (
    DEFINED,
    DEFINITION,
    FSN,
    PRIMITIVE,
    SYNONYM,
    ConceptInfo,
    Description,
    RefsetMember,
)

#: Dialect aliases (ECL 2.x appendix) → language reference set ids.
DIALECTS: dict[str, str] = {
    "en-us": "900000000000509007", "en-gb": "900000000000508004",
    "en-au": "32570271000036106", "en-nz": "281000210109", "en-ie": "21000220103",
    "en-ca": "19491000087109", "fr-ca": "20581000087109", "es": "448879004",
    "nl-nl": "31000146106", "sv-se": "46011000052107", "da-dk": "554461000005103",
    "de-ch": "2041000195100", "fr-ch": "2021000195106", "it-ch": "2031000195108",
    "en-int-gmdn": "608771002", "no": "61000202103", "et-ee": "71000181105",
}
_TYPE_TOKENS = {"syn": SYNONYM, "fsn": FSN, "def": DEFINITION}
_STATUS_TOKENS = {"primitive": PRIMITIVE, "defined": DEFINED}
_WORD = re.compile(r"[^\W_]+")

#: Resolves a filter value (expression or concept set) to a set of concept ids.
Resolver = Callable[[ast.FilterValue], set[str]]


class FilterError(ValueError):
    """A filter that cannot be evaluated (e.g. an unknown dialect alias)."""


# -- search terms -------------------------------------------------------------------
@lru_cache(maxsize=1024)
def _wild_parts(pattern: str) -> tuple[tuple[re.Pattern[str], int], ...]:
    """The literal pieces between the `*`s (a run of `*` counts as one), each as a
    case-insensitive literal pattern and its length; an empty first/last piece means the
    glob starts/ends with `*`."""
    pieces = pattern.split("*")
    if len(pieces) > 2:
        pieces = [pieces[0], *(p for p in pieces[1:-1] if p), pieces[-1]]
    return tuple((re.compile(re.escape(p), re.IGNORECASE), len(p)) for p in pieces)


def wild_matches(term: str, pattern: str) -> bool:
    """Whether the whole `term` matches the `*` glob `pattern` (case-insensitive).

    No backtracking: the first piece must start the term and the last must end it; each
    piece in between takes its leftmost place after the previous one (the greedy glob match,
    exact when `*` is the only wildcard). A literal piece matches exactly as many characters
    as it has, so the cost is at most len(term) x len(pattern)."""
    parts = _wild_parts(pattern)
    if len(parts) == 1:
        return parts[0][0].fullmatch(term) is not None
    (first, _), *middle, (last, last_length) = parts
    head = first.match(term)
    tail = len(term) - last_length
    if head is None or tail < head.end():
        return False
    pos = head.end()
    for piece, _ in middle:
        found = piece.search(term, pos, tail)
        if found is None:
            return False
        pos = found.end()
    return last.fullmatch(term, tail) is not None


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def term_matches(term: str, search: ast.TypedSearchTerm) -> bool:
    """`match`: every word of the search text is a prefix of some word of the term
    (case-insensitive, any order); `wild`: the whole term matches the `*` glob."""
    if search.kind == "wild":
        return wild_matches(term, search.text)
    words = _words(term)
    return all(any(w.startswith(s) for w in words) for s in _words(search.text))


def _any_term(term: str, value: ast.FilterValue) -> bool:
    assert isinstance(value, tuple)
    return any(isinstance(s, ast.TypedSearchTerm) and term_matches(term, s) for s in value)


# -- helpers --------------------------------------------------------------------------
def _compare(left: str | float, op: ast.Comparison, right: str | float) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if isinstance(left, str) != isinstance(right, str):
        return False
    if op == "<":
        return left < right  # type: ignore[operator]
    if op == "<=":
        return left <= right  # type: ignore[operator]
    if op == ">":
        return left > right  # type: ignore[operator]
    return left >= right  # type: ignore[operator]


def _in(value: str, options: Iterable[str], op: ast.Comparison) -> bool:
    found = value in options
    return found if op == "=" else not found


def _times(value: ast.FilterValue) -> tuple[str, ...]:
    assert isinstance(value, tuple)
    return tuple(str(v).strip('"') for v in value)


def _time_ok(actual: str, f: ast.Filter) -> bool:
    times = _times(f.value)
    if f.op == "!=":
        return actual not in times
    return any(_compare(actual, f.op, t) for t in times)


def _tokens(value: ast.FilterValue, table: dict[str, str], what: str) -> set[str]:
    assert isinstance(value, tuple)
    out: set[str] = set()
    for token in value:
        key = str(token).lower()
        if key not in table:
            raise FilterError(f"unknown {what} '{token}' (expected one of "
                              f"{', '.join(sorted(table))})")
        out.add(table[key])
    return out


# -- description filters ----------------------------------------------------------------
class DescriptionFilter:
    """One `{{ D … }}` block compiled into a predicate on descriptions."""

    def __init__(self, block: ast.FilterBlock, resolve: Resolver) -> None:
        self.checks: list[Callable[[Description], bool]] = [
            self._compile(f, resolve) for f in block.filters]

    def __call__(self, d: Description) -> bool:
        return all(check(d) for check in self.checks)

    @staticmethod
    def _compile(f: ast.Filter, resolve: Resolver) -> Callable[[Description], bool]:
        op, value = f.op, f.value
        if f.name == "term":
            if op == "=":
                return lambda d: _any_term(d.term, value)
            return lambda d: not _any_term(d.term, value)
        if f.name == "language":
            langs = {str(v).lower() for v in value} if isinstance(value, tuple) else set()
            return lambda d: _in(d.language_code.lower(), langs, op)
        if f.name in ("type", "typeid"):
            types = (_tokens(value, _TYPE_TOKENS, "description type") if f.name == "type"
                     else resolve(value))
            return lambda d: _in(d.type_id, types, op)
        if f.name in ("moduleid",):
            modules = resolve(value)
            return lambda d: _in(d.module_id, modules, op)
        if f.name == "effectivetime":
            return lambda d: _time_ok(d.effective_time, f)
        if f.name == "active":
            return lambda d: (d.active == value) == (op == "=")
        if f.name == "id":
            ids = {str(v) for v in value} if isinstance(value, tuple) else set()
            return lambda d: _in(d.id, ids, op)
        return _dialect_check(f, resolve)


def _dialect_check(f: ast.Filter, resolve: Resolver) -> Callable[[Description], bool]:
    if f.name == "dialect":
        assert isinstance(f.value, tuple)
        refsets: dict[str, str] = {}
        for alias in f.value:
            key = str(alias).lower()
            if key not in DIALECTS:
                raise FilterError(f"unknown dialect alias '{alias}'")
            refsets[key] = DIALECTS[key]
    else:
        refsets = {r: r for r in resolve(f.value)}
    wanted: dict[str, tuple[str, ...]] = {}
    for key, refset in refsets.items():
        wanted[refset] = dict(f.acceptability).get(key, dict(f.acceptability).get("*", ()))

    def check(d: Description) -> bool:
        hit = any(refset in d.acceptability
                  and (not accept or d.acceptability[refset] in accept)
                  for refset, accept in wanted.items())
        return hit if f.op == "=" else not hit
    return check


# -- concept filters --------------------------------------------------------------------
def concept_predicate(block: ast.FilterBlock,
                      resolve: Resolver) -> Callable[[ConceptInfo], bool]:
    """One `{{ C … }}` block compiled into a predicate on concept rows."""
    checks = [_concept_check(f, resolve) for f in block.filters]
    return lambda c: all(check(c) for check in checks)


def _concept_check(f: ast.Filter, resolve: Resolver) -> Callable[[ConceptInfo], bool]:
    op, value = f.op, f.value
    if f.name == "active":
        return lambda c: (c.active == value) == (op == "=")
    if f.name == "effectivetime":
        return lambda c: _time_ok(c.effective_time, f)
    if f.name == "moduleid":
        modules = resolve(value)
        return lambda c: _in(c.module_id, modules, op)
    statuses = (_tokens(value, _STATUS_TOKENS, "definition status")
                if f.name == "definitionstatus" else resolve(value))
    return lambda c: _in(c.definition_status_id, statuses, op)


def wants_inactive(blocks: Iterable[ast.FilterBlock]) -> bool:
    """True when a concept filter asks for inactive concepts (`active = false`)."""
    return any(b.kind == "C" and f.name == "active" and (f.value is False) == (f.op == "=")
               for b in blocks for f in b.filters)


# -- member filters ---------------------------------------------------------------------
def member_field(row: RefsetMember, name: str) -> str | None:
    key = name.lower()
    if key == "referencedcomponentid":
        return row.referenced_component_id
    if key == "moduleid":
        return row.module_id
    if key == "effectivetime":
        return row.effective_time
    if key == "refsetid":
        return row.refset_id
    if key == "id":
        return row.id
    if key == "active":
        return "1"
    for field, value in row.fields.items():
        if field.lower() == key:
            return value
    return None


def member_predicate(block: ast.FilterBlock,
                     resolve: Resolver) -> Callable[[RefsetMember], bool]:
    """One `{{ M … }}` block compiled into a predicate on refset member rows."""
    checks = [_member_check(f, resolve) for f in block.filters]
    return lambda row: all(check(row) for check in checks)


def _member_check(f: ast.Filter, resolve: Resolver) -> Callable[[RefsetMember], bool]:
    op, value, name = f.op, f.value, f.name

    def get(row: RefsetMember) -> str | None:
        return member_field(row, name)

    if isinstance(value, bool):
        return lambda r: ((get(r) or "").lower() in ("1", "true")) == (value == (op == "="))
    if isinstance(value, int | float) and not isinstance(value, bool):
        def numeric(r: RefsetMember) -> bool:
            raw = get(r)
            try:
                return raw is not None and _compare(float(raw), op, float(value))
            except ValueError:
                return False
        return numeric
    if isinstance(value, tuple) and value and isinstance(value[0], ast.TypedSearchTerm):
        if op == "=":
            return lambda r: _any_term(get(r) or "", value)
        return lambda r: not _any_term(get(r) or "", value)
    if isinstance(value, tuple) and value and isinstance(value[0], str):  # effectiveTime
        return lambda r: _time_ok(get(r) or "", f)
    concepts = resolve(value)
    return lambda r: _in(get(r) or "", concepts, op)
