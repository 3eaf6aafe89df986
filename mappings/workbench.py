"""The curation workbench service: map projects, the worklist, suggestions, decisions with an
audit trail, dual mapping, background suggestion runs, publishing and exports.

`Workbench(store)` is the one entry point the HTTP API, the UI and the CLI use; it keeps the
target suggestion indexes and running jobs in process memory, so make one per process. Every
error is a TerminologyError (NotFound, InvalidRequest, Conflict, …). Storage is
`store.workbench` (termserver/store/workbench.py); source codes are the stored local code
system `project.source_system|source_version` (mappings.importer writes it).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from mappings.bulkaccept import REVIEW_SHARE, BulkResult, bulk_accept
from mappings.importer import ImportDiff, ImportResult, LocalCode, diff, to_code_system
from mappings.jobs import JobRunner
from mappings.model import (
    MAIN,
    RELATIONSHIPS,
    STATUSES,
    Agreement,
    Decision,
    Event,
    Flag,
    Job,
    Progress,
    Project,
    SourceCode,
    Status,
    Target,
    WorkItem,
)
from mappings.ownership import check_import_url, check_map_url
from mappings.suggest import Suggestion
from mappings.targets import (
    TargetScopes,
    learned_first,
    source_key,
    source_text,
    suggest_for,
    target_code_system,
    target_labels,
    value_set_members,
    value_set_stamp,
)
from termserver.errors import Conflict, InvalidRequest, NotFound
from termserver.ingest import save_code_system_content
from termserver.model import StoredCodeSystem
from termserver.store import Store, version_key
from termserver.store.workbench import stamp

if TYPE_CHECKING:
    from mappings.publish import PublishResult

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
#: Source fields whose change puts an accepted decision back to needs-review on re-import.
MEANINGFUL = ("display", "unit", "specimen", "category")
#: Seconds without progress after which another process's unfinished job counts as failed.
STALE_JOB = 900
_UPDATABLE = {f.name for f in fields(Project)} - {"id", "pk", "created"}

log = logging.getLogger(__name__)


class Workbench:
    """The workbench service over one store (one instance per process)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.scopes = TargetScopes(store)
        self.jobs = JobRunner(store, self.scopes, sources=self._sources)

    # -- projects ------------------------------------------------------------------------------

    def create_project(self, project: Project, author: str | None = None) -> Project:
        """Validate and store a new project: id is a unique slug, the source and target code
        systems (and the target ValueSet) are stored."""
        if not _ID_RE.match(project.id or ""):
            raise InvalidRequest(f"project id {project.id!r} must be 1-64 letters, digits, '-' "
                                 "or '_' (starting with a letter or digit)", expression=("id",))
        members = self._check_project(project)
        if self.store.workbench.project(project.id) is not None:
            raise Conflict(f"map project {project.id!r} already exists")
        created = self.store.workbench.create_project(replace(project, pk=0, created=""),
                                                      author)
        self._source_scope(created, members)
        return created

    def _check_project(self, project: Project) -> tuple[str, frozenset[str]] | None:
        """Validate a project; with a source ValueSet, its members and the stamp they were
        expanded from (NotFound when the ValueSet is not stored, InvalidRequest when it has
        no code of the source code system)."""
        if not (project.title or "").strip():
            raise InvalidRequest("a project needs a title", expression=("title",))
        for name in ("source_system", "target_system"):
            if not (getattr(project, name) or "").strip():
                raise InvalidRequest(f"{name} is required", expression=(name,))
        source = self._source_cs(project)
        members = None
        if project.source_valueset:
            stamp = self._members_stamp(project, source)
            codes = value_set_members(self.store, project.source_valueset, source, "source")
            if not codes:
                raise InvalidRequest(f"ValueSet {project.source_valueset} has no code of the "
                                     f"source code system {source.url}",
                                     expression=("source_valueset",))
            members = (stamp, codes)
        target_code_system(self.store, project)
        if project.target_valueset:
            self.scopes.scope(project)  # NotFound when the ValueSet is not stored
        return members

    def get_project(self, id: str) -> Project:
        found = self.store.workbench.project(id)
        if found is None:
            raise NotFound(f"map project {id!r} is not known")
        return found

    def list_projects(self) -> list[Project]:
        return self.store.workbench.projects()

    def update_project(self, id: str, /, author: str | None = None, **changes: Any
                       ) -> Project:
        """Change a project's fields (not id); validated like a new project, audited."""
        bad = sorted(set(changes) - _UPDATABLE)
        if bad:
            raise InvalidRequest(f"cannot change {', '.join(bad)} of a project",
                                 expression=tuple(bad))
        unset = sorted(k for k in ("title", "language", "dual") if k in changes
                       and changes[k] is None)
        if unset:
            raise InvalidRequest(f"{', '.join(unset)} of a project cannot be null",
                                 expression=tuple(unset))
        before = self.get_project(id)
        after = replace(before, **changes)
        if after == before:
            return before
        members = self._check_project(after)
        updated = self.store.workbench.update_project(before, after, author)
        if not updated.source_valueset:
            self.store.workbench.clear_source_members(updated.pk)
        self._source_scope(updated, members)
        return updated

    def _source_cs(self, project: Project) -> StoredCodeSystem:
        cs = self.store.resolve_code_system(project.source_system, project.source_version)
        if cs is None:
            raise NotFound(f"source code system {project.source_system}"
                           f"{'|' + project.source_version if project.source_version else ''} "
                           "is not stored: import the code list first")
        return cs

    def _source_scope(self, project: Project,
                      expanded: tuple[str, frozenset[str]] | None = None
                      ) -> tuple[StoredCodeSystem, int | None]:
        """The source code system and, for a project whose source a ValueSet restricts, the
        project pk whose materialised members are the source codes (expanded again when the
        ValueSet or the code system changed since; `expanded`: a (stamp, members) just
        computed by `_check_project`)."""
        cs = self._source_cs(project)
        if not project.source_valueset:
            return cs, None
        stamp = self._members_stamp(project, cs)
        wb = self.store.workbench
        if wb.source_stamp(project.pk) != stamp:
            members = expanded[1] if expanded is not None and expanded[0] == stamp else \
                value_set_members(self.store, project.source_valueset, cs, "source")
            wb.set_source_members(project.pk, stamp, members)
        return cs, project.pk

    def _members_stamp(self, project: Project, cs: StoredCodeSystem) -> str:
        """What a source ValueSet's members depend on: the stored source code system (a
        re-import stores a new one) and the stored ValueSet's id/versionId."""
        return f"{cs.pk}|{value_set_stamp(self.store, project.source_valueset or '')}"

    def _sources(self, project: Project, codes: Sequence[str] | None = None
                 ) -> dict[str, SourceCode]:
        """The project's source codes (all, or those of `codes` in its scope), list order."""
        cs, members_of = self._source_scope(project)
        return self.store.workbench.source_codes(cs.pk, codes, members_of)

    # -- source codes --------------------------------------------------------------------------

    def import_codes(self, result: ImportResult, url: str, version: str | None,
                     name: str | None = None, title: str | None = None,
                     author: str | None = None) -> tuple[str, ImportDiff]:
        """Store a code list as CodeSystem url|version (replacing that version) and compare it
        with what was stored for `url` before (the same version, else the newest). Accepted
        decisions on codes whose display/unit/specimen/category changed go to needs-review
        (only columns the new import maps count). A url a loader or the FHIR API wrote, or an
        external terminology's, is refused (mappings.ownership)."""
        if not url or not url.strip() or any(c.isspace() for c in url):
            raise InvalidRequest(f"{url!r} is not a code system url", expression=("url",))
        check_import_url(self.store, url)  # never replace or shadow content of others
        stored = self.store.code_systems(url)
        same = [cs for cs in stored if cs.version == version]
        previous = same[0] if same else \
            max(stored, key=lambda cs: version_key(cs.version)) if stored else None
        old: list[LocalCode] = []
        if previous is not None:
            old = [LocalCode(**asdict(s)) for s in
                   self.store.workbench.source_codes(previous.pk).values()]
        changes = diff(old, result)
        if same and not (changes.added or changes.removed or changes.changed):
            return "unchanged", changes
        with self.store.writer() as w:
            check_import_url(self.store, url, w)  # again, inside the write's transaction
            saved = save_code_system_content(
                w, to_code_system(result, url, version, name, title=title), origin="workbench")
        meaningful = set(MEANINGFUL) & set(result.columns)  # a column left out is no change
        self._source_changed(url, version, changes, author, saved.outcome, meaningful)
        return saved.outcome, changes

    def _source_changed(self, url: str, version: str | None, changes: ImportDiff,
                        author: str | None, outcome: str, meaningful: set[str]) -> None:
        changed = {c.code for c in changes.changed if set(c.fields) & meaningful}
        wb = self.store.workbench
        for project in wb.projects():
            if project.source_system != url or project.source_version not in (None, version):
                continue
            flagged = [d for d in wb.decisions(project.pk, reviewer=None, status="accepted",
                                               codes=sorted(changed))] if changed else []
            sources = self._sources(project, [d.source_code for d in flagged])
            wb.save_decisions(project.pk, (
                (replace(d, status="needs-review", author=author, updated="",
                         source_display=sources[d.source_code].display
                         if d.source_code in sources else d.source_display),
                 source_key(source_text(sources[d.source_code]))
                 if d.source_code in sources else None) for d in flagged),
                action="source-changed")
            wb.add_event(project.pk, None, "import", author, None, {
                "url": url, "version": version, "outcome": outcome,
                "added": len(changes.added), "removed": list(changes.removed),
                "changed": len(changes.changed), "needs_review": len(flagged)})

    def worklist(self, project_id: str, *, status: str | None = None, text: str | None = None,
                 reviewer: str = MAIN, offset: int = 0, count: int = 50
                 ) -> tuple[list[WorkItem], int]:
        """One page of the worklist (source codes in list order) and the number matching."""
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"unknown status {status!r}: use one of {', '.join(STATUSES)}",
                                 expression=("status",))
        if offset < 0 or count < 0 or count > 1000:
            raise InvalidRequest("offset must be >= 0 and count 0..1000")
        project = self.get_project(project_id)
        self.scopes.warm_soon(project)  # the curator will ask for suggestions next
        cs, members_of = self._source_scope(project)
        return self.store.workbench.worklist(project.pk, cs.pk, reviewer=reviewer,
                                             status=status, text=text, offset=offset,
                                             count=count, members=members_of is not None)

    def source_code(self, project_id: str, code: str, reviewer: str = MAIN) -> WorkItem:
        project = self.get_project(project_id)
        wb = self.store.workbench
        source = self._source(project, code)
        decision = wb.decision(project.pk, code, reviewer) or Decision(code, reviewer=reviewer)
        kept = wb.suggestions(project.pk, [code]).get(code, [])
        return WorkItem(source, decision, tuple(kept))

    def _source(self, project: Project, code: str) -> SourceCode:
        found = self._sources(project, [code])
        if code not in found:
            raise NotFound(f"{code!r} is not a source code of project {project.id}",
                           expression=("code",))
        return found[code]

    def progress(self, project_id: str, reviewer: str = MAIN) -> Progress:
        project = self.get_project(project_id)
        cs, members_of = self._source_scope(project)
        total, counts = self.store.workbench.status_counts(
            project.pk, cs.pk, reviewer, members=members_of is not None)
        return Progress(total, {s: counts.get(s, 0) for s in STATUSES})

    # -- suggestions ---------------------------------------------------------------------------

    def suggest(self, project_id: str, code_or_text: str, *, unit: str | None = None,
                specimen: str | None = None, limit: int = 5) -> list[Suggestion]:
        """Live suggestions for a source code (or a free text): targets accepted before for
        the same normalised text in any project with this target system come first."""
        project = self.get_project(project_id)
        found = self._sources(project, [code_or_text])
        source = found.get(code_or_text)
        text = source_text(source) if source else code_or_text
        if source is not None:
            unit = unit or source.unit
            specimen = specimen or source.specimen
        live = suggest_for(self.scopes.searcher(project), source, text, unit=unit,
                           specimen=specimen, limit=limit)
        key = source_key(text)
        learned = self.store.workbench.accepted_by_key(project.target_system, [key]) \
            if key else {}
        return learned_first(live, learned.get(key, []) if key else [], text, limit)

    def search_targets(self, project_id: str, text: str, limit: int = 20) -> list[Suggestion]:
        """The target search box: the index's best matches for a free text."""
        project = self.get_project(project_id)
        if not text.strip():
            return []
        return suggest_for(self.scopes.searcher(project), None, text, unit=None,
                           specimen=None, limit=limit)

    def target_labels(self, project_id: str, codes: Sequence[str]) -> dict[str, str]:
        """Target names in the project's language (code → name), where the target has one."""
        return target_labels(self.store, self.get_project(project_id), codes)

    def warm_all(self) -> threading.Thread:
        """Prepare every project's suggestions in one daemon thread, one after the other (a
        server's start: the first suggestion after a restart then waits for nothing)."""
        def run() -> None:
            try:
                projects = self.list_projects()
            except Exception:  # the database is away: the pages will say so
                log.warning("warming the workbench projects failed", exc_info=True)
                return
            for project in projects:
                self.scopes.warm(project).join()

        thread = threading.Thread(target=run, daemon=True, name="workbench-warm")
        thread.start()
        return thread

    def warm(self, project_id: str) -> None:
        """Start building the project's suggestion index in the background (a page that
        will ask for suggestions calls this first)."""
        self.scopes.warm(self.get_project(project_id))

    def preparing(self, project_id: str) -> tuple[str | None, list[Job]]:
        """What is being prepared, without waiting: why suggestions are not ready (None when
        they are) and the project's queued or running jobs."""
        project = self.get_project(project_id)
        return self.scopes.preparing(project), self.store.workbench.open_jobs(project.pk)

    def start_suggest_job(self, project_id: str, author: str | None = None) -> Job:
        """Suggest every source code in the background; poll `job(id)` for progress."""
        project = self.get_project(project_id)
        self._source_scope(project)
        target_code_system(self.store, project)
        return self.jobs.start(project, lambda: self._sources(project), author)

    def job(self, job_id: str) -> Job:
        """A job with its progress. A queued/running job that no thread of this process runs
        and that reported no progress for STALE_JOB seconds is marked failed."""
        found = self.store.workbench.job(job_id)
        if found is None:
            raise NotFound(f"job {job_id!r} is not known")
        if found.state in ("queued", "running") and not self.jobs.running(job_id):
            beat = self.store.workbench.job_heartbeat(job_id) or found.started
            if _age(beat) > STALE_JOB:
                self.store.workbench.update_job(
                    job_id, state="failed", finished=stamp(),
                    error=f"no progress for {STALE_JOB} s: the process running it stopped")
                return self.job(job_id)
        return found

    def cancel_job(self, job_id: str) -> Job:
        """Ask a running job to stop (it stops after its current batch)."""
        job = self.job(job_id)
        if job.state in ("queued", "running") and not self.jobs.cancel(job_id):
            self.store.workbench.update_job(job_id, state="cancelled")  # not ours: orphaned
            return self.job(job_id)
        return job

    def bulk_accept(self, project_id: str, *, threshold: float, author: str | None,
                    review_share: float = REVIEW_SHARE, reviewer: str = MAIN,
                    dry_run: bool = False, seed: int | None = None) -> BulkResult:
        """Accept every open code whose top kept suggestion scores ≥ threshold, a random
        sample (review_share, at least one) to needs-review instead (mappings.bulkaccept)."""
        project = self.get_project(project_id)
        return bulk_accept(self.store, self.scopes, project, self._sources(project),
                           threshold=threshold, author=author, review_share=review_share,
                           reviewer=reviewer, dry_run=dry_run, seed=seed)

    # -- decisions -----------------------------------------------------------------------------

    def decide(self, project_id: str, source_code: str, *, status: str,
               targets: tuple[Target, ...] | list[Target] = (), comment: str | None = None,
               author: str | None, reviewer: str = MAIN, if_updated: str | None = None,
               action: str = "decide") -> Decision:
        """Record a curator's decision on one source code (validated, audited). `if_updated`
        is the `updated` of the decision the curator saw ("" for none): Conflict if it moved."""
        project = self.get_project(project_id)
        if reviewer != MAIN and not project.dual:
            raise InvalidRequest(f"project {project.id} is not a dual-mapping project: decide "
                                 "without a reviewer", expression=("reviewer",))
        source = self._source(project, source_code)
        decision = self._valid(project, Decision(
            source_code, cast(Status, status), tuple(targets), comment or None, reviewer,
            author, "", source.display))
        _, after = self.store.workbench.save_decision(
            project.pk, decision, action=action, source_key=source_key(source_text(source)),
            if_updated=if_updated)
        return after

    def _valid(self, project: Project, d: Decision) -> Decision:
        """The decision with checked status, relationships and targets (displays filled)."""
        if d.status not in STATUSES:
            raise InvalidRequest(f"unknown status {d.status!r}: use one of "
                                 f"{', '.join(STATUSES)}", expression=("status",))
        if d.status == "accepted" and not d.targets:
            raise InvalidRequest(f"accepting {d.source_code!r} needs at least one target",
                                 expression=("targets",))
        checked: list[Target] = []
        seen: set[tuple[str | None, str]] = set()
        for i, t in enumerate(d.targets):
            where = (f"targets[{i}]",)
            if t.relationship not in RELATIONSHIPS:
                raise InvalidRequest(f"unknown relationship {t.relationship!r}: use one of "
                                     f"{', '.join(RELATIONSHIPS)}", expression=where)
            system = None if t.system in (None, "", project.target_system) else t.system
            if (system, t.code) in seen:
                raise InvalidRequest(f"target {t.code!r} is given twice", expression=where)
            seen.add((system, t.code))
            checked.append(replace(t, system=system,
                                   display=t.display or self._target_display(project, t, system)))
        return replace(d, targets=tuple(checked))

    def _target_display(self, project: Project, t: Target, system: str | None) -> str | None:
        if system is None:
            cs = target_code_system(self.store, project)
            if not t.code or not self.scopes.contains(project, t.code):
                where = f" (ValueSet {project.target_valueset})" if project.target_valueset \
                    else ""
                raise InvalidRequest(f"{t.code!r} is not a code of the target scope "
                                     f"{cs.url}{'|' + cs.version if cs.version else ''}{where}",
                                     expression=("targets",))
        else:
            found = self.store.resolve_code_system(system, t.version)
            if found is None:
                raise InvalidRequest(f"target code system {system} is not stored",
                                     expression=("targets",))
            cs = found
        concept = self.store.concept(cs.pk, t.code)
        if concept is None:
            raise InvalidRequest(f"{t.code!r} is not a code of {cs.url}", expression=("targets",))
        return concept.display

    def history(self, project_id: str, source_code: str | None = None, *,
                limit: int | None = None) -> list[Event]:
        """The audit trail, newest first (at most `limit` events)."""
        return self.store.workbench.events(self.get_project(project_id), source_code, limit)

    def decisions(self, project_id: str, reviewer: str = MAIN, status: str | None = None
                  ) -> list[Decision]:
        if status is not None and status not in STATUSES:
            raise InvalidRequest(f"unknown status {status!r}", expression=("status",))
        return self.store.workbench.decisions(self.get_project(project_id).pk,
                                              reviewer=reviewer, status=status)

    def import_decisions(self, project_id: str, decisions: list[Decision],
                         author: str | None) -> int:
        """Store decisions read from an existing map (ConceptMap, CSV) in one transaction,
        each audited as "import". Statuses and relationships are checked; targets must be
        codes of their code system (all or nothing)."""
        project = self.get_project(project_id)
        sources = self._sources(project, [d.source_code for d in decisions])
        checked = []
        for d in decisions:
            if d.reviewer != MAIN and not project.dual:
                raise InvalidRequest(f"project {project.id} is not a dual-mapping project")
            src = sources.get(d.source_code)
            valid = self._valid(project, replace(
                d, author=author, updated="",
                source_display=src.display if src else d.source_display))
            checked.append((valid, source_key(source_text(src) if src else d.source_display)))
        return self.store.workbench.save_decisions(project.pk, checked, action="import")

    # -- dual mapping --------------------------------------------------------------------------

    def agreement(self, project_id: str, a: str, b: str) -> Agreement:
        """Agreement of reviewers a and b over the codes both decided (status beyond
        unmapped/suggested); Cohen's kappa over "status + first target code"."""
        project = self.get_project(project_id)
        wb = self.store.workbench
        first = {d.source_code: d for d in wb.decisions(project.pk, reviewer=a) if _decided(d)}
        second = {d.source_code: d for d in wb.decisions(project.pk, reviewer=b) if _decided(d)}
        both = sorted(first.keys() & second.keys())
        if project.source_valueset:
            scope = self._sources(project, both)
            both = [c for c in both if c in scope]
        return agreement_of((a, b), [(first[c], second[c]) for c in both])

    def reconcile(self, project_id: str, source_code: str, *, targets: tuple[Target, ...] |
                  list[Target], status: str, author: str | None,
                  comment: str | None = None) -> Decision:
        """Write the project's MAIN decision after comparing the curators' decisions."""
        return self.decide(project_id, source_code, status=status, targets=targets,
                           comment=comment, author=author, action="reconcile")

    # -- publish, export, re-validate (mappings.publish / exports / revalidate) ----------------

    def _published_input(self, project: Project) -> tuple[list[Decision], dict[str, SourceCode]]:
        decisions = self.store.workbench.decisions(project.pk, reviewer=MAIN)
        sources = self._sources(project)
        if project.source_valueset:  # decisions on codes the ValueSet no longer holds stay out
            decisions = [d for d in decisions if d.source_code in sources]
        return decisions, sources

    def publish(self, project_id: str, *, version: str, status: str = "draft",
                author: str | None = None) -> PublishResult:
        """Store the accepted decisions as ConceptMap map_url|version ($translate sees it)."""
        from mappings.publish import map_url, publish

        project = self.get_project(project_id)
        if status not in ("draft", "active"):
            raise InvalidRequest(f"publish status must be draft or active, not {status!r}",
                                 expression=("status",))
        check_map_url(self.store, map_url(project))  # never replace a loaded map
        decisions, sources = self._published_input(project)
        result = publish(self.store, project, decisions, sources, version=version,
                         status=status)
        self.store.workbench.add_event(project.pk, None, "publish", author, None,
                                       {**asdict(result), "status": status})
        return result

    def export(self, project_id: str, fmt: str) -> tuple[str, str]:
        """(media type, text) of the project's map in fmt (fhir-r4, fhir-r5, csv, sssom,
        omop)."""
        from mappings.exports import export_text

        project = self.get_project(project_id)
        decisions, sources = self._published_input(project)
        return export_text(fmt, project, decisions, sources)

    def revalidate(self, project_id: str, new_version: str | None = None) -> list[Flag]:
        """Accepted targets missing or inactive in `new_version` of the target system."""
        from mappings.revalidate import revalidate

        project = self.get_project(project_id)
        decisions = self.store.workbench.decisions(project.pk, reviewer=MAIN,
                                                   status="accepted")
        if project.source_valueset:  # only the codes the source ValueSet holds
            scope = self._sources(project, [d.source_code for d in decisions])
            decisions = [d for d in decisions if d.source_code in scope]
        return revalidate(self.store, project, decisions, new_version)


