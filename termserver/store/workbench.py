"""Workbench storage: map projects, decisions with targets, the audit trail, kept suggestions
and background jobs (schema version 4), and who wrote a code system (schema 6). Reached as
`store.workbench`.

Every write is one short transaction (SQLite writers wait up to 30 s for each other). Writes
here do not go through `Store.writer()`: they never touch code systems, so cached code system
resolutions stay valid. A decision and its audit event are written in the same transaction.
Source codes are read from the stored local code system (concept + concept_property), paged
in SQL, so a worklist page never loads the whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from mappings.model import (
    MAIN,
    Decision,
    Event,
    Job,
    Project,
    SourceCode,
    StoredSuggestion,
    Target,
    WorkItem,
)
from termserver.errors import Conflict
from termserver.store.schema import (
    code_system,
    concept,
    concept_property,
    map_decision,
    map_decision_target,
    map_event,
    map_job,
    map_project,
    map_source_member,
    map_source_scope,
    map_suggestion,
    resource,
)

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Concept properties the importer writes for the extra columns (mappings.importer).
SOURCE_PROPERTIES = ("unit", "specimen", "category", "frequency", "comment")
_CHUNK = 500  # bound parameters per IN (...) list


def stamp() -> str:
    """Now, ISO-8601 UTC with microseconds (the optimistic lock compares these)."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def decision_state(d: Decision | None) -> dict[str, object] | None:
    """A decision as the audit trail keeps it (before/after)."""
    if d is None:
        return None
    return {"status": d.status, "comment": d.comment, "author": d.author, "updated": d.updated,
            "targets": [{k: v for k, v in asdict(t).items() if v is not None}
                        for t in d.targets]}


