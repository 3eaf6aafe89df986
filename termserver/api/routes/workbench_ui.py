"""The curator pages under /workbench: server-rendered Jinja2 with htmx partials.

Pages: the project list (new project, import a code list) and one project (progress,
filtered worklist, the selected code's suggestions and decision, batch suggestions, publish,
exports, import of an existing map, re-validation, dual-mapping agreement). Partials answer
htmx requests; an error renders as a small HTML message with the error's HTTP status (the
page's htmx config swaps error responses in too).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mappings.bulkaccept import OPEN
from mappings.model import MAIN, RELATIONSHIPS, STATUSES, Project, Target
from mappings.textsearch import IndexNotReady
from mappings.workbench import Workbench
from termserver.api.routes.workbench import (
    EXPORT_FORMATS,
    WorkbenchDep,
    column_mapping,
    curator,
    decisions_from_upload,
    identity,
    store_code_list,
    upload_bytes,
)
from termserver.api.routes.workbench_render import STATIC_DIR, shows_errors, templates
from termserver.api.routes.workbench_render import error as _error
from termserver.api.routes.workbench_render import render as _render
from termserver.api.routes.workbench_render import text as say
from termserver.errors import InvalidRequest, TerminologyError
from termserver.model import StoredCodeSystem

router = APIRouter(prefix="/workbench", include_in_schema=False)
PAGE_SIZE = 50
#: While something is being prepared (an index, a job), the page asks again this often.
RECHECK_SECONDS = 5
#: The page's keys (workbench.js), documented on the project page.
SHORTCUTS = (("j / k", "next / previous code"), ("a / Enter", "accept the top suggestion"),
             ("1 … 5", "accept suggestion n"), ("s", "skip to the next open code"),
             ("r", "reject"), ("n", "needs review"), ("/", "focus the target search"),
             ("Esc", "leave a field"))
#: Code systems with at least this many concepts are listed first in the target picker.
LARGE = 1000
__all__ = ["STATIC_DIR", "router", "templates"]


def _reviewer(project: Project, request: Request) -> str:
    """Dual-mapping projects show and record the curator's own blind decisions."""
    return (identity(request).name or MAIN) if project.dual else MAIN


# -- projects page ------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@shows_errors
def projects_page(request: Request, wb: WorkbenchDep) -> Response:
    stored = wb.store.code_systems()
    groups, default = target_choices(stored)
    local = [cs for cs in stored if cs.content == "complete" and cs.concept_count < LARGE]
    return _render(request, "projects.html", projects=wb.list_projects(),
                   target_groups=groups, default_target=default,
                   has_targets=any(entries for _, entries in groups), local_systems=local)


def target_choices(stored: list[StoredCodeSystem]
                   ) -> tuple[list[tuple[str, list[dict[str, Any]]]], str]:
    """The target picker: (group title, entries) with large code systems first, and the
    default choice (LOINC's newest when loaded). Each url offers its newest version ("url")
    and, when several are stored, each version ("url|version"); supplements and stubs
    without content are left out."""
    by_url: dict[str, list[StoredCodeSystem]] = {}
    for cs in stored:
        if cs.supplements or cs.content in ("not-present", "supplement"):
            continue
        by_url.setdefault(cs.url, []).append(cs)  # by version, oldest first
    large: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for url, versions in sorted(by_url.items()):
        newest = versions[-1]
        label = f"{newest.title or newest.name or url} — {url}" \
            if (newest.title or newest.name) else url
        entries = [{"value": url, "label": label, "version": newest.version, "pinned": False,
                    "concepts": newest.concept_count}]
        if len(versions) > 1:
            entries += [{"value": f"{url}|{cs.version}", "label": label, "version": cs.version,
                         "pinned": True, "concepts": cs.concept_count}
                        for cs in reversed(versions) if cs.version]
        (large if newest.concept_count >= LARGE else other).extend(entries)
    default = "http://loinc.org" if "http://loinc.org" in by_url else \
        (large or other or [{"value": ""}])[0]["value"]
    return [("Terminologies (1,000 concepts or more)", large), ("Other code systems", other)], \
        default


