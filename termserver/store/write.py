"""Writer: the write primitives, used inside one transaction opened by `Store.writer()`.

Policy (which resource replaces which) lives in `termserver.ingest`; this module only knows
how to insert, replace and delete rows quickly.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from termserver.errors import Conflict
from termserver.model import (
    JSON,
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    ConceptRelationship,
    Designation,
    MapElement,
    ParentLink,
    Record,
    RefsetMembership,
)
from termserver.store import pages, search
from termserver.store.schema import (
    closure_concept,
    closure_relation,
    closure_table,
    code_system,
    concept,
    concept_ancestor,
    concept_closure,
    concept_map_element,
    concept_parent,
    concept_property,
    concept_relationship,
    designation,
    refset_member,
    resource,
)

BATCH = 5_000
#: SQLite page cache (KiB) while a code system's rows are written.
LOAD_CACHE_KIB = 393_216


class WriteConflict(Conflict):
    """Another transaction created or changed the same resource meanwhile (409; a PUT with
    If-Match answers 412)."""


@dataclass(frozen=True, slots=True)
class ExistingResource:
    pk: int
    id: str
    version_id: int
    json: str
    origin: str | None
    content: str | None  # CodeSystem.content, None for other types


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


class Writer:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        #: The highest code_system pk this write dropped: SQLite (without AUTOINCREMENT) would
        #: hand it out again, and another process's cache could then read new content under it.
        self._dropped_cs_pk = 0
        #: Code systems whose text index this write built (settled after the commit).
        self.indexed: list[int] = []

    # -- finding -------------------------------------------------------------------------------

    def find_id(self, resource_type: str, url: str, version: str | None) -> str | None:
        found = self.find(resource_type, url, version)
        return found.id if found else None

    def find(self, resource_type: str, url: str, version: str | None) -> ExistingResource | None:
        cond = [resource.c.resource_type == resource_type, resource.c.url == url,
                resource.c.version.is_(None) if version is None else resource.c.version == version]
        return self._one(*cond)

    def get(self, resource_type: str, id: str) -> ExistingResource | None:
        return self._one(resource.c.resource_type == resource_type, resource.c.id == id)

    def _one(self, *cond: Any) -> ExistingResource | None:
        row = self.conn.execute(
            select(resource.c.pk, resource.c.id, resource.c.version_id, resource.c.json,
                   resource.c.origin, code_system.c.content)
            .outerjoin(code_system, code_system.c.resource_pk == resource.c.pk)
            .where(*cond).order_by(resource.c.pk).limit(1)).first()
        if row is None:
            return None
        return ExistingResource(row.pk, row.id, row.version_id, row.json, row.origin, row.content)

    # -- resources -----------------------------------------------------------------------------

    def insert_resource(self, resource_type: str, id: str, data: JSON, origin: str | None) -> int:
        values = _resource_values(data, origin)
        try:
            pk = self.conn.execute(insert(resource).values(
                resource_type=resource_type, id=id, version_id=1, **values)
                .returning(resource.c.pk)).scalar_one()
        except IntegrityError:  # the same id, created by a concurrent transaction
            raise WriteConflict(f"{resource_type}/{id} was created by another request at the "
                                "same time; read it and try again") from None
        return int(pk)

    def replace_resource(self, existing: ExistingResource, data: JSON, origin: str | None) -> int:
        """New content for an existing row: bumps meta.versionId, drops dependent rows.
        The row must still be at `existing.version_id` (the update locks it first): if a
        concurrent transaction changed or deleted it meanwhile, WriteConflict, nothing lost."""
        changed = self.conn.execute(update(resource).where(
            resource.c.pk == existing.pk, resource.c.version_id == existing.version_id).values(
            version_id=existing.version_id + 1, **_resource_values(data, origin))).rowcount
        if changed != 1:
            raise WriteConflict(f"{existing.id} was changed by another request at the same "
                                f"time (version {existing.version_id} is no longer current); "
                                "read it and try again")
        self._drop_dependents(existing.pk)
        return existing.version_id + 1

    def delete_resource(self, existing: ExistingResource) -> None:
        self._drop_dependents(existing.pk)
        self.conn.execute(delete(resource).where(resource.c.pk == existing.pk))

    def _drop_dependents(self, resource_pk: int) -> None:
        cs_pk = self.conn.execute(select(code_system.c.pk).where(
            code_system.c.resource_pk == resource_pk)).scalar()
        if cs_pk is not None:
            self._dropped_cs_pk = max(self._dropped_cs_pk, int(cs_pk))
            self._drop_concepts(int(cs_pk))
            self.conn.execute(delete(code_system).where(code_system.c.pk == cs_pk))
        self.conn.execute(delete(concept_map_element).where(
            concept_map_element.c.resource_pk == resource_pk))

    def _drop_concepts(self, cs_pk: int) -> None:
        for table in (concept_closure, concept_ancestor, concept_relationship, refset_member,
                      concept_parent, concept_property, designation, concept):
            self.conn.execute(delete(table).where(table.c.cs_pk == cs_pk))
        search.drop(self.conn, cs_pk)

    # -- code systems --------------------------------------------------------------------------

    def add_code_system(self, resource_pk: int, info: CodeSystemInfo,
                        records: Iterable[Record]) -> dict[str, int]:
        """Insert the code_system row and stream its records in batches; returns counts."""
        sqlite = self.conn.dialect.name == "sqlite"
        fresh: dict[str, int] = {}
        if sqlite and self._dropped_cs_pk:  # never reuse a key dropped in this write
            top = self.conn.execute(select(func.max(code_system.c.pk))).scalar() or 0
            fresh["pk"] = max(int(top), self._dropped_cs_pk) + 1
        cs_pk = int(self.conn.execute(insert(code_system).values(
            **fresh, resource_pk=resource_pk, url=info.url, version=info.version,
            content=info.content,
            hierarchy_meaning=info.hierarchy_meaning, case_sensitive=info.case_sensitive,
            language=info.language, supplements=info.supplements, concept_count=0,
        ).returning(code_system.c.pk)).scalar_one())
        if sqlite:  # a release writes millions of index entries: keep more pages in memory
            self.conn.exec_driver_sql(f"PRAGMA cache_size=-{LOAD_CACHE_KIB}")
        sink = _RecordSink(self.conn, cs_pk)
        for record in records:
            sink.add(record)
        sink.flush()
        if sqlite:
            self.conn.exec_driver_sql("PRAGMA cache_size=-65536")
        self.conn.execute(update(code_system).where(code_system.c.pk == cs_pk).values(
            concept_count=sink.counts["concept"]))
        if sink.counts["parent"]:
            sink.counts["closure"] = self.build_closure(cs_pk)
        pages.ensure_indexes(self.conn)
        search.build(self.conn, cs_pk)  # the text index of $expand's filter, same transaction
        self.indexed.append(cs_pk)
        return sink.counts

    def build_closure(self, cs_pk: int) -> int:
        """Fill concept_closure and concept_ancestor for one code system from its parent
        links; returns the number of (ancestor, descendant) pairs. See `hierarchy_closure`."""
        for table in (concept_closure, concept_ancestor):
            self.conn.execute(delete(table).where(table.c.cs_pk == cs_pk))
        links = self.conn.execute(select(concept_parent.c.child, concept_parent.c.parent)
                                  .where(concept_parent.c.cs_pk == cs_pk)).all()
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        down, up = hierarchy_closure([(str(c), str(p)) for c, p in links])
        del links
        total = 0
        for sql, pairs in (
                (f"INSERT INTO concept_ancestor (cs_pk, descendant, ancestor) "
                 f"VALUES ({mark}, {mark}, {mark})", up),
                (f"INSERT INTO concept_closure (cs_pk, ancestor, descendant) "
                 f"VALUES ({mark}, {mark}, {mark})", down)):
            batch: list[tuple[int, str, str]] = []
            for a, b in pairs:
                batch.append((cs_pk, a, b))
                if len(batch) >= CLOSURE_BATCH:
                    self.conn.exec_driver_sql(sql, batch)
                    total += len(batch)
                    batch = []
            if batch:
                self.conn.exec_driver_sql(sql, batch)
                total += len(batch)
        return total // 2

    def content_profile(self, resource_pk: int) -> dict[str, int]:
        """What the code system of `resource_pk` holds, for a load report: "concept",
        "designation:{language}" per language ("" for none) and "property:{name}" per
        property, with counts; {} when it holds no code system rows."""
        cs_pk = self.conn.execute(select(code_system.c.pk).where(
            code_system.c.resource_pk == resource_pk)).scalar()
        if cs_pk is None:
            return {}
        out = {"concept": int(self.conn.execute(select(func.count()).select_from(concept)
                                                .where(concept.c.cs_pk == cs_pk)).scalar_one())}
        for language, n in self.conn.execute(
                select(designation.c.language, func.count()).where(designation.c.cs_pk == cs_pk)
                .group_by(designation.c.language)).all():
            out[f"designation:{language or ''}"] = int(n)
        for name, n in self.conn.execute(
                select(concept_property.c.property, func.count())
                .where(concept_property.c.cs_pk == cs_pk)
                .group_by(concept_property.c.property)).all():
            out[f"property:{name}"] = int(n)
        return out

    def extend_code_system(self, resource_pk: int, records: Iterable[Record],
                           replace_languages: Iterable[str] = (),
                           replace_properties: Iterable[str] = ()) -> dict[str, int]:
        """Add designations and properties to the stored code system of `resource_pk` (no
        concepts, no hierarchy). Designations in `replace_languages` and properties named in
        `replace_properties` are dropped first; added ones whose concept does not exist are
        dropped after (counted as "orphan"). Bumps the resource's versionId. Returns counts
        per kind."""
        cs_pk = int(self.conn.execute(select(code_system.c.pk).where(
            code_system.c.resource_pk == resource_pk)).scalar_one())
        languages = list(replace_languages)
        properties = list(replace_properties)
        if languages:
            self.conn.execute(delete(designation).where(
                designation.c.cs_pk == cs_pk, designation.c.language.in_(languages)))
        if properties:
            self.conn.execute(delete(concept_property).where(
                concept_property.c.cs_pk == cs_pk, concept_property.c.property.in_(properties)))
        sink = _RecordSink(self.conn, cs_pk)
        ranked = False  # a property the search index ranks by (search.COMMON)
        for record in records:
            if not isinstance(record, Designation | ConceptProperty):
                raise TypeError(f"an addition adds designations and properties, not {record!r}")
            ranked = ranked or isinstance(record, ConceptProperty) and \
                record.property in search.COMMON_PROPERTIES
            sink.add(record)
        sink.flush()
        known = select(concept.c.code).where(concept.c.cs_pk == cs_pk)
        if languages:
            gone = self.conn.execute(delete(designation).where(
                designation.c.cs_pk == cs_pk, designation.c.language.in_(languages),
                designation.c.code.not_in(known))).rowcount
            sink.counts["orphan"] = int(gone or 0)
        if properties:
            gone = self.conn.execute(delete(concept_property).where(
                concept_property.c.cs_pk == cs_pk, concept_property.c.property.in_(properties),
                concept_property.c.code.not_in(known))).rowcount
            sink.counts["orphan"] = sink.counts.get("orphan", 0) + int(gone or 0)
        self.conn.execute(update(resource).where(resource.c.pk == resource_pk).values(
            version_id=resource.c.version_id + 1, last_updated=now()))
        if sink.counts.get("designation") or languages or ranked:  # searched or ranked by
            search.build(self.conn, cs_pk)
            self.indexed.append(cs_pk)
        return sink.counts

    def add_map_elements(self, resource_pk: int, elements: Iterable[MapElement]) -> int:
        rows = [{
            "resource_pk": resource_pk, "grp": e.group, "source_system": e.source_system,
            "source_version": e.source_version, "source_code": e.source_code,
            "source_display": e.source_display, "target_system": e.target_system,
            "target_version": e.target_version, "target_code": e.target_code,
            "target_display": e.target_display, "relationship": e.relationship,
            "equivalence": e.equivalence, "comment": e.comment,
            "depends_on": dumps(list(e.depends_on)) if e.depends_on else None,
            "product": dumps(list(e.product)) if e.product else None,
        } for e in elements]
        for start in range(0, len(rows), BATCH):
            self.conn.execute(insert(concept_map_element), rows[start:start + BATCH])
        return len(rows)

    # -- $closure ------------------------------------------------------------------------------

    def create_closure_table(self, name: str) -> int:
        pk = self.conn.execute(insert(closure_table).values(name=name, version=0)
                               .returning(closure_table.c.pk)).scalar_one()
        return int(pk)

    def add_closure_version(self, closure_pk: int, version: int,
                            concepts: Iterable[tuple[str, str]],
                            relations: Iterable[tuple[str, str, str]]) -> None:
        """Record new concepts (system, code) and relations (system, specific, general) as
        table version `version`, and make it the current one."""
        rows = [{"closure_pk": closure_pk, "system": s, "code": c, "version": version}
                for s, c in concepts]
        if rows:
            self.conn.execute(insert(closure_concept), rows)
        links = [{"closure_pk": closure_pk, "system": s, "specific": a, "general": b,
                  "version": version} for s, a, b in relations]
        if links:
            self.conn.execute(insert(closure_relation), links)
        self.conn.execute(update(closure_table).where(closure_table.c.pk == closure_pk)
                          .values(version=version))


#: Columns written per record kind (the order of the tuples _RecordSink buffers).
_SINK_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "concept": ("concept", ("cs_pk", "code", "display", "definition", "inactive", "abstract",
                            "seq")),
    "designation": ("designation", ("cs_pk", "code", "language", "use_system", "use_code",
                                    "use_display", "value")),
    "property": ("concept_property", ("cs_pk", "code", "property", "type", "value",
                                      "value_system", "value_display")),
    "parent": ("concept_parent", ("cs_pk", "child", "parent")),
    "relationship": ("concept_relationship", ("cs_pk", "source", "type_id", "destination",
                                              "grp", "value")),
    "refset": ("refset_member", ("cs_pk", "refset_id", "referenced_component_id", "target",
                                 "attributes")),
}


class _RecordSink:
    """Buffers records per table as tuples and writes them with the driver's executemany
    (no per-row statement compilation: release loads write millions of rows)."""

    def __init__(self, conn: Connection, cs_pk: int) -> None:
        self.conn, self.cs_pk = conn, cs_pk
        self.seq = 0
        self.buffers: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in _SINK_COLUMNS}
        self.counts = dict.fromkeys(self.buffers, 0)
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        self.sql = {kind: f"INSERT INTO {table} ({', '.join(cols)}) "
                          f"VALUES ({', '.join([mark] * len(cols))})"
                    for kind, (table, cols) in _SINK_COLUMNS.items()}

    def add(self, r: Record) -> None:
        cs = self.cs_pk
        row: tuple[Any, ...]
        if isinstance(r, Concept):
            self.seq += 1
            kind, row = "concept", (cs, r.code, r.display, r.definition, r.inactive,
                                    r.abstract, self.seq)
        elif isinstance(r, Designation):
            kind, row = "designation", (cs, r.code, r.language, r.use_system, r.use_code,
                                        r.use_display, r.value)
        elif isinstance(r, ConceptProperty):
            kind, row = "property", (cs, r.code, r.property, r.type, r.value, r.value_system,
                                     r.value_display)
        elif isinstance(r, ParentLink):
            kind, row = "parent", (cs, r.child, r.parent)
        elif isinstance(r, ConceptRelationship):
            kind, row = "relationship", (cs, r.source, r.type_id, r.destination, r.group,
                                         r.value)
        elif isinstance(r, RefsetMembership):
            kind, row = "refset", (cs, r.refset_id, r.referenced_component_id, r.target,
                                   dumps(dict(r.attributes)) if r.attributes else None)
        else:  # pragma: no cover - the Record union is closed
            raise TypeError(f"not a record: {r!r}")
        buf = self.buffers[kind]
        buf.append(row)
        if len(buf) >= BATCH:
            self._flush(kind)

    def flush(self) -> None:
        for kind in self.buffers:
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        buf = self.buffers[kind]
        if buf:
            self.conn.exec_driver_sql(self.sql[kind], buf)
            self.counts[kind] += len(buf)
            buf.clear()


def _resource_values(data: JSON, origin: str | None) -> dict[str, Any]:
    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value not in (None, "") else None

    return {"url": text("url"), "version": text("version"), "name": text("name"),
            "title": text("title"), "status": text("status"), "last_updated": now(),
            "origin": origin, "json": dumps(data)}


#: Rows per executemany when writing the closure.
CLOSURE_BATCH = 20_000


def hierarchy_closure(links: Iterable[tuple[str, str]]
                      ) -> tuple[Iterator[tuple[str, str]], Iterator[tuple[str, str]]]:
    """The transitive closure of (child, parent) links as two lazy streams of pairs:
    (ancestor, descendant) sorted by ancestor then descendant, and (descendant, ancestor)
    sorted by descendant then ancestor (codes compared as text), so each B-tree is written in
    key order. Codes become integers numbered in text order; each code's ancestors are one
    compact array (4 bytes a pair) built from its parents' arrays; a cycle is cut where it
    closes."""
    pairs = list(links)
    codes = sorted({c for pair in pairs for c in pair})
    ids = {code: i for i, code in enumerate(codes)}
    parents: list[list[int]] = [[] for _ in codes]
    for child, parent in pairs:
        if child != parent:
            parents[ids[child]].append(ids[parent])
    del pairs, ids
    memo: list[array[int] | None] = [None] * len(codes)
    on_stack = [False] * len(codes)
    for start in range(len(codes)):
        if memo[start] is not None:
            continue
        stack = [start]
        while stack:
            node = stack[-1]
            on_stack[node] = True
            pending = [p for p in parents[node] if memo[p] is None and not on_stack[p]]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            on_stack[node] = False
            if memo[node] is not None:
                continue
            above: set[int] = set()
            for p in parents[node]:
                above.add(p)
                known = memo[p]
                if known is not None:
                    above.update(known)
            above.discard(node)
            memo[node] = array("i", sorted(above))

    def up() -> Iterator[tuple[str, str]]:
        for node, above in enumerate(memo):
            name = codes[node]
            for a in above or ():
                yield name, codes[a]

    def down() -> Iterator[tuple[str, str]]:
        below: list[list[int]] = [[] for _ in codes]
        for node, above in enumerate(memo):
            for a in above or ():
                below[a].append(node)
        for node, nodes in enumerate(below):
            name = codes[node]
            for d in nodes:
                yield name, codes[d]
            nodes.clear()

    return down(), up()