class WorkbenchStore:
    """All workbench SQL. Methods take the project's pk (see `project`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -- projects ------------------------------------------------------------------------------

    def create_project(self, project: Project, author: str | None) -> Project:
        created = stamp()
        values = {k: v for k, v in asdict(project).items() if k not in ("pk", "created")}
        with self.engine.begin() as conn:
            if conn.execute(select(map_project.c.pk).where(
                    map_project.c.id == project.id)).first() is not None:
                raise Conflict(f"map project {project.id!r} already exists")
            pk = int(conn.execute(insert(map_project).values(created=created, **values)
                                  .returning(map_project.c.pk)).scalar_one())
            saved = replace(project, pk=pk, created=created)
            _event(conn, pk, None, "create", author, created, None, _project_state(saved))
        return saved

    def project(self, id: str) -> Project | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(map_project).where(map_project.c.id == id)).first()
        return None if row is None else _project(row)

    def projects(self) -> list[Project]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(map_project).order_by(map_project.c.id)).all()
        return [_project(r) for r in rows]

    def update_project(self, before: Project, after: Project, author: str | None) -> Project:
        values = {k: v for k, v in asdict(after).items() if k not in ("pk", "created", "id")}
        with self.engine.begin() as conn:
            conn.execute(update(map_project).where(map_project.c.pk == before.pk).values(**values))
            _event(conn, before.pk, None, "update-project", author, stamp(),
                   _project_state(before), _project_state(after))
        return after

    # -- source codes --------------------------------------------------------------------------

    def worklist(self, project_pk: int, cs_pk: int, *, reviewer: str = MAIN,
                 status: str | None = None, text: str | None = None, offset: int = 0,
                 count: int = 50, members: bool = False) -> tuple[list[WorkItem], int]:
        """One page of source codes (load order) with their decision and kept suggestions,
        and how many match in all. `members`: only the project's materialised source codes
        (a source ValueSet)."""
        d = map_decision
        joined = concept.outerjoin(d, and_(d.c.project_pk == project_pk, d.c.reviewer == reviewer,
                                           d.c.source_code == concept.c.code))
        cond: list[Any] = [concept.c.cs_pk == cs_pk, *_member_filter(project_pk, members)]
        if status is not None:
            cond.append(func.coalesce(d.c.status, "unmapped") == status)
        if text:
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%") \
                .replace("_", "\\_") + "%"
            cond.append(or_(func.lower(concept.c.code).like(pattern, escape="\\"),
                            func.lower(concept.c.display).like(pattern, escape="\\")))
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(joined).where(*cond))
                        .scalar() or 0)
            rows = conn.execute(select(concept.c.code, concept.c.display, *_decision_cols())
                                .select_from(joined).where(*cond).order_by(concept.c.seq)
                                .limit(count).offset(offset)).all()
            codes = [r.code for r in rows]
            sources = _sources(conn, cs_pk, rows)
            decisions = _decisions(conn, [r for r in rows if r.pk is not None])
            kept = _suggestions(conn, project_pk, codes)
        items = [WorkItem(sources[c], decisions.get(c) or Decision(c, reviewer=reviewer),
                          tuple(kept.get(c, ()))) for c in codes]
        return items, total

    def source_codes(self, cs_pk: int, codes: Sequence[str] | None = None,
                     members_of: int | None = None) -> dict[str, SourceCode]:
        """Source codes of a stored local code system (all, or just `codes`), load order;
        `members_of`: only the materialised source codes of that project."""
        with self.engine.connect() as conn:
            stmt = select(concept.c.code, concept.c.display).where(
                concept.c.cs_pk == cs_pk, *_member_filter(members_of or 0, members_of is not None))
            if codes is None:
                rows = list(conn.execute(stmt.order_by(concept.c.seq)).all())
            else:
                rows = []
                for part in _chunks(list(codes)):
                    rows += conn.execute(stmt.where(concept.c.code.in_(part))).all()
            return _sources(conn, cs_pk, rows, all_codes=codes is None)

    def status_counts(self, project_pk: int, cs_pk: int, reviewer: str = MAIN,
                      members: bool = False) -> tuple[int, dict[str, int]]:
        """(source codes, decisions per status over those codes); undecided count unmapped."""
        d = map_decision
        only = _member_filter(project_pk, members)
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(concept)
                                     .where(concept.c.cs_pk == cs_pk, *only)).scalar() or 0)
            rows = conn.execute(
                select(d.c.status, func.count()).select_from(d.join(concept, and_(
                    concept.c.cs_pk == cs_pk, concept.c.code == d.c.source_code)))
                .where(d.c.project_pk == project_pk, d.c.reviewer == reviewer, *only)
                .group_by(d.c.status)).all()
        counts = {str(s): int(n) for s, n in rows}
        counts["unmapped"] = total - sum(n for s, n in counts.items() if s != "unmapped")
        return total, counts

    def source_stamp(self, project_pk: int) -> str | None:
        """What the project's materialised source codes were expanded from (None: never)."""
        with self.engine.connect() as conn:
            found = conn.execute(select(map_source_scope.c.stamp).where(
                map_source_scope.c.project_pk == project_pk)).scalar()
        return str(found) if found is not None else None

    def set_source_members(self, project_pk: int, stamp: str, codes: Iterable[str]) -> int:
        """Replace the project's source codes (a source ValueSet's members) in one
        transaction under the project's write lock; returns how many. Two requests that
        expand the same new ValueSet at once write it once: the second finds the stamp set."""
        rows = [{"project_pk": project_pk, "code": c} for c in dict.fromkeys(codes)]
        m, sc = map_source_member, map_source_scope
        with self.engine.begin() as conn:
            _serialize(conn, project_pk)
            done = conn.execute(select(sc.c.members).where(
                sc.c.project_pk == project_pk, sc.c.stamp == stamp)).scalar()
            if done is not None:
                return int(done)
            conn.execute(delete(m).where(m.c.project_pk == project_pk))
            for start in range(0, len(rows), 5000):
                conn.execute(insert(m), rows[start:start + 5000])
            conn.execute(delete(sc).where(sc.c.project_pk == project_pk))
            conn.execute(insert(sc).values(project_pk=project_pk, stamp=stamp,
                                           members=len(rows)))
        return len(rows)

    def clear_source_members(self, project_pk: int) -> None:
        """Forget the materialised source codes (the project no longer has a source ValueSet)."""
        with self.engine.begin() as conn:
            conn.execute(delete(map_source_member).where(
                map_source_member.c.project_pk == project_pk))
            conn.execute(delete(map_source_scope).where(
                map_source_scope.c.project_pk == project_pk))

    # -- decisions -----------------------------------------------------------------------------

    def decision(self, project_pk: int, code: str, reviewer: str = MAIN) -> Decision | None:
        with self.engine.connect() as conn:
            return _one_decision(conn, project_pk, code, reviewer)

    def decisions(self, project_pk: int, *, reviewer: str | None = MAIN,
                  status: str | None = None, codes: Sequence[str] | None = None
                  ) -> list[Decision]:
        """Decisions of a project (one reviewer, or every reviewer when None), by code."""
        d = map_decision
        cond: list[Any] = [d.c.project_pk == project_pk]
        if reviewer is not None:
            cond.append(d.c.reviewer == reviewer)
        if status is not None:
            cond.append(d.c.status == status)
        stmt = select(*_decision_cols()).where(*cond)
        with self.engine.connect() as conn:
            if codes is None:
                rows = list(conn.execute(stmt.order_by(d.c.source_code, d.c.reviewer)).all())
            else:
                rows = []
                for part in _chunks(list(codes)):
                    rows += conn.execute(stmt.where(d.c.source_code.in_(part))).all()
            found = _decisions(conn, rows, keyed_by_reviewer=True)
        return [found[k] for k in sorted(found)]

    def save_decision(self, project_pk: int, decision: Decision, *, action: str,
                      source_key: str | None, if_updated: str | None = None
                      ) -> tuple[Decision | None, Decision]:
        """Replace the decision on (project, code, reviewer) and append its audit event;
        (before, after). `if_updated`: Conflict unless the stored decision's `updated` is
        that value ("" when none is stored yet)."""
        with self.engine.begin() as conn:
            _serialize(conn, project_pk)
            before = _one_decision(conn, project_pk, decision.source_code, decision.reviewer)
            if if_updated is not None and (before.updated if before else "") != if_updated:
                raise Conflict(
                    f"the decision on {decision.source_code!r} was changed at "
                    f"{before.updated if before else 'no time (it was removed)'} by "
                    f"{(before.author if before else None) or 'someone'}; reload and decide "
                    "again")
            after = _write_decision(conn, project_pk, decision, source_key)
            _event(conn, project_pk, decision.source_code, action, decision.author,
                   after.updated, decision_state(before), decision_state(after),
                   decision.reviewer)
        return before, after

    def save_decisions(self, project_pk: int, decisions: Iterable[tuple[Decision, str | None]],
                       *, action: str) -> int:
        """Write many decisions (each with its source key) in one transaction, audited one
        event each; returns how many were written."""
        return len(self.save_unchanged(project_pk, decisions, action=action))

    def save_unchanged(self, project_pk: int,
                       decisions: Iterable[tuple[Decision, str | None]], *, action: str,
                       seen: Mapping[str, str] | None = None,
                       summary: Callable[[list[Decision]], dict[str, object]] | None = None,
                       author: str | None = None) -> list[Decision]:
        """`save_decisions`, skipping a decision whose stored `updated` is no longer the one
        in `seen` (code → updated, "" for none: someone decided meanwhile); `summary` of the
        written decisions becomes one project event (`action`, `author`) in the same
        transaction. Returns the decisions written."""
        written: list[Decision] = []
        with self.engine.begin() as conn:
            _serialize(conn, project_pk)
            for decision, key in decisions:
                before = _one_decision(conn, project_pk, decision.source_code, decision.reviewer)
                if seen is not None and (before.updated if before else "") != \
                        seen.get(decision.source_code):
                    continue
                after = _write_decision(conn, project_pk, decision, key)
                _event(conn, project_pk, decision.source_code, action, decision.author,
                       after.updated, decision_state(before), decision_state(after),
                       decision.reviewer)
                written.append(after)
            if summary is not None:
                _event(conn, project_pk, None, action, author, stamp(), None, summary(written))
        return written

    def accepted_by_key(self, target_system: str, keys: Sequence[str]
                        ) -> dict[str, list[tuple[str, Decision]]]:
        """Accepted MAIN decisions whose normalised source text is one of `keys`, in any
        project with `target_system`: key → [(project id, decision)], newest first."""
        d, p = map_decision, map_project
        out: dict[str, list[tuple[str, Decision]]] = {}
        with self.engine.connect() as conn:
            for part in _chunks(list(keys)):
                rows = conn.execute(
                    select(p.c.id.label("project_id"), d.c.source_key, *_decision_cols())
                    .select_from(d.join(p, p.c.pk == d.c.project_pk))
                    .where(p.c.target_system == target_system, d.c.reviewer == MAIN,
                           d.c.status == "accepted", d.c.source_key.in_(part))
                    .order_by(d.c.updated.desc())).all()
                found = _decisions(conn, rows, by_pk=True)
                for r in rows:
                    out.setdefault(r.source_key, []).append((r.project_id, found[str(r.pk)]))
        return out

    # -- audit trail ---------------------------------------------------------------------------

    def add_event(self, project_pk: int, source_code: str | None, action: str,
                  author: str | None, before: dict[str, object] | None,
                  after: dict[str, object] | None, reviewer: str = MAIN) -> None:
        with self.engine.begin() as conn:
            _event(conn, project_pk, source_code, action, author, stamp(), before, after,
                   reviewer)

    def events(self, project: Project, source_code: str | None = None,
               limit: int | None = None) -> list[Event]:
        """The audit trail, newest first (one code's, or the whole project's)."""
        e = map_event
        stmt = select(e).where(e.c.project_pk == project.pk)
        if source_code is not None:
            stmt = stmt.where(e.c.source_code == source_code)
        stmt = stmt.order_by(e.c.seq.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [Event(project.id, r.source_code, r.action, r.author, r.at, _loads(r.before),
                      _loads(r.after), r.reviewer, int(r.seq)) for r in rows]

    # -- kept suggestions ----------------------------------------------------------------------

    def suggestions(self, project_pk: int, codes: Sequence[str]
                    ) -> dict[str, list[StoredSuggestion]]:
        with self.engine.connect() as conn:
            return _suggestions(conn, project_pk, codes)

    def keep_suggestions(self, project_pk: int, found: dict[str, list[StoredSuggestion]],
                         *, author: str | None, source_keys: dict[str, str | None]) -> int:
        """Replace the kept suggestions of the codes in `found`; codes without a MAIN
        decision (or unmapped) that got suggestions become "suggested" (audited). One
        transaction; returns how many changed status."""
        s, d = map_suggestion, map_decision
        codes = list(found)
        changed = 0
        at = stamp()
        with self.engine.begin() as conn:
            _serialize(conn, project_pk)
            for part in _chunks(codes):
                conn.execute(delete(s).where(s.c.project_pk == project_pk,
                                             s.c.source_code.in_(part)))
            rows = [{"project_pk": project_pk, "source_code": x.source_code, "rank": x.rank,
                     "code": x.code, "display": x.display, "score": x.score, "why": x.why,
                     "system": x.system} for items in found.values() for x in items]
            if rows:
                conn.execute(insert(s), rows)
            decided: dict[str, str] = {}
            for part in _chunks(codes):
                decided.update((r.source_code, r.status) for r in conn.execute(
                    select(d.c.source_code, d.c.status).where(
                        d.c.project_pk == project_pk, d.c.reviewer == MAIN,
                        d.c.source_code.in_(part))))
            for code, items in found.items():
                if not items or decided.get(code, "unmapped") != "unmapped":
                    continue
                before = Decision(code) if code in decided else None
                after = _write_decision(conn, project_pk, Decision(
                    code, "suggested", author=author, updated=at), source_keys.get(code))
                _event(conn, project_pk, code, "suggest", author, at, decision_state(before),
                       decision_state(after))
                changed += 1
        return changed

    # -- jobs ----------------------------------------------------------------------------------

    def create_job(self, project_pk: int, job: Job, author: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(map_job).values(
                id=job.id, project_pk=project_pk, kind=job.kind, state=job.state, done=job.done,
                total=job.total, author=author, started=job.started, finished=job.finished,
                error=job.error, heartbeat=job.started))

    def update_job(self, id: str, **values: object) -> None:
        """Change a job's columns (and its heartbeat)."""
        with self.engine.begin() as conn:
            conn.execute(update(map_job).where(map_job.c.id == id).values(
                heartbeat=stamp(), **values))

    def job_heartbeat(self, id: str) -> str | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(map_job.c.heartbeat, map_job.c.started)
                                 .where(map_job.c.id == id)).first()
        return None if found is None else str(found.heartbeat or found.started)

    def job(self, id: str) -> Job | None:
        found = self.jobs(map_job.c.id == id)
        return found[0] if found else None

    def open_jobs(self, project_pk: int) -> list[Job]:
        """The project's queued or running jobs, oldest first."""
        return self.jobs(map_job.c.project_pk == project_pk,
                         map_job.c.state.in_(("queued", "running")))

    def jobs(self, *where: Any) -> list[Job]:
        j, p = map_job, map_project
        with self.engine.connect() as conn:
            rows = conn.execute(select(j, p.c.id.label("project_id"))
                                .join(p, p.c.pk == j.c.project_pk).where(*where)
                                .order_by(j.c.started)).all()
        return [Job(r.id, r.project_id, r.kind, r.state, int(r.done), int(r.total), r.started,
                    r.finished, r.error) for r in rows]


    # -- ownership of code systems ------------------------------------------------------------

    def code_system_writers(self, url: str, conn: Connection | None = None,
                            resource_type: str = "CodeSystem"
                            ) -> list[tuple[str | None, str | None, str | None]]:
        """(version, owner, origin) of every stored CodeSystem (or `resource_type`) whose
        resource or code system url is `url`; pass `conn` to read inside a writer's
        transaction."""
        cs_url = select(code_system.c.resource_pk).where(code_system.c.url == url)
        stmt = select(resource.c.version, resource.c.owner, resource.c.origin).where(
            resource.c.resource_type == resource_type,
            or_(resource.c.url == url, resource.c.pk.in_(cs_url)))
        if conn is not None:
            return [(r.version, r.owner, r.origin) for r in conn.execute(stmt)]
        with self.engine.connect() as own:
            return [(r.version, r.owner, r.origin) for r in own.execute(stmt)]