@router.post("/import", response_class=HTMLResponse)
async def import_codes(
        request: Request, wb: WorkbenchDep, file: Annotated[UploadFile, File()],
        url: Annotated[str, Form()], version: Annotated[str | None, Form()] = None,
        title: Annotated[str | None, Form()] = None,
        code_column: Annotated[str, Form()] = "code",
        display_column: Annotated[str | None, Form()] = None,
        unit_column: Annotated[str | None, Form()] = None,
        specimen_column: Annotated[str | None, Form()] = None,
        category_column: Annotated[str | None, Form()] = None,
        frequency_column: Annotated[str | None, Form()] = None,
        comment_column: Annotated[str | None, Form()] = None) -> Response:
    try:
        columns = column_mapping(code_column, display_column, unit_column, specimen_column,
                                 category_column, frequency_column, comment_column)
        raw = await upload_bytes(file)
        report = await run_in_threadpool(
            store_code_list, wb, raw, file.filename, columns, url.strip(),
            (version or "").strip() or None, title=title or None, author=curator(request))
    except TerminologyError as exc:
        return _error(request, exc)
    return _render(request, "_import_result.html", report=report)


@router.post("/projects", response_class=HTMLResponse)
@shows_errors
def create_project(request: Request, wb: WorkbenchDep, id: Annotated[str, Form()],
                   title: Annotated[str, Form()], source_system: Annotated[str, Form()],
                   target: Annotated[str | None, Form()] = None,
                   target_system: Annotated[str | None, Form()] = None,
                   source_version: Annotated[str | None, Form()] = None,
                   target_version: Annotated[str | None, Form()] = None,
                   source_valueset: Annotated[str | None, Form()] = None,
                   target_valueset: Annotated[str | None, Form()] = None,
                   map_url: Annotated[str | None, Form()] = None,
                   dual: Annotated[bool, Form()] = False) -> Response:
    """`target` is the picker's choice ("url" for its newest version, or "url|version");
    `target_system` and `target_version` (the JSON API's fields) are taken when it is not
    sent."""
    if target and target.strip():
        target_system, _, picked = target.strip().partition("|")
        target_version = picked or None
    project = wb.create_project(Project(
        id=id.strip(), title=title.strip(), source_system=source_system.strip(),
        source_version=(source_version or "").strip() or None,
        target_system=(target_system or "").strip(),
        target_version=(target_version or "").strip() or None,
        source_valueset=(source_valueset or "").strip() or None,
        target_valueset=(target_valueset or "").strip() or None,
        map_url=(map_url or "").strip() or None, dual=dual), curator(request))
    return Response(status_code=204,
                    headers={"HX-Redirect": f"/workbench/projects/{project.id}"})


# -- project page -------------------------------------------------------------------------


@router.get("/projects/{project_id}", response_class=HTMLResponse)
@shows_errors
def project_page(request: Request, project_id: str, wb: WorkbenchDep) -> Response:
    project = wb.get_project(project_id)
    return _render(request, "project.html", project=project, statuses=STATUSES,
                   shortcuts=SHORTCUTS, formats=tuple(EXPORT_FORMATS), open_statuses=OPEN,
                   relationships=RELATIONSHIPS)


@router.get("/projects/{project_id}/progress", response_class=HTMLResponse)
@shows_errors
def progress(request: Request, project_id: str, wb: WorkbenchDep) -> Response:
    project = wb.get_project(project_id)
    p = wb.progress(project_id, reviewer=_reviewer(project, request))
    parts = [(s, p.by_status.get(s, 0)) for s in STATUSES]
    return _render(request, "_progress.html", project=project, progress=p, parts=parts)


@router.get("/projects/{project_id}/worklist", response_class=HTMLResponse)
@shows_errors
def worklist(request: Request, project_id: str, wb: WorkbenchDep, status: str | None = None,
             text: str | None = None, offset: int = 0) -> Response:
    project = wb.get_project(project_id)
    if status and status not in STATUSES:
        raise InvalidRequest(f"unknown status '{status}'")
    offset = max(offset, 0)
    items, total = wb.worklist(project_id, status=status or None, text=text or None,
                               reviewer=_reviewer(project, request), offset=offset,
                               count=PAGE_SIZE)
    query = {"status": status or "", "text": text or ""}
    prev_q = urlencode({**query, "offset": max(offset - PAGE_SIZE, 0)}) if offset else None
    next_q = (urlencode({**query, "offset": offset + PAGE_SIZE})
              if offset + PAGE_SIZE < total else None)
    tops = [min(it.suggestions, key=lambda x: x.rank).code for it in items
            if it.suggestions and not it.decision.targets]
    return _render(request, "_worklist.html", project=project, items=items, total=total,
                   offset=offset, prev_q=prev_q, next_q=next_q,
                   labels=wb.target_labels(project_id, tops) if tops else {})