def _age(iso: str) -> float:
    """Seconds since an ISO-8601 UTC timestamp (large when unreadable)."""
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return (datetime.now(UTC) - then).total_seconds()


def _decided(d: Decision) -> bool:
    return d.status not in ("unmapped", "suggested")


def _category(d: Decision) -> tuple[str, str | None]:
    return d.status, d.targets[0].code if d.targets else None


def agreement_of(reviewers: tuple[str, str], pairs: list[tuple[Decision, Decision]]
                 ) -> Agreement:
    """Cohen's kappa: p_o = share of pairs in the same category, p_e = sum over categories
    of the product of both reviewers' marginal shares; kappa = (p_o - p_e) / (1 - p_e)."""
    n = len(pairs)
    if n == 0:
        return Agreement(reviewers, 0, 0, 0.0, None)
    same = [a.status == b.status and [t.code for t in a.targets] == [t.code for t in b.targets]
            for a, b in pairs]
    left = Counter(_category(a) for a, _ in pairs)
    right = Counter(_category(b) for _, b in pairs)
    p_o = sum(_category(a) == _category(b) for a, b in pairs) / n
    p_e = sum(left[c] * right.get(c, 0) for c in left) / (n * n)
    kappa = 1.0 if p_e == 1.0 else (p_o - p_e) / (1 - p_e)
    return Agreement(reviewers, n, sum(same), sum(same) / n, round(kappa, 6),
                     tuple(a.source_code for (a, _), ok in zip(pairs, same, strict=True)
                           if not ok))


__all__ = ["Workbench", "agreement_of"]