# -- helpers ---------------------------------------------------------------------------------

def _member_filter(project_pk: int, members: bool) -> list[Any]:
    """The WHERE condition keeping the project's materialised source codes (or none)."""
    if not members:
        return []
    return [concept.c.code.in_(select(map_source_member.c.code).where(
        map_source_member.c.project_pk == project_pk))]


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _serialize(conn: Connection, project_pk: int) -> None:
    """Take the project's write lock before reading what the transaction will change: a
    no-op UPDATE of the project row (PostgreSQL: a row lock; SQLite: the database write
    lock, as the driver begins the transaction at the first write). Without it two
    concurrent decisions could both pass the optimistic lock check."""
    conn.execute(update(map_project).where(map_project.c.pk == project_pk)
                 .values(pk=map_project.c.pk))


def _loads(text: str | None) -> dict[str, object] | None:
    if text is None:
        return None
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {"value": value}


def _event(conn: Connection, project_pk: int, source_code: str | None, action: str,
           author: str | None, at: str, before: dict[str, object] | None,
           after: dict[str, object] | None, reviewer: str = MAIN) -> None:
    conn.execute(insert(map_event).values(
        project_pk=project_pk, source_code=source_code, reviewer=reviewer, action=action,
        author=author, at=at,
        before=None if before is None else orjson.dumps(before).decode(),
        after=None if after is None else orjson.dumps(after).decode()))


