"""Store: open, migrate and query. Reads use SQLAlchemy Core; hot paths use cached statements."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine, Row, and_, bindparam, func, select
from sqlalchemy.exc import OperationalError

from termserver.errors import NotFound, SchemaError
from termserver.model import (
    JSON,
    Concept,
    ConceptDetail,
    ConceptProperty,
    Designation,
    ResourceSummary,
    SearchQuery,
    StoredCodeSystem,
    StoredResource,
    content_rank,
)
from termserver.store import migrations
from termserver.store.engine import open_engine
from termserver.store.schema import (
    code_system,
    concept,
    concept_parent,
    concept_property,
    designation,
    resource,
)
from termserver.store.write import Writer


def version_key(version: str | None) -> tuple[Any, ...]:
    """Sort key for code system versions: numeric parts numerically ("2025" > "2024",
    "1.10" > "1.9"), no version lowest. Deterministic for any pair of strings."""
    if version is None:
        return (0,)
    parts = re.split(r"(\d+)", version)
    return (1, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


class Store:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = open_engine(url)
        self.dialect = self.engine.dialect.name
        if migrate:
            try:
                migrations.migrate(self.engine)
            except OperationalError as exc:
                self.engine.dispose()
                raise SchemaError(f"cannot open database {self.display_url}: "
                                  f"{exc.orig or exc}") from None
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        """One transaction: everything written inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield Writer(conn)

    # -- resources ---------------------------------------------------------------------------

    def read_resource(self, resource_type: str, id: str) -> StoredResource:
        with self.engine.connect() as conn:
            row = conn.execute(select(resource).where(
                resource.c.resource_type == resource_type, resource.c.id == id)).first()
        if row is None:
            raise NotFound(f"{resource_type}/{id} is not known")
        return _stored(row)

    def search(self, query: SearchQuery, *, with_json: bool = True
               ) -> tuple[int, list[StoredResource]]:
        """Resources matching `query` (exact url/version/status/_id, name/title prefix,
        case-insensitive, as FHIR string search does), ordered by url, version, id."""
        cond = [resource.c.resource_type == query.resource_type]
        for col, value in ((resource.c.id, query.id), (resource.c.url, query.url),
                           (resource.c.version, query.version),
                           (resource.c.status, query.status)):
            if value is not None:
                cond.append(col == value)
        for col, value in ((resource.c.name, query.name), (resource.c.title, query.title)):
            if value is not None:
                cond.append(func.lower(col).like(_like_prefix(value.lower()), escape="\\"))
        where = and_(*cond)
        cols = list(resource.c) if with_json else [c for c in resource.c if c.name != "json"]
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(resource).where(where)).scalar()
            rows = conn.execute(
                select(*cols).where(where)
                .order_by(resource.c.url, resource.c.version, resource.c.id)
                .limit(query.count).offset(query.offset)).all()
        return int(total or 0), [_stored(r) for r in rows]

    def canonical_exists(self, resource_type: str, url: str, version: str | None) -> str | None:
        """The id of the resource with this canonical url|version, if any."""
        with self.engine.connect() as conn:
            return Writer(conn).find_id(resource_type, url, version)

    # -- code systems --------------------------------------------------------------------------

    def code_systems(self, url: str | None = None) -> list[StoredCodeSystem]:
        stmt = _cs_select()
        if url is not None:
            stmt = stmt.where(code_system.c.url == url)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        found = [_code_system(r) for r in rows]
        return sorted(found, key=lambda cs: (cs.url, version_key(cs.version)))

    def resolve_code_system(self, url: str, version: str | None = None
                            ) -> StoredCodeSystem | None:
        """The code system version a request for `url` (and `version`) means.

        Without a version: the latest version that has real content, so a `not-present` or
        `fragment` stub never shadows loaded content whatever the order of loading.
        """
        candidates = self.code_systems(url)
        if version is not None:
            candidates = [cs for cs in candidates if cs.version == version]
        if not candidates:
            return None
        return max(candidates, key=lambda cs: (content_rank(cs.content),
                                               version_key(cs.version)))

    def concept(self, cs_pk: int, code: str) -> Concept | None:
        with self.engine.connect() as conn:
            row = conn.execute(_concept_stmt(), {"cs": cs_pk, "code": code}).first()
        return None if row is None else _concept(row)

    def concept_detail(self, cs_pk: int, code: str) -> ConceptDetail | None:
        """The concept with designations, properties, parents and children, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(_concept_stmt(), {"cs": cs_pk, "code": code}).first()
            if row is None:
                return None
            desigs = conn.execute(select(designation).where(
                designation.c.cs_pk == cs_pk, designation.c.code == code)).all()
            props = conn.execute(select(concept_property).where(
                concept_property.c.cs_pk == cs_pk, concept_property.c.code == code)).all()
            parents = conn.execute(select(concept_parent.c.parent).where(
                concept_parent.c.cs_pk == cs_pk, concept_parent.c.child == code)).scalars()
            parent_codes = tuple(parents)
            children = conn.execute(select(concept_parent.c.child).where(
                concept_parent.c.cs_pk == cs_pk, concept_parent.c.parent == code)).scalars()
            child_codes = tuple(children)
        return ConceptDetail(
            concept=_concept(row),
            designations=tuple(Designation(code, d.value, d.language, d.use_system, d.use_code,
                                           d.use_display) for d in desigs),
            properties=tuple(ConceptProperty(code, p.property, p.value, p.type, p.value_system,
                                             p.value_display) for p in props),
            parents=parent_codes,
            children=child_codes,
        )

    def code_folded(self, cs_pk: int, code: str) -> str | None:
        """The stored spelling of `code`, compared case-insensitively (first in load order)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(concept.c.code).where(
                concept.c.cs_pk == cs_pk, func.lower(concept.c.code) == code.lower())
                .order_by(concept.c.seq).limit(1)).scalar()
        return None if found is None else str(found)

    def concept_details(self, cs_pk: int) -> Iterator[ConceptDetail]:
        """Every concept of one code system with its details, in load order. Four queries,
        grouped in memory: meant for expansions, which are bounded by the expansion limit."""
        with self.engine.connect() as conn:
            desigs: dict[str, list[Designation]] = {}
            for d in conn.execute(select(designation).where(designation.c.cs_pk == cs_pk)):
                desigs.setdefault(d.code, []).append(Designation(
                    d.code, d.value, d.language, d.use_system, d.use_code, d.use_display))
            props: dict[str, list[ConceptProperty]] = {}
            for p in conn.execute(select(concept_property).where(
                    concept_property.c.cs_pk == cs_pk)):
                props.setdefault(p.code, []).append(ConceptProperty(
                    p.code, p.property, p.value, p.type, p.value_system, p.value_display))
            parents: dict[str, list[str]] = {}
            children: dict[str, list[str]] = {}
            for link in conn.execute(select(concept_parent.c.child, concept_parent.c.parent)
                                     .where(concept_parent.c.cs_pk == cs_pk)):
                parents.setdefault(link.child, []).append(link.parent)
                children.setdefault(link.parent, []).append(link.child)
            rows = conn.execute(select(concept).where(concept.c.cs_pk == cs_pk)
                                .order_by(concept.c.seq)).all()
        for row in rows:
            code = row.code
            yield ConceptDetail(_concept(row), tuple(desigs.get(code, ())),
                                tuple(props.get(code, ())), tuple(parents.get(code, ())),
                                tuple(children.get(code, ())))

    def descendants(self, cs_pk: int, code: str) -> set[str]:
        """All codes below `code` (transitively), with one recursive query."""
        below = select(concept_parent.c.child.label("code")).where(
            concept_parent.c.cs_pk == cs_pk, concept_parent.c.parent == code
        ).cte("below", recursive=True)
        below = below.union(select(concept_parent.c.child).where(
            concept_parent.c.cs_pk == cs_pk, concept_parent.c.parent == below.c.code))
        with self.engine.connect() as conn:
            return {str(c) for c in conn.execute(select(below.c.code)).scalars()}

    def count_rows(self) -> dict[str, int]:
        """Row counts per table, for status output and tests."""
        from termserver.store.schema import metadata

        with self.engine.connect() as conn:
            return {name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                    for name, t in metadata.tables.items() if name != "schema_version"}


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _cs_select() -> Any:
    return select(
        code_system, resource.c.id.label("resource_id"), resource.c.name, resource.c.title,
        resource.c.status,
    ).join(resource, resource.c.pk == code_system.c.resource_pk)


def _concept_stmt() -> Any:
    return select(concept).where(concept.c.cs_pk == bindparam("cs"),
                                 concept.c.code == bindparam("code"))


def _concept(row: Row[Any]) -> Concept:
    return Concept(row.code, row.display, row.definition, bool(row.inactive), bool(row.abstract))


def _code_system(r: Row[Any]) -> StoredCodeSystem:
    return StoredCodeSystem(
        pk=r.pk, resource_id=r.resource_id, url=r.url, version=r.version, name=r.name,
        title=r.title, status=r.status, content=r.content, case_sensitive=r.case_sensitive,
        hierarchy_meaning=r.hierarchy_meaning, language=r.language, supplements=r.supplements,
        concept_count=r.concept_count)


def _stored(row: Row[Any]) -> StoredResource:
    mapping = row._mapping
    summary = ResourceSummary(
        resource_type=row.resource_type, id=row.id, url=row.url, version=row.version,
        name=row.name, title=row.title, status=row.status, version_id=row.version_id,
        last_updated=row.last_updated)
    data: JSON = orjson.loads(mapping["json"]) if "json" in mapping else {}
    return StoredResource(summary=summary, resource=data)
