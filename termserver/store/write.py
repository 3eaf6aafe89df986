"""Writer: the write primitives, used inside one transaction opened by `Store.writer()`.

Policy (which resource replaces which) lives in `termserver.ingest`; this module only knows
how to insert, replace and delete rows quickly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from termserver.model import (
    JSON,
    CodeSystemInfo,
    Concept,
    ConceptProperty,
    Designation,
    MapElement,
    ParentLink,
    Record,
)
from termserver.store.schema import (
    closure_concept,
    closure_relation,
    closure_table,
    code_system,
    concept,
    concept_map_element,
    concept_parent,
    concept_property,
    designation,
    resource,
)

BATCH = 5_000


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
        pk = self.conn.execute(insert(resource).values(
            resource_type=resource_type, id=id, version_id=1, **values)
            .returning(resource.c.pk)).scalar_one()
        return int(pk)

    def replace_resource(self, existing: ExistingResource, data: JSON, origin: str | None) -> int:
        """New content for an existing row: bumps meta.versionId, drops dependent rows."""
        self._drop_dependents(existing.pk)
        self.conn.execute(update(resource).where(resource.c.pk == existing.pk).values(
            version_id=existing.version_id + 1, **_resource_values(data, origin)))
        return existing.version_id + 1

    def delete_resource(self, existing: ExistingResource) -> None:
        self._drop_dependents(existing.pk)
        self.conn.execute(delete(resource).where(resource.c.pk == existing.pk))

    def _drop_dependents(self, resource_pk: int) -> None:
        cs_pk = self.conn.execute(select(code_system.c.pk).where(
            code_system.c.resource_pk == resource_pk)).scalar()
        if cs_pk is not None:
            self._drop_concepts(int(cs_pk))
            self.conn.execute(delete(code_system).where(code_system.c.pk == cs_pk))
        self.conn.execute(delete(concept_map_element).where(
            concept_map_element.c.resource_pk == resource_pk))

    def _drop_concepts(self, cs_pk: int) -> None:
        for table in (concept_parent, concept_property, designation, concept):
            self.conn.execute(delete(table).where(table.c.cs_pk == cs_pk))

    # -- code systems --------------------------------------------------------------------------

    def add_code_system(self, resource_pk: int, info: CodeSystemInfo,
                        records: Iterable[Record]) -> dict[str, int]:
        """Insert the code_system row and stream its records in batches; returns counts."""
        cs_pk = int(self.conn.execute(insert(code_system).values(
            resource_pk=resource_pk, url=info.url, version=info.version, content=info.content,
            hierarchy_meaning=info.hierarchy_meaning, case_sensitive=info.case_sensitive,
            language=info.language, supplements=info.supplements, concept_count=0,
        ).returning(code_system.c.pk)).scalar_one())
        sink = _RecordSink(self.conn, cs_pk)
        for record in records:
            sink.add(record)
        sink.flush()
        self.conn.execute(update(code_system).where(code_system.c.pk == cs_pk).values(
            concept_count=sink.counts["concept"]))
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


class _RecordSink:
    """Buffers records per table and writes them with executemany."""

    def __init__(self, conn: Connection, cs_pk: int) -> None:
        self.conn, self.cs_pk = conn, cs_pk
        self.seq = 0
        self.buffers: dict[str, list[dict[str, Any]]] = {
            "concept": [], "designation": [], "property": [], "parent": []}
        self.counts = dict.fromkeys(self.buffers, 0)
        self.tables = {"concept": concept, "designation": designation,
                       "property": concept_property, "parent": concept_parent}

    def add(self, r: Record) -> None:
        cs = self.cs_pk
        if isinstance(r, Concept):
            self.seq += 1
            kind, row = "concept", {
                "cs_pk": cs, "code": r.code, "display": r.display, "definition": r.definition,
                "inactive": r.inactive, "abstract": r.abstract, "seq": self.seq}
        elif isinstance(r, Designation):
            kind, row = "designation", {
                "cs_pk": cs, "code": r.code, "language": r.language, "use_system": r.use_system,
                "use_code": r.use_code, "use_display": r.use_display, "value": r.value}
        elif isinstance(r, ConceptProperty):
            kind, row = "property", {
                "cs_pk": cs, "code": r.code, "property": r.property, "type": r.type,
                "value": r.value, "value_system": r.value_system,
                "value_display": r.value_display}
        elif isinstance(r, ParentLink):
            kind, row = "parent", {"cs_pk": cs, "child": r.child, "parent": r.parent}
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
            self.conn.execute(insert(self.tables[kind]), buf)
            self.counts[kind] += len(buf)
            buf.clear()


def _resource_values(data: JSON, origin: str | None) -> dict[str, Any]:
    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value not in (None, "") else None

    return {"url": text("url"), "version": text("version"), "name": text("name"),
            "title": text("title"), "status": text("status"), "last_updated": now(),
            "origin": origin, "json": dumps(data)}