def _project(r: Any) -> Project:
    return Project(id=r.id, title=r.title, source_system=r.source_system,
                   source_version=r.source_version, target_system=r.target_system,
                   target_version=r.target_version, source_valueset=r.source_valueset,
                   target_valueset=r.target_valueset, language=r.language, map_url=r.map_url,
                   dual=bool(r.dual), description=r.description, created=r.created,
                   pk=int(r.pk))


def _project_state(p: Project) -> dict[str, object]:
    return {k: v for k, v in asdict(p).items() if k not in ("pk",) and v is not None}


def _sources(conn: Connection, cs_pk: int, rows: Sequence[Any], all_codes: bool = False
             ) -> dict[str, SourceCode]:
    """SourceCodes for concept rows (code, display), with the importer's properties."""
    props: dict[str, dict[str, str]] = {}
    cp = concept_property
    stmt = select(cp.c.code, cp.c.property, cp.c.value).where(
        cp.c.cs_pk == cs_pk, cp.c.property.in_(SOURCE_PROPERTIES))
    codes = [r.code for r in rows]
    parts = [None] if all_codes else list(_chunks(codes))
    for part in parts:
        q = stmt if part is None else stmt.where(cp.c.code.in_(part))
        for p in conn.execute(q):
            props.setdefault(p.code, {})[p.property] = p.value
    out: dict[str, SourceCode] = {}
    for r in rows:
        got = props.get(r.code, {})
        freq = got.get("frequency")
        out[r.code] = SourceCode(r.code, r.display, got.get("unit"), got.get("specimen"),
                                 got.get("category"),
                                 int(freq) if freq is not None and freq.lstrip("-").isdigit()
                                 else None, got.get("comment"))
    return out


