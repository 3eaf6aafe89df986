"""Named reads over the hierarchy, attribute-relationship and reference-set tables (schema 3).

Mixed into `Store`. They serve SNOMED CT (ECL evaluation, implicit value sets and concept maps)
but know nothing SNOMED-specific: codes are text, sets of codes go in as chunked IN lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select

from termserver.store.fresh import fresh_pk
from termserver.store.schema import (
    concept,
    concept_parent,
    concept_property,
    concept_relationship,
    designation,
    refset_member,
)

#: Codes per IN list (SQLite allows 32,766 variables; stay far below).
CHUNK = 900

#: One active reference set member: (refset id, referenced component, target, attributes).
MemberRow = tuple[str, str, str | None, dict[str, str]]
#: One attribute relationship: (source, type, destination or None, group, concrete value).
RelationshipRow = tuple[str, str, str | None, int, str | None]
#: One designation: (code, language, use code, value).
DesignationRow = tuple[str, str | None, str | None, str]


def _chunks(codes: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(codes))
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


class GraphReads:
    """Reads by code system pk; `engine` is the Store's. A read that finds nothing is read
    again with the code system's current pk if another process replaced it (store/fresh.py)."""

    engine: Engine

    def _successor(self, cs_pk: int) -> int | None:
        """The pk the code system read as `cs_pk` has now, if it changed (see Store)."""
        return None

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A connection whose reads all see one snapshot, for reads of several statements
        (chunks) that must not straddle another process's commit: PostgreSQL REPEATABLE
        READ, SQLite a deferred read transaction. Ended (rolled back) on return."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            else:
                conn.exec_driver_sql("BEGIN")
            yield conn

    @fresh_pk
    def concept_codes(self, cs_pk: int, *, include_inactive: bool = False) -> set[str]:
        """Every code of the code system (only the active ones unless asked)."""
        stmt = select(concept.c.code).where(concept.c.cs_pk == cs_pk)
        if not include_inactive:
            stmt = stmt.where(concept.c.inactive.is_(False))
        with self.engine.connect() as conn:
            return {str(c) for c in conn.execute(stmt).scalars()}

    @fresh_pk
    def abstract_codes(self, cs_pk: int) -> frozenset[str]:
        """The codes of the code system that are not selectable (e.g. ICD-10-GM's non-terminal
        codes, blocks and chapters)."""
        stmt = select(concept.c.code).where(concept.c.cs_pk == cs_pk,
                                            concept.c.abstract.is_(True))
        with self.engine.connect() as conn:
            return frozenset(str(c) for c in conn.execute(stmt).scalars())

    @fresh_pk
    def existing_codes(self, cs_pk: int, codes: Iterable[str]) -> dict[str, bool]:
        """code → inactive, for those of `codes` that exist."""
        out: dict[str, bool] = {}
        with self._snapshot() as conn:
            for chunk in _chunks(codes):
                for code, inactive in conn.execute(select(concept.c.code, concept.c.inactive)
                                                   .where(concept.c.cs_pk == cs_pk,
                                                          concept.c.code.in_(chunk))):
                    out[str(code)] = bool(inactive)
        return out

    @fresh_pk
    def property_values(self, cs_pk: int, codes: Iterable[str], names: Iterable[str]
                        ) -> dict[str, dict[str, str]]:
        """code → {property: value} for the named properties of `codes` (first value wins)."""
        wanted = list(names)
        out: dict[str, dict[str, str]] = {}
        p = concept_property
        with self._snapshot() as conn:
            for chunk in _chunks(codes):
                for code, prop, value in conn.execute(
                        select(p.c.code, p.c.property, p.c.value)
                        .where(p.c.cs_pk == cs_pk, p.c.code.in_(chunk),
                               p.c.property.in_(wanted))):
                    out.setdefault(str(code), {}).setdefault(str(prop), str(value))
        return out

    @fresh_pk
    def parent_links(self, cs_pk: int, codes: Iterable[str], *, up: bool) -> dict[str, set[str]]:
        """code → its parents (`up`) or its children, for each of `codes`."""
        link = concept_parent
        here, there = (link.c.child, link.c.parent) if up else (link.c.parent, link.c.child)
        out: dict[str, set[str]] = {}
        with self._snapshot() as conn:
            for chunk in _chunks(codes):
                for a, b in conn.execute(select(here, there).where(link.c.cs_pk == cs_pk,
                                                                  here.in_(chunk))):
                    out.setdefault(str(a), set()).add(str(b))
        return out

    @fresh_pk
    def refset_members(self, cs_pk: int, refset_id: str) -> set[str]:
        """Referenced components of the refset's active members."""
        m = refset_member
        with self.engine.connect() as conn:
            return {str(c) for c in conn.execute(
                select(m.c.referenced_component_id).where(m.c.cs_pk == cs_pk,
                                                          m.c.refset_id == refset_id)).scalars()}

    @fresh_pk
    def refset_rows(self, cs_pk: int, refset_ids: Iterable[str],
                    components: Iterable[str] | None = None) -> list[MemberRow]:
        """Member rows of the refsets, optionally only for some referenced components."""
        m = refset_member
        ids = sorted(set(refset_ids))
        stmt = select(m.c.refset_id, m.c.referenced_component_id, m.c.target, m.c.attributes
                      ).where(m.c.cs_pk == cs_pk, m.c.refset_id.in_(ids))
        out: list[MemberRow] = []
        with self._snapshot() as conn:
            if components is None:
                rows: Iterable[Any] = conn.execute(stmt).all()
            else:
                rows = [r for chunk in _chunks(components) for r in conn.execute(
                    stmt.where(m.c.referenced_component_id.in_(chunk))).all()]
            for r in rows:
                out.append((str(r.refset_id), str(r.referenced_component_id), r.target,
                            orjson.loads(r.attributes) if r.attributes else {}))
        return out

    @fresh_pk
    def refsets_with_members(self, cs_pk: int) -> set[str]:
        """Ids of every refset that has at least one active member."""
        m = refset_member
        with self.engine.connect() as conn:
            return {str(r) for r in conn.execute(
                select(m.c.refset_id).where(m.c.cs_pk == cs_pk).distinct()).scalars()}

    @fresh_pk
    def memberships(self, cs_pk: int, code: str) -> list[MemberRow]:
        """Every active member row whose referenced component is `code` (e.g. the historical
        associations of an inactive concept)."""
        m = refset_member
        with self.engine.connect() as conn:
            rows = conn.execute(select(m.c.refset_id, m.c.referenced_component_id, m.c.target,
                                       m.c.attributes)
                                .where(m.c.cs_pk == cs_pk,
                                       m.c.referenced_component_id == code)).all()
        return [(str(r.refset_id), str(r.referenced_component_id), r.target,
                 orjson.loads(r.attributes) if r.attributes else {}) for r in rows]

    @fresh_pk
    def relationships(self, cs_pk: int, *, sources: Iterable[str] | None = None,
                      type_ids: Iterable[str] | None = None,
                      destinations: Iterable[str] | None = None) -> list[RelationshipRow]:
        """Attribute relationships matching every restriction given (None: no restriction).
        The smallest restriction drives the query; the others filter in memory."""
        r = concept_relationship
        given = [(col, set(v)) for col, v in ((r.c.source, sources), (r.c.type_id, type_ids),
                                              (r.c.destination, destinations)) if v is not None]
        if any(not v for _, v in given):
            return []
        given.sort(key=lambda cv: len(cv[1]))
        cols = (r.c.source, r.c.type_id, r.c.destination, r.c.grp, r.c.value)
        out: list[RelationshipRow] = []
        with self._snapshot() as conn:
            if given:
                col, values = given[0]
                rows: list[Any] = [row for chunk in _chunks(values) for row in conn.execute(
                    select(*cols).where(r.c.cs_pk == cs_pk, col.in_(chunk))).all()]
            else:
                rows = list(conn.execute(select(*cols).where(r.c.cs_pk == cs_pk)).all())
        rest = given[1:]
        index = {"source": 0, "type_id": 1, "destination": 2}
        checks = [(index[col.name], values) for col, values in rest]
        for row in rows:
            if all(row[i] in values for i, values in checks):
                out.append((str(row[0]), str(row[1]),
                            None if row[2] is None else str(row[2]), int(row[3]), row[4]))
        return out

    @fresh_pk
    def designation_rows(self, cs_pk: int, codes: Iterable[str] | None = None
                         ) -> list[DesignationRow]:
        """Designations of `codes` (every concept's when None), in stored order."""
        d = designation
        stmt = select(d.c.code, d.c.language, d.c.use_code, d.c.value).where(d.c.cs_pk == cs_pk)
        with self._snapshot() as conn:
            if codes is None:
                rows: list[Any] = list(conn.execute(stmt).all())
            else:
                rows = [row for chunk in _chunks(codes)
                        for row in conn.execute(stmt.where(d.c.code.in_(chunk))).all()]
        return [(str(r[0]), r[1], r[2], str(r[3])) for r in rows]
