"""Store: open, migrate and query. Reads use SQLAlchemy Core; hot paths use cached statements.

The hottest reads ($lookup and $validate-code of one code) avoid per-call statement building:
code system resolution is cached (invalidated by every write through `writer()`, and after
`RESOLVE_TTL` seconds for writes made by other processes), and one concept with all its
details is one pre-compiled UNION ALL query on a raw DB-API cursor.

No cache ever makes a negative answer: "no such code system" always comes from a fresh query,
and a read by code system pk that finds nothing checks whether that pk is still the code
system's (another process may have replaced it) and reads again with the new one
(store/fresh.py). Several server processes on one database are a normal deployment.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, Row, and_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import OperationalError

from termserver import metrics
from termserver.aliases import canonical_system
from termserver.errors import NotFound, SchemaError
from termserver.model import (
    JSON,
    UNMAPPED_SOURCE,
    Concept,
    ConceptDetail,
    ConceptProperty,
    Designation,
    MapElement,
    ResourceSummary,
    SearchQuery,
    StoredCodeSystem,
    StoredResource,
    content_rank,
)
from termserver.store import migrations, page_reads, pages, search_postings
from termserver.store.engine import analyze, checkpoint, hot_pragmas, open_engine, read_connection
from termserver.store.fresh import fresh_pk
from termserver.store.graph import GraphReads
from termserver.store.hotsql import (
    CLOSURE_SQL,
    CODE_SYSTEMS_SQL,
    DETAIL_SQL,
    STAMPS_SQL,
    detail,
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
from termserver.store.write import Writer

if TYPE_CHECKING:
    from termserver.store.workbench import WorkbenchStore


def version_key(version: str | None) -> tuple[Any, ...]:
    """Sort key for code system versions: numeric parts numerically ("2025" > "2024",
    "1.10" > "1.9"), no version lowest. Deterministic for any pair of strings."""
    if version is None:
        return (0,)
    parts = re.split(r"(\d+)", version)
    return (1, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p))


class Store(GraphReads):
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine: Engine = open_engine(url)
        self.dialect = self.engine.dialect.name
        #: Bumped by every write through `writer()`; cached resolutions of older ones are stale.
        self.generation = 0
        self._resolved: dict[tuple[str, str | None], tuple[int, float, StoredCodeSystem]] = {}
        #: pk → the (url, version) requests it was resolved for; lets a read that found
        #: nothing under a replaced pk find the new one (`_successor`).
        self._handed: dict[int, frozenset[tuple[str, str | None]]] = {}
        qmark = self.engine.dialect.paramstyle == "qmark"
        self._detail_sql = DETAIL_SQL if qmark else DETAIL_SQL.replace("?", "%s")
        self._versions_sql = CODE_SYSTEMS_SQL if qmark else CODE_SYSTEMS_SQL.replace("?", "%s")
        self._stamps_sql = STAMPS_SQL if qmark else STAMPS_SQL.replace("?", "%s")
        self._closure_down_sql, self._closure_up_sql, self._closure_pair_sql, \
            self._code_sql = (q if qmark else q.replace("?", "%s") for q in CLOSURE_SQL)
        self._local = threading.local()  # per-thread SQLite connection for hot reads
        self._hot: weakref.WeakSet[_HotConnection] = weakref.WeakSet()
        self._hot_file = self.engine.url.database if self.dialect == "sqlite" and \
            self.engine.url.database not in (None, "", ":memory:") else None
        #: Checkpoints a SQLite file at close() or, if never closed, at interpreter exit.
        self._checkpoint = weakref.finalize(self, checkpoint, self._hot_file) \
            if self._hot_file is not None else None
        if migrate:
            try:
                migrations.migrate(self.engine)
                pages.ensure_indexes(self.engine)  # paged $expand reads (idempotent)
            except OperationalError as exc:
                self.engine.dispose()
                raise SchemaError(f"cannot open database {self.display_url}: "
                                  f"{exc.orig or exc}") from None
            except BaseException:
                self.engine.dispose()
                raise

    @property
    def workbench(self) -> WorkbenchStore:
        """The curation workbench's tables (termserver/store/workbench.py), made on first use."""
        found: WorkbenchStore | None = self.__dict__.get("_workbench")
        if found is None:
            from termserver.store.workbench import WorkbenchStore

            found = self.__dict__["_workbench"] = WorkbenchStore(self)
        return found

    @property
    def display_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every connection; a SQLite file is checkpointed first (its WAL folded in and
        truncated), so after a clean stop the .db file alone is a full copy."""
        for hot in list(self._hot):
            with hot.lock:  # never under another thread's running read (a crash in sqlite3)
                hot.conn.close()
        self._local = threading.local()
        self.engine.dispose()
        if self._checkpoint is not None:
            self._checkpoint()

    def checkpoint(self) -> bool:
        """SQLite: fold the write-ahead log into the file and truncate it (a server that does
        not own its Store calls this at shutdown); True when done. PostgreSQL: nothing."""
        return self._hot_file is not None and checkpoint(self._hot_file)

    def analyze(self) -> None:
        """Refresh the planner's statistics (after a load; see engine.analyze)."""
        analyze(self.engine)

    @property
    def inline_reads(self) -> bool:
        """True when a single-code read can run on the event loop (SQLite: no round trip)."""
        return self.dialect == "sqlite"

    @contextmanager
    def writer(self) -> Iterator[Writer]:
        """One transaction: everything written inside commits together or not at all."""
        try:
            with self.engine.begin() as conn:
                yield (w := Writer(conn))
            search_postings.settle(self.engine, w.indexed)
        finally:
            self.invalidate()

    def invalidate(self) -> None:
        """Forget cached code system resolutions (after a write)."""
        self.generation += 1
        self._resolved.clear()

    def _remember(self, key: tuple[str, str | None], gen: int, found: StoredCodeSystem) -> None:
        """Cache a found resolution, tagged with the generation read *before* querying, so a
        write that commits meanwhile makes it stale at once. Bounded."""
        if len(self._resolved) >= RESOLVE_CACHE_SIZE or len(self._handed) >= RESOLVE_CACHE_SIZE:
            self._resolved.clear()
            self._handed.clear()
        self._resolved[key] = (gen, time.monotonic() + RESOLVE_TTL, found)
        keys = self._handed.get(found.pk, frozenset())
        if key not in keys:
            self._handed[found.pk] = keys | {key}

    def replaced(self, cs_pk: int) -> bool:
        """Whether the code system resolved as `cs_pk` is stored under another pk now."""
        return self._successor(cs_pk) is not None

    def _successor(self, cs_pk: int) -> int | None:
        """The pk now stored for the code system that `cs_pk` was resolved as, when another
        process replaced it (uncached query); None when `cs_pk` is still current or unknown.
        The same url and version is tried first, then the unversioned request if `cs_pk`
        answered one (a replace may change the version)."""
        keys = self._handed.get(cs_pk)
        if not keys:
            return None
        for url, version in sorted(keys, key=lambda k: k[1] is None):
            found = self._resolve_fresh(url, version)
            if found is None:
                continue
            if found.pk == cs_pk:
                return None
            self.invalidate()  # another process wrote: every cached resolution may be old
            self._remember((url, version), self.generation, found)
            return found.pk
        return None

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

    def stamps(self, resource_type: str, url: str) -> list[tuple[str, str | None, int, str]]:
        """(id, version, versionId, lastUpdated) of every stored resource of the type and url:
        one raw indexed query, cheap enough to ask on every request (never cached)."""
        return [(str(i), v, int(n), str(t))
                for i, v, n, t in self._hot_query(self._stamps_sql, (resource_type, url))]

    def canonical_exists(self, resource_type: str, url: str, version: str | None) -> str | None:
        """The id of the resource with this canonical url|version, if any."""
        with self.engine.connect() as conn:
            return Writer(conn).find_id(resource_type, url, version)

    # -- code systems --------------------------------------------------------------------------

    def code_systems(self, url: str | None = None) -> list[StoredCodeSystem]:
        """Every stored version of `url` (or of every url), by url then version."""
        url = canonical_system(url) if url is not None else None  # termserver.aliases
        return self._code_systems(url)

    def _code_systems(self, url: str | None) -> list[StoredCodeSystem]:
        """Never cached (a hot read: one raw query for one url), so never out of date."""
        if url is None:
            with self.engine.connect() as conn:
                found = [_code_system(r) for r in conn.execute(_cs_select()).all()]
        else:
            found = [StoredCodeSystem(int(pk), rid, u, v, n, t, st, c,
                                      None if cs is None else bool(cs), hm, lang, sup, int(cc))
                     for pk, rid, u, v, n, t, st, c, cs, hm, lang, sup, cc
                     in self._hot_query(self._versions_sql, (url,))]
        return sorted(found, key=lambda cs: (cs.url, version_key(cs.version)))

    def resolve_code_system(self, url: str, version: str | None = None
                            ) -> StoredCodeSystem | None:
        """The code system version a request for `url` (and `version`) means.

        Without a version: the latest version that has real content, so a `not-present` or
        `fragment` stub never shadows loaded content whatever the order of loading.
        Found versions are cached (see the module docstring); None is never cached.
        """
        url = canonical_system(url)
        key = (url, version)
        gen = self.generation
        hit = self._resolved.get(key)
        if hit is not None and hit[0] == gen and hit[1] > time.monotonic():
            metrics.cache_lookup("code_system_resolution", True)
            return hit[2]
        metrics.cache_lookup("code_system_resolution", False)
        found = self._resolve_fresh(url, version)
        if found is not None:
            self._remember(key, gen, found)
        return found

    def _resolve_fresh(self, url: str, version: str | None) -> StoredCodeSystem | None:
        candidates = self._code_systems(url)
        if version is not None:
            candidates = [cs for cs in candidates if cs.version == version]
        return max(candidates, key=lambda cs: (content_rank(cs.content),
                                               version_key(cs.version))) if candidates else None

    @fresh_pk
    def concept(self, cs_pk: int, code: str) -> Concept | None:
        with self.engine.connect() as conn:
            row = conn.execute(_concept_stmt(), {"cs": cs_pk, "code": code}).first()
        return None if row is None else _concept(row)

    @fresh_pk
    def concept_detail(self, cs_pk: int, code: str) -> ConceptDetail | None:
        """The concept with its details, or None: one UNION ALL query (the hot path of $lookup)."""
        return detail(code, self._hot_query(self._detail_sql, (cs_pk, code) * 5))

    def _hot_query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Rows of one read on a raw DB-API cursor. A SQLite file gets one connection per
        thread, kept open, in autocommit; other databases a pooled connection in autocommit
        (engine.read_connection), or the one of an enclosing page_reads.one_connection."""
        hot: _HotConnection | None = getattr(self._local, "hot", None)
        if hot is None and self._hot_file is not None:
            conn = sqlite3.connect(self._hot_file, check_same_thread=False,
                                   isolation_level=None, cached_statements=HOT_STATEMENTS)
            hot_pragmas(conn)
            hot = self._local.hot = _HotConnection(conn)
            self._hot.add(hot)
        if hot is not None:
            with hot.lock:
                return hot.conn.execute(sql, params).fetchall()
        run = page_reads.current(self)  # within one_connection: on its connection
        if run is not None:
            return run(sql, params)
        with read_connection(self.engine) as raw:
            cur = raw.cursor()
            cur.execute(sql, params)
            rows = list(cur.fetchall())
            cur.close()
        return rows

    @fresh_pk
    def code_folded(self, cs_pk: int, code: str) -> str | None:
        """The stored spelling of `code`, compared case-insensitively (first in load order)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(concept.c.code).where(
                concept.c.cs_pk == cs_pk, func.lower(concept.c.code) == code.lower())
                .order_by(concept.c.seq).limit(1)).scalar()
        return None if found is None else str(found)

    def concept_details(self, cs_pk: int, check: Callable[[], None] | None = None
                        ) -> Iterator[ConceptDetail]:
        """Every concept of one code system with its details, in load order. Four queries,
        grouped in memory: meant for expansions, which are bounded by the expansion limit.
        `check` is called every few thousand rows read (a request deadline that may raise)."""
        found = self._concept_rows(cs_pk, check or _nothing)
        if found is None:
            return iter(())
        desigs, props, parents, children, rows = found
        return (ConceptDetail(_concept(row), tuple(desigs.get(row.code, ())),
                              tuple(props.get(row.code, ())), tuple(parents.get(row.code, ())),
                              tuple(children.get(row.code, ()))) for row in rows)

    @fresh_pk
    def _concept_rows(self, cs_pk: int, check: Callable[[], None]) -> tuple[
            dict[str, list[Designation]], dict[str, list[ConceptProperty]],
            dict[str, list[str]], dict[str, list[str]], Sequence[Row[Any]]] | None:
        """The four reads of `concept_details`, in one snapshot (None when no concept)."""
        with self._snapshot() as conn:
            desigs: dict[str, list[Designation]] = {}
            for n, d in enumerate(conn.execute(select(designation).where(
                    designation.c.cs_pk == cs_pk))):
                if not n % CHECK_EVERY:
                    check()
                desigs.setdefault(d.code, []).append(Designation(
                    d.code, d.value, d.language, d.use_system, d.use_code, d.use_display))
            props: dict[str, list[ConceptProperty]] = {}
            for n, p in enumerate(conn.execute(select(concept_property).where(
                    concept_property.c.cs_pk == cs_pk))):
                if not n % CHECK_EVERY:
                    check()
                props.setdefault(p.code, []).append(ConceptProperty(
                    p.code, p.property, p.value, p.type, p.value_system, p.value_display))
            parents: dict[str, list[str]] = {}
            children: dict[str, list[str]] = {}
            for link in conn.execute(select(concept_parent.c.child, concept_parent.c.parent)
                                     .where(concept_parent.c.cs_pk == cs_pk)):
                parents.setdefault(link.child, []).append(link.parent)
                children.setdefault(link.parent, []).append(link.child)
            check()
            rows = conn.execute(select(concept).where(concept.c.cs_pk == cs_pk)
                                .order_by(concept.c.seq)).all()
        return (desigs, props, parents, children, rows) if rows else None

    @fresh_pk
    def descendants(self, cs_pk: int, code: str) -> set[str]:
        """All codes below `code` (transitively): one index range of the closure table."""
        rows = self._hot_query(self._closure_down_sql, (cs_pk, code))
        return {str(r[0]) for r in rows}

    def count_rows(self) -> dict[str, int]:
        """Row counts per table, for status output and tests."""
        from termserver.store.schema import metadata

        with self.engine.connect() as conn:
            return {name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0)
                    for name, t in metadata.tables.items()}

    # -- $translate, $subsumes, $closure (named queries) ---------------------------------------

    def map_rows(self, code: str, system: str | None, *, reverse: bool = False,
                 other_system: str | None = None, url: str | None = None,
                 version: str | None = None) -> list[tuple[int, str | None, str | None,
                                                           MapElement]]:
        """Stored ConceptMap rows for one code, as (map pk, map url, map version, row), with
        one indexed query. Forward: rows whose source is `system#code`, plus the `unmapped`
        rows of groups from `system`. `reverse`: rows whose target is `system#code`.
        `other_system` restricts the other side; `url`/`version` the map."""
        e = concept_map_element
        if reverse:
            cond = [e.c.target_code == code]
            if system is not None:
                cond.append(e.c.target_system == system)
            if other_system is not None:
                cond.append(e.c.source_system == other_system)
        else:
            codes = [code, UNMAPPED_SOURCE] if system is not None else [code]
            cond = [e.c.source_code.in_(codes)]
            if system is not None:
                cond.append(e.c.source_system == system)
            if other_system is not None:
                cond.append(e.c.target_system == other_system)
        cond.append(resource.c.resource_type == "ConceptMap")
        if url is not None:
            cond.append(resource.c.url == url)
        if version is not None:
            cond.append(resource.c.version == version)
        stmt = (select(e, resource.c.url.label("map_url"), resource.c.version.label("map_version"))
                .join(resource, resource.c.pk == e.c.resource_pk).where(*cond)
                .order_by(resource.c.url, resource.c.version, e.c.grp))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [(int(r.resource_pk), r.map_url, r.map_version, _map_element(r)) for r in rows]

    def concept_map_exists(self, url: str, version: str | None = None) -> bool:
        cond = [resource.c.resource_type == "ConceptMap", resource.c.url == url]
        if version is not None:
            cond.append(resource.c.version == version)
        with self.engine.connect() as conn:
            return conn.execute(select(resource.c.pk).where(*cond).limit(1)).first() is not None

    def concept_map_elements(self, url: str, version: str | None) -> list[MapElement]:
        """Every stored row of the ConceptMap url|version (no particular order; [] when the
        map is absent or has none): lets a publisher tell an unchanged map from a changed one."""
        e = concept_map_element
        cond = [resource.c.resource_type == "ConceptMap", resource.c.url == url,
                resource.c.version.is_(None) if version is None else resource.c.version == version]
        stmt = select(e).join(resource, resource.c.pk == e.c.resource_pk).where(*cond)
        with self.engine.connect() as conn:
            return [_map_element(r) for r in conn.execute(stmt).all()]

    def concept_map_scopes(self, pks: list[int]) -> dict[int, tuple[str | None, str | None]]:
        """(source scope, target scope) of the stored maps `pks`, read inside the database
        (R5 sourceScope[x] or R4 source[x]), so a big map is never loaded for its scope."""
        def field(key: str) -> Any:
            if self.dialect == "postgresql":
                return cast(resource.c.json, JSONB)[key].astext
            return func.json_extract(resource.c.json, f"$.{key}")

        def scope(side: str) -> Any:
            return func.coalesce(*(field(f"{side}{k}") for k in (
                "ScopeUri", "ScopeCanonical", "Uri", "Canonical")))

        if not pks:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(resource.c.pk, scope("source").label("source_scope"),
                                       scope("target").label("target_scope"))
                                .where(resource.c.pk.in_(pks))).all()
        return {int(r.pk): (_unversioned(r.source_scope), _unversioned(r.target_scope))
                for r in rows}

    @fresh_pk
    def ancestors(self, cs_pk: int, code: str) -> set[str]:
        """All codes above `code` (transitively): one index range of the closure table."""
        rows = self._hot_query(self._closure_up_sql, (cs_pk, code))
        return {str(r[0]) for r in rows}

    @fresh_pk
    def has_code(self, cs_pk: int, code: str) -> bool:
        """Does the code system hold `code` (exact spelling)? One index probe."""
        return bool(self._hot_query(self._code_sql, (cs_pk, code)))

    @fresh_pk
    def subsumed(self, cs_pk: int, ancestor: str, descendant: str) -> bool:
        """True when `descendant` is (strictly) below `ancestor`: one closure index probe."""
        return bool(self._hot_query(self._closure_pair_sql, (cs_pk, ancestor, descendant)))

    def closure_table(self, name: str) -> tuple[int, int] | None:
        """(pk, current version) of the $closure table `name`, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(closure_table.c.pk, closure_table.c.version)
                               .where(closure_table.c.name == name)).first()
        return None if row is None else (int(row.pk), int(row.version))

    def closure_concepts(self, closure_pk: int) -> list[tuple[str, str]]:
        """(system, code) of every concept the closure table holds, in the order added."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(closure_concept.c.system, closure_concept.c.code)
                                .where(closure_concept.c.closure_pk == closure_pk)
                                .order_by(closure_concept.c.version)).all()
        return [(str(r.system), str(r.code)) for r in rows]

    def closure_relations(self, closure_pk: int, after: int = 0
                          ) -> list[tuple[str, str, str]]:
        """(system, specific, general) relations added after table version `after`."""
        r = closure_relation
        with self.engine.connect() as conn:
            rows = conn.execute(select(r.c.system, r.c.specific, r.c.general)
                                .where(r.c.closure_pk == closure_pk, r.c.version > after)
                                .order_by(r.c.version, r.c.system, r.c.specific,
                                          r.c.general)).all()
        return [(str(x.system), str(x.specific), str(x.general)) for x in rows]