def _suggestions(conn: Connection, project_pk: int, codes: Sequence[str]
                 ) -> dict[str, list[StoredSuggestion]]:
    s = map_suggestion
    out: dict[str, list[StoredSuggestion]] = {}
    for part in _chunks(list(codes)):
        for r in conn.execute(select(s).where(s.c.project_pk == project_pk,
                                              s.c.source_code.in_(part))
                              .order_by(s.c.source_code, s.c.rank)):
            out.setdefault(r.source_code, []).append(StoredSuggestion(
                r.source_code, int(r.rank), r.code, r.display, float(r.score), r.why, r.system))
    return out


def _decision_cols() -> list[Any]:
    d = map_decision
    return [d.c.pk, d.c.source_code, d.c.reviewer, d.c.status, d.c.comment, d.c.author,
            d.c.updated, d.c.source_display]


def _decisions(conn: Connection, rows: Sequence[Any], *, keyed_by_reviewer: bool = False,
               by_pk: bool = False) -> dict[str, Decision]:
    """Decisions (with targets) for decision rows, keyed by source code (or code + reviewer,
    or the decision pk)."""
    t = map_decision_target
    pks = [int(r.pk) for r in rows if r.pk is not None]
    targets: dict[int, list[Target]] = {}
    for i in range(0, len(pks), _CHUNK):
        for x in conn.execute(select(t).where(t.c.decision_pk.in_(pks[i:i + _CHUNK]))
                              .order_by(t.c.decision_pk, t.c.seq)):
            targets.setdefault(int(x.decision_pk), []).append(Target(
                x.code, x.display, x.relationship, x.system, x.version, x.comment))
    out: dict[str, Decision] = {}
    for r in rows:
        if r.pk is None:
            continue
        dec = Decision(r.source_code, r.status, tuple(targets.get(int(r.pk), ())), r.comment,
                       r.reviewer, r.author, r.updated, r.source_display)
        key = str(r.pk) if by_pk else f"{r.source_code}\t{r.reviewer}" if keyed_by_reviewer \
            else r.source_code
        out[key] = dec
    return out