def _detail(request: Request, wb: Workbench, project: Project, code: str,
            headers: dict[str, str] | None = None) -> Response:
    item = wb.source_code(project.id, code, reviewer=_reviewer(project, request))
    building = None
    try:
        suggestions = wb.suggest(project.id, code, limit=5)
    except IndexNotReady as exc:  # the page says so and asks again (no silent wait)
        suggestions, building = [], exc.message
    events = wb.history(project.id, code)[:5]
    labels = wb.target_labels(project.id, [s.code for s in suggestions])
    return _render(request, "_detail.html", headers=headers, project=project, item=item,
                   suggestions=suggestions, events=events, relationships=RELATIONSHIPS,
                   labels=labels, building=building, recheck_seconds=RECHECK_SECONDS)


@router.get("/projects/{project_id}/code", response_class=HTMLResponse)
@shows_errors
def code_detail(request: Request, project_id: str, code: str, wb: WorkbenchDep) -> Response:
    return _detail(request, wb, wb.get_project(project_id), code)


@router.get("/projects/{project_id}/search", response_class=HTMLResponse)
@shows_errors
def search(request: Request, project_id: str, wb: WorkbenchDep, code: str | None = None,
           text: str = "") -> Response:
    """Target search results; their accept buttons decide on `code`, else on the code the
    detail panel shows (the page keeps the results while the panel changes)."""
    project = wb.get_project(project_id)
    building = None
    try:
        found = wb.search_targets(project_id, text, limit=10) if text.strip() else []
    except IndexNotReady as exc:
        found, building = [], exc.message
    labels = wb.target_labels(project_id, [s.code for s in found])
    return _render(request, "_search.html", project=project, code=code, found=found,
                   labels=labels, building=building, text=text)


@router.post("/projects/{project_id}/decide", response_class=HTMLResponse)
@shows_errors
def decide(request: Request, project_id: str, wb: WorkbenchDep,
           status: Annotated[str, Form()], code: Annotated[str | None, Form()] = None,
           target_code: Annotated[str | None, Form()] = None,
           target_display: Annotated[str | None, Form()] = None,
           relationship: Annotated[str, Form()] = "equivalent",
           comment: Annotated[str | None, Form()] = None,
           if_updated: Annotated[str | None, Form()] = None,
           next: Annotated[str | None, Form()] = None) -> Response:
    """Accept a target (replacing the decision's targets), reject, or mark for review (the
    targets stay, the first with the chosen relationship); without a target, `accepted`
    keeps the current targets. `if_updated` is
    the decision the curator saw: someone else's change since is a conflict, not lost.
    `next`: the code the panel shows afterwards (the page's auto-advance), else `code`."""
    project = wb.get_project(project_id)
    if not code:
        raise InvalidRequest(say(request, "select a code in the worklist first"))
    author = curator(request)
    if not author:
        raise InvalidRequest(say(request, "enter your name in the Curator field first"))
    reviewer = _reviewer(project, request)
    current = wb.source_code(project_id, code, reviewer=reviewer).decision
    if target_code:
        targets: tuple[Target, ...] = (Target(target_code, target_display or None,
                                              relationship),)
    elif status == "rejected" or not current.targets:
        targets = ()
    else:  # the select shows the first target's relationship
        targets = (replace(current.targets[0], relationship=relationship),
                   *current.targets[1:])
    after = wb.decide(project_id, code, status=status, targets=targets,
                      comment=(comment or "").strip() or None, author=author,
                      reviewer=reviewer, if_updated=if_updated)
    done = say(request, "{code}: {status}", code=code, status=say(request, after.status)) + \
        (f" → {after.targets[0].code}" if after.targets else "")
    events = json.dumps({"decided": None, "done": {"code": code, "message": done}})
    show = code
    if next and next != code:  # auto-advance: the page sends the next open code
        try:
            wb.source_code(project_id, next, reviewer=reviewer)
            show = next
        except TerminologyError:
            pass  # gone meanwhile: show the decided code
    return _detail(request, wb, project, show, headers={"HX-Trigger": events})


@router.post("/projects/{project_id}/suggest", response_class=HTMLResponse)
@shows_errors
def suggest_all(request: Request, project_id: str, wb: WorkbenchDep) -> Response:
    job = wb.start_suggest_job(project_id, author=curator(request))
    return _render(request, "_job.html", job=job, headers={"HX-Trigger": "job-started"})