#: Rows read between two calls of a long read's `check` (a request deadline).
CHECK_EVERY = 4096
#: Prepared statements a hot-read connection keeps (least recently used dropped). Texts with
#: IN lists come in a few sizes only (store/inlist.py), so this bounds the count and the
#: sizes bound the bytes.
HOT_STATEMENTS = 128


def _nothing() -> None:
    return None


#: Seconds a cached code system resolution is trusted without a write through this Store.
RESOLVE_TTL = 2.0
RESOLVE_CACHE_SIZE = 10_000

class _HotConnection:
    """One thread's SQLite connection, closed when the thread ends or the Store closes, never
    during a read (`lock`: closing finalises statements another thread may be stepping)."""

    __slots__ = ("__weakref__", "conn", "lock")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lock = threading.Lock()

    def __del__(self) -> None:
        self.conn.close()


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


def _unversioned(value: Any) -> str | None:
    return None if value in (None, "") else str(value).partition("|")[0]


def _map_element(r: Row[Any]) -> MapElement:
    return MapElement(
        group=r.grp, source_system=r.source_system, source_version=r.source_version,
        source_code=r.source_code, source_display=r.source_display,
        target_system=r.target_system, target_version=r.target_version,
        target_code=r.target_code, target_display=r.target_display,
        relationship=r.relationship, equivalence=r.equivalence, comment=r.comment,
        depends_on=tuple(orjson.loads(r.depends_on)) if r.depends_on else (),
        product=tuple(orjson.loads(r.product)) if r.product else ())