def _one_decision(conn: Connection, project_pk: int, code: str, reviewer: str
                  ) -> Decision | None:
    d = map_decision
    rows = conn.execute(select(*_decision_cols()).where(
        d.c.project_pk == project_pk, d.c.reviewer == reviewer, d.c.source_code == code)).all()
    return _decisions(conn, rows).get(code)


def _write_decision(conn: Connection, project_pk: int, decision: Decision,
                    source_key: str | None) -> Decision:
    """Upsert one decision row and its targets; the stored decision (`updated` set)."""
    d = map_decision
    updated = decision.updated or stamp()
    values = {"status": decision.status, "comment": decision.comment,
              "author": decision.author, "updated": updated,
              "source_display": decision.source_display, "source_key": source_key}
    pk = conn.execute(select(d.c.pk).where(
        d.c.project_pk == project_pk, d.c.reviewer == decision.reviewer,
        d.c.source_code == decision.source_code)).scalar()
    if pk is None:
        pk = conn.execute(insert(d).values(
            project_pk=project_pk, source_code=decision.source_code,
            reviewer=decision.reviewer, **values).returning(d.c.pk)).scalar_one()
    else:
        conn.execute(update(d).where(d.c.pk == pk).values(**values))
        conn.execute(delete(map_decision_target).where(map_decision_target.c.decision_pk == pk))
    if decision.targets:
        conn.execute(insert(map_decision_target), [
            {"decision_pk": pk, "seq": i, "code": t.code, "display": t.display,
             "relationship": t.relationship, "system": t.system, "version": t.version,
             "comment": t.comment} for i, t in enumerate(decision.targets)])
    return replace(decision, updated=updated)