@router.get("/projects/{project_id}/preparing", response_class=HTMLResponse)
@shows_errors
def preparing(request: Request, project_id: str, wb: WorkbenchDep) -> Response:
    """What is being prepared (the target index, Suggest all runs); asks again while any."""
    project = wb.get_project(project_id)
    index, jobs = wb.preparing(project_id)
    jobs = [found for found in (wb.job(j.id) for j in jobs)
            if found.state in ("queued", "running")]
    return _render(request, "_preparing.html", project=project, index=index, jobs=jobs,
                   recheck_seconds=RECHECK_SECONDS)


@router.post("/projects/{project_id}/bulk-accept", response_class=HTMLResponse)
@shows_errors
def bulk_accept(request: Request, project_id: str, wb: WorkbenchDep,
                threshold: Annotated[float, Form()],
                review_percent: Annotated[float, Form()] = 10.0,
                dry_run: Annotated[bool, Form()] = True) -> Response:
    """Preview (dry_run) or do a bulk accept above the threshold (mappings.bulkaccept)."""
    project = wb.get_project(project_id)
    author = curator(request)
    if not author:
        raise InvalidRequest(say(request, "enter your name in the Curator field first"))
    result = wb.bulk_accept(project_id, threshold=threshold, author=author,
                            review_share=review_percent / 100,
                            reviewer=_reviewer(project, request), dry_run=dry_run)
    return _render(request, "_bulk.html", project=project, result=result,
                   headers=None if dry_run else {"HX-Trigger": "decided"})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
@shows_errors
def job(request: Request, job_id: str, wb: WorkbenchDep) -> Response:
    found = wb.job(job_id)
    finished = found.state in ("done", "failed", "cancelled")
    return _render(request, "_job.html", job=found,
                   headers={"HX-Trigger": "decided"} if finished else None)


@router.post("/projects/{project_id}/publish", response_class=HTMLResponse)
@shows_errors
def publish(request: Request, project_id: str, wb: WorkbenchDep,
            version: Annotated[str, Form()], status: Annotated[str, Form()] = "draft"
            ) -> Response:
    project = wb.get_project(project_id)
    result = wb.publish(project_id, version=version.strip(), status=status,
                        author=curator(request))
    accepted = wb.decisions(project_id, status="accepted")
    example = None
    if accepted:
        example = "/fhir/ConceptMap/$translate?" + urlencode({
            "url": result.url, "system": project.source_system,
            "code": accepted[0].source_code})
    return _render(request, "_publish.html", result=result, example=example)


# -- maintenance: import a map, re-validate, agreement --------------------------------------


@router.post("/projects/{project_id}/import-map", response_class=HTMLResponse)
async def import_map(request: Request, project_id: str, wb: WorkbenchDep,
                     file: Annotated[UploadFile, File()]) -> Response:
    """Decisions from an existing ConceptMap (R4/R5 JSON) or CSV map into the project."""
    try:
        author = curator(request)
        if not author:
            raise InvalidRequest("who imports? sign in or send the X-Curator header")
        raw = await upload_bytes(file)
        found = await run_in_threadpool(decisions_from_upload, wb, project_id, raw,
                                        file.filename)
        imported = (await run_in_threadpool(wb.import_decisions, project_id, list(found),
                                            author) if found else 0)
    except TerminologyError as exc:
        return _error(request, exc)
    return _render(request, "_import_map.html", imported=imported, bad_rows=found.bad_rows,
                   headers={"HX-Trigger": "decided"})


@router.get("/projects/{project_id}/revalidate", response_class=HTMLResponse)
@shows_errors
def revalidate(request: Request, project_id: str, wb: WorkbenchDep,
               version: str | None = None) -> Response:
    """Accepted targets inactive or missing in a (newer) target version, with replacements."""
    flags = wb.revalidate(project_id, (version or "").strip() or None)
    return _render(request, "_revalidate.html", flags=flags, project_id=project_id)


@router.get("/projects/{project_id}/agreement", response_class=HTMLResponse)
@shows_errors
def agreement(request: Request, project_id: str, wb: WorkbenchDep, a: str, b: str) -> Response:
    """Cohen's kappa of two curators' blind decisions, and the codes to reconcile."""
    found = wb.agreement(project_id, a.strip(), b.strip())
    return _render(request, "_agreement.html", agreement=found, project_id=project_id)
