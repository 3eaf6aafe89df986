"""Pages of big value sets read in order from the database (the paged `$expand` path).

A `Selection` is one include of a stored code system: an optional driving hierarchy filter
(`below`: the descendants of a code, with or without it) and further `Cond`itions, all
evaluated in SQL. `page_codes` reads one page of codes in the order the in-memory expansion
uses (load order, or code order when a hierarchy or code-set filter selects the codes);
`count_codes` counts up to a cap; `details` reads the page's concepts with everything their
`contains` entries need, in one query.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from termserver.model import Concept, ConceptDetail, ConceptProperty, Designation
from termserver.store import inlist
from termserver.store.page_reads import query as _query

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Condition kinds (`Cond.kind`): on the concept's code, its properties or its display.
KINDS = frozenset((
    "below", "below-self", "not-below-self", "code-in", "code-not-in", "child-of",
    "refset", "prop-in", "prop-not-in", "prop-exists", "prop-missing", "display-in"))


@dataclass(frozen=True, slots=True)
class Cond:
    """One SQL condition on a concept: `kind` (KINDS), `name` (an ancestor / parent / refset
    code or a property name) and `values` (codes or property values)."""

    kind: str
    name: str = ""
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Selection:
    """The concepts of code system `cs_pk` that pass every condition. `by_code`: ordered by
    code (a hierarchy or code-set filter selects them) rather than load order."""

    cs_pk: int
    conds: tuple[Cond, ...] = ()
    active_only: bool = False
    by_code: bool = False


def ensure_indexes(target: Engine | Connection) -> None:
    """Indexes the paged reads need, created idempotently (outside the versioned schema)."""
    sql = "CREATE INDEX IF NOT EXISTS ix_concept_seq ON concept (cs_pk, seq)"
    if isinstance(target, Connection):
        target.exec_driver_sql(sql)
        return
    with target.begin() as conn:
        conn.exec_driver_sql(sql)


def _mark(sqlite: bool, sql: str) -> str:
    return sql if sqlite else sql.replace("?", "%s")


def cond_sql(cond: Cond, col: str, cs_pk: int, sqlite: bool) -> tuple[str, list[Any]]:
    """A WHERE fragment (qmark style) testing the code in column `col`. On PostgreSQL each
    existence test is a scalar subquery, which the planner keeps as a per-row index probe (an
    EXISTS it turns into a semi-join that reads every row of the property or hierarchy before
    the first row of a page)."""
    k, name, values = cond.kind, cond.name, list(cond.values)

    def exists(sub: str) -> str:
        return f"EXISTS (SELECT 1 FROM {sub})" if sqlite else \
            f"((SELECT 1 FROM {sub} LIMIT 1) IS NOT NULL)"

    if k in ("below", "below-self", "not-below-self"):
        sub = exists(f"concept_closure x WHERE x.cs_pk = ? AND x.ancestor = ? AND "
                     f"x.descendant = {col}")
        if k == "below":
            return sub, [cs_pk, name]
        test = f"({col} = ? OR {sub})"
        return (test if k == "below-self" else f"NOT {test}"), [name, cs_pk, name]
    if k in ("code-in", "code-not-in"):
        neg = "NOT " if k == "code-not-in" else ""
        if sqlite:
            return f"{col} {neg}IN (SELECT value FROM json_each(?))", [json.dumps(values)]
        return (f"{neg}({col} = ANY(?))"), [values]
    if k == "child-of":
        return exists(f"concept_parent x WHERE x.cs_pk = ? AND x.child = {col} AND "
                      "x.parent = ?"), [cs_pk, name]
    if k == "refset":
        return exists(f"refset_member x WHERE x.cs_pk = ? AND x.refset_id = ? AND "
                      f"x.referenced_component_id = {col}"), [cs_pk, name]
    if k == "display-in":
        marks = ", ".join("?" * len(values))
        return exists(f"concept x WHERE x.cs_pk = ? AND x.code = {col} AND x.display IN "
                      f"({marks})"), [cs_pk, *values]
    # SQLite would otherwise probe ix_property_value: every row of the property, per concept
    hint = " INDEXED BY ix_property_code" if sqlite else ""
    base = f"concept_property x{hint} WHERE x.cs_pk = ? AND x.code = {col} AND x.property = ?"
    if k in ("prop-exists", "prop-missing"):
        sql = exists(base)
        return (sql if k == "prop-exists" else f"NOT {sql}"), [cs_pk, name]
    marks = ", ".join("?" * len(values))
    sql = exists(base + f" AND (x.value IN ({marks}) OR (x.type = 'Coding' AND "
                        f"x.value_display IN ({marks})))")
    params = [cs_pk, name, *values, *values]
    if k == "prop-in":
        return sql, params
    if k == "prop-not-in":
        return f"NOT {sql}", params
    raise ValueError(f"unknown condition {k}")


def where_sql(sel: Selection, col: str, sqlite: bool, conds: Sequence[Cond] | None = None
              ) -> tuple[str, list[Any]]:
    """`AND …` for the conditions of `sel` (or `conds`) on column `col`."""
    parts: list[str] = []
    params: list[Any] = []
    for cond in sel.conds if conds is None else conds:
        sql, p = cond_sql(cond, col, sel.cs_pk, sqlite)
        parts.append(sql)
        params += p
    return "".join(f" AND {p}" for p in parts), params


def _select(sel: Selection, sqlite: bool) -> tuple[str, list[Any], str]:
    """(SELECT code … in order, params, order column): the members of `sel`. A leading
    `below`/`below-self` condition drives the read from the closure table, in code order."""
    active = " AND NOT c.inactive" if sel.active_only else ""
    lead = sel.conds[0] if sel.conds else None
    if sel.by_code and lead is not None and lead.kind in ("below", "below-self"):
        rest, extra = where_sql(sel, "c.code", sqlite, sel.conds[1:])
        sql = (f"SELECT d.descendant AS code FROM concept_closure d JOIN concept c ON "
               f"c.cs_pk = d.cs_pk AND c.code = d.descendant WHERE d.cs_pk = ? AND "
               f"d.ancestor = ?{active}{rest}")
        params = [sel.cs_pk, lead.name, *extra]
        if lead.kind == "below-self":
            sql = (f"SELECT c.code AS code FROM concept c WHERE c.cs_pk = ? AND c.code = ?"
                   f"{active}{rest} UNION ALL {sql}")
            params = [sel.cs_pk, lead.name, *extra, *params]
        return sql, params, "code"
    rest, params = where_sql(sel, "c.code", sqlite)
    order = "code" if sel.by_code else "seq"
    sql = f"SELECT c.code AS code, c.seq AS seq FROM concept c WHERE c.cs_pk = ?{active}{rest}"
    return sql, [sel.cs_pk, *params], order


def page_codes(store: Store, sel: Selection, offset: int, limit: int) -> list[str]:
    """The codes of one page of `sel`, in expansion order."""
    sqlite = store.dialect == "sqlite"
    sql, params, order = _select(sel, sqlite)
    sql = f"SELECT code FROM ({sql}) m ORDER BY {order} LIMIT ? OFFSET ?" if order == "seq" \
        else f"{sql} ORDER BY 1 LIMIT ? OFFSET ?"
    rows = _query(store, _mark(sqlite, sql), (*params, limit, offset))
    return [str(r[0]) for r in rows]


def count_codes(store: Store, sel: Selection, cap: int) -> int:
    """How many concepts `sel` holds, counting at most `cap`."""
    sqlite = store.dialect == "sqlite"
    sql, params, _ = _select(sel, sqlite)
    rows = _query(store, _mark(sqlite, f"SELECT COUNT(*) FROM ({sql} LIMIT ?) m"),
                            (*params, cap))
    return int(rows[0][0])


#: Row kinds of the details query (as read.py's _DETAIL_SQL, keyed by code): the concept,
#: its designations, its properties. Parents and children are not read: no entry shows them.
_CONCEPT = ("SELECT 0, code, code, display, definition, CAST(NULL AS TEXT), "
            "CAST(NULL AS TEXT), CASE WHEN inactive THEN 1 ELSE 0 END, CASE WHEN abstract "
            "THEN 1 ELSE 0 END FROM concept WHERE cs_pk = ? AND code {m}")
_DESIGNATIONS = ("SELECT 1, code, language, use_system, use_code, use_display, value, NULL, "
                 "NULL FROM designation WHERE cs_pk = ? AND code {m}")
_PROPERTIES = ("SELECT 2, code, property, type, value, value_system, value_display, NULL, "
               "NULL FROM concept_property{hint} WHERE cs_pk = ? AND code {m}")


def details(store: Store, cs_pk: int, codes: Sequence[str], *, designations: bool = True,
            properties: Collection[str] | None = None) -> dict[str, ConceptDetail]:
    """The concepts `codes` with their designations (unless `designations` is false) and
    properties (only those named in `properties`, when given), in one query; parents and
    children are left empty."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    sqlite = store.dialect == "sqlite"
    values: list[Any]
    if sqlite:  # an IN list in few statement texts, whatever the number of codes
        codes = inlist.padded(codes)
        marks, values = f"IN ({inlist.marks(len(codes))})", list(codes)
    else:  # one array parameter: one statement text, parsed and prepared once
        marks, values = "= ANY(?)", [list(codes)]
    arms = [_CONCEPT.format(m=marks)]
    params: list[Any] = [cs_pk, *values]
    if designations:
        arms.append(_DESIGNATIONS.format(m=marks))
        params += [cs_pk, *values]
    others = None if properties is None else [p for p in properties if p != "status"]
    if others is not None and len(others) < len(properties or ()):  # the partial index
        hint = " INDEXED BY ix_property_status" if sqlite else ""
        arms.append(_PROPERTIES.format(m=marks, hint=hint) + " AND property = 'status'")
        params += [cs_pk, *values]
    if others is None or others:
        named = "" if others is None else f" AND property IN ({', '.join('?' * len(others))})"
        # SQLite: by code, in stored order, also when named (not by ix_property_value)
        hint = " INDEXED BY ix_property_code" if sqlite else ""
        arms.append(_PROPERTIES.format(m=marks, hint=hint) + named)
        params += [cs_pk, *values, *(others or ())]
    rows = _query(store, _mark(sqlite, " UNION ALL ".join(arms)), tuple(params))
    found: dict[str, Concept] = {}
    desigs: dict[str, list[Designation]] = {}
    props: dict[str, list[ConceptProperty]] = {}
    for kind, code, a, b, c, d, e, inactive, abstract in rows:
        if kind == 0:
            found[code] = Concept(a, b, c, bool(inactive), bool(abstract))
        elif kind == 1:
            desigs.setdefault(code, []).append(Designation(code, e, a, b, c, d))
        else:
            props.setdefault(code, []).append(ConceptProperty(code, a, c, b, d, e))
    return {code: ConceptDetail(con, tuple(desigs.get(code, ())), tuple(props.get(code, ())))
            for code, con in found.items()}
