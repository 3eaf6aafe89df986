"""The curation workbench's JSON API under /workbench/api: thin routes over
mappings.workbench.Workbench. Errors are TerminologyErrors, so they leave as OperationOutcome
with the issue's HTTP status (termserver.api.errors), like every other error of the server.

The curator making a change is the authenticated identity (the token's name,
termserver.api.auth). Only on a server without any tokens may a client declare a name (the
body's `author`, else the `X-Curator` header, else the `curator` cookie); the audit trail marks
such a name "(unauthenticated)". A curator sees and writes only their own blind dual-mapping
decisions (`reviewer`): asking for another reviewer's gets 403.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from mappings.exports import FORMATS
from mappings.importer import ColumnMapping, ImportDiff, ImportResult, read_code_list_bytes
from mappings.mapimport import (
    MapImport,
    concept_map_json,
    decisions_from_concept_map,
    decisions_from_csv,
)
from mappings.model import MAIN, STATUSES, Project, Target
from mappings.suggest import Suggestion
from mappings.textsearch import IndexNotReady
from mappings.workbench import Workbench
from termserver.api.auth import (
    ANONYMOUS,
    Forbidden,
    Identity,
    auth_configured,
    request_identity,
)
from termserver.api.deps import get_store
from termserver.api.errors import error_response
from termserver.api.routes import workbench_models as m
from termserver.errors import InvalidRequest

router = APIRouter(prefix="/workbench/api", tags=["workbench"])

_EXTENSIONS = {"fhir-r4": "json", "fhir-r5": "json", "sssom": "sssom.tsv"}
#: Download file name extension per export format (mappings.exports.FORMATS).
EXPORT_FORMATS = {fmt: _EXTENSIONS.get(fmt, "csv") for fmt in FORMATS}
MAX_UPLOAD = 50 * 1024 * 1024
_CREATING = threading.Lock()


def get_workbench(request: Request) -> Workbench:
    """One Workbench per app (it keeps the suggestion indexes and running jobs)."""
    state = request.app.state
    wb: Workbench | None = getattr(state, "workbench", None)
    if wb is None:
        with _CREATING:
            wb = getattr(state, "workbench", None)
            if wb is None:
                wb = state.workbench = Workbench(get_store(request))
    return wb


WorkbenchDep = Annotated[Workbench, Depends(get_workbench)]
CuratorHeader = Annotated[str | None, Header(
    alias="X-Curator", description="the curator making the change, only on a server without "
                                   "tokens (else the token's name is the curator)")]


def identity(request: Request, given: str | None = None) -> Identity:
    """Who makes the request: the authenticated identity; on a server without any tokens, the
    name the client declares (`given`, a body field, else X-Curator, else the curator cookie;
    header and cookie may be percent-encoded UTF-8, as a header value must be Latin-1)."""
    found = request_identity(request)
    if found.authenticated or auth_configured(request):  # tokens or an OIDC issuer
        return found
    name = (given or unquote(request.headers.get("x-curator")
                             or request.cookies.get("curator") or "")).strip()
    return Identity(name) if name else ANONYMOUS


def curator(request: Request, given: str | None = None) -> str | None:
    """The author the audit trail records for this request (see `identity`)."""
    return identity(request, given).author


def own_reviewer(request: Request, reviewer: str) -> str:
    """`reviewer` when it is the project decision ('') or the caller's own blind decisions."""
    if reviewer == MAIN:
        return MAIN
    name = identity(request).name
    if name is None or reviewer != name:
        raise Forbidden(f"the blind decisions of reviewer {reviewer!r} are not yours; a "
                        "curator sees and writes only their own (reviewer = your name)",
                        expression=("reviewer",))
    return reviewer


# -- uploads ------------------------------------------------------------------------------


async def upload_bytes(file: UploadFile) -> bytes:
    raw = await file.read(MAX_UPLOAD + 1)
    if len(raw) > MAX_UPLOAD:
        raise InvalidRequest(f"the upload is larger than {MAX_UPLOAD // (1024 * 1024)} MB")
    if not raw:
        raise InvalidRequest("the uploaded file is empty")
    return raw


def read_upload(raw: bytes, filename: str | None, columns: ColumnMapping) -> ImportResult:
    """Read an uploaded code list through the importer (the suffix of the upload's name picks
    CSV/TSV/XLSX/gzip, the contents decide when it is missing; limits: loaders.bounded)."""
    return read_code_list_bytes(raw, filename, columns)


def column_mapping(code: str, display: str | None, unit: str | None, specimen: str | None,
                   category: str | None, frequency: str | None,
                   comment: str | None) -> ColumnMapping:
    """Header names from a form; blank fields are not mapped (`code` defaults to "code")."""
    def opt(v: str | None) -> str | None:
        return v.strip() or None if v else None
    return ColumnMapping(code=opt(code) or "code", display=opt(display), unit=opt(unit),
                         specimen=opt(specimen), category=opt(category),
                         frequency=opt(frequency), comment=opt(comment))


def import_report(result: ImportResult, url: str, version: str | None, outcome: str,
                  diff: ImportDiff) -> m.ImportReport:
    return m.ImportReport(
        url=url, version=version, outcome=outcome, rows=len(result.rows),
        total_rows=result.total_rows,
        bad_rows=[m.BadRowOut.model_validate(b) for b in result.bad_rows],
        diff=m.DiffOut.model_validate(diff))


def targets_from(items: list[m.TargetIO]) -> tuple[Target, ...]:
    return tuple(Target(**t.model_dump()) for t in items)


def _item(item: Any) -> m.WorkItemOut:
    return m.WorkItemOut.model_validate(item)


# -- projects -----------------------------------------------------------------------------


@router.get("/projects", summary="List map projects")
def list_projects(wb: WorkbenchDep) -> list[m.ProjectOut]:
    return [m.ProjectOut.model_validate(p) for p in wb.list_projects()]


@router.post("/projects", status_code=201, summary="Create a map project")
def create_project(body: m.ProjectIn, request: Request, wb: WorkbenchDep,
                   x_curator: CuratorHeader = None) -> m.ProjectOut:
    fields = body.model_dump(exclude={"author"})
    project = wb.create_project(Project(**fields), curator(request, body.author))
    return m.ProjectOut.model_validate(project)


@router.get("/projects/{project_id}", summary="Read a map project")
def get_project(project_id: str, wb: WorkbenchDep) -> m.ProjectOut:
    return m.ProjectOut.model_validate(wb.get_project(project_id))


@router.patch("/projects/{project_id}", summary="Change a map project's fields")
def update_project(project_id: str, body: m.ProjectPatch, request: Request, wb: WorkbenchDep,
                   x_curator: CuratorHeader = None) -> m.ProjectOut:
    changes = body.model_dump(exclude_unset=True)
    project = wb.update_project(project_id, curator(request), **changes)
    return m.ProjectOut.model_validate(project)


# -- source code lists --------------------------------------------------------------------


@router.post("/codesystems/import", summary="Import a local code list (CSV, TSV, XLSX)")
async def import_code_list(
        request: Request, wb: WorkbenchDep,
        file: Annotated[UploadFile, File(description="CSV, TSV or XLSX, optionally gzipped")],
        url: Annotated[str, Form(description="canonical URL of the local code system")],
        version: Annotated[str | None, Form()] = None,
        name: Annotated[str | None, Form()] = None,
        title: Annotated[str | None, Form()] = None,
        code_column: Annotated[str, Form()] = "code",
        display_column: Annotated[str | None, Form()] = "display",
        unit_column: Annotated[str | None, Form()] = None,
        specimen_column: Annotated[str | None, Form()] = None,
        category_column: Annotated[str | None, Form()] = None,
        frequency_column: Annotated[str | None, Form()] = None,
        comment_column: Annotated[str | None, Form()] = None,
        x_curator: CuratorHeader = None) -> m.ImportReport:
    """Stores the good rows as CodeSystem `url|version` (replacing an earlier import) and
    reports the bad rows by line and the difference to the previously stored list."""
    columns = column_mapping(code_column, display_column, unit_column, specimen_column,
                             category_column, frequency_column, comment_column)
    raw = await upload_bytes(file)
    return await run_in_threadpool(
        store_code_list, wb, raw, file.filename, columns, url, version or None,
        name=name or None, title=title or None, author=curator(request))


def store_code_list(wb: Workbench, raw: bytes, filename: str | None, columns: ColumnMapping,
                    url: str, version: str | None, *, name: str | None = None,
                    title: str | None = None, author: str | None = None) -> m.ImportReport:
    """Read an uploaded code list and store it (blocking: run it in the thread pool)."""
    result = read_upload(raw, filename, columns)
    outcome, diff = wb.import_codes(result, url, version, name=name, title=title,
                                    author=author)
    return import_report(result, url, version, outcome, diff)


# -- worklist and decisions ---------------------------------------------------------------


@router.get("/projects/{project_id}/worklist", summary="Source codes with their decisions")
def worklist(project_id: str, request: Request, wb: WorkbenchDep, status: str | None = None,
             text: str | None = None, reviewer: str = MAIN,
             offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
             count: Annotated[int, Query(ge=1, le=1000)] = 50) -> m.Worklist:
    if status and status not in STATUSES:
        raise InvalidRequest(f"unknown status '{status}'; use one of {', '.join(STATUSES)}",
                             expression=("status",))
    items, total = wb.worklist(project_id, status=status or None, text=text or None,
                               reviewer=own_reviewer(request, reviewer), offset=offset,
                               count=count)
    return m.Worklist(total=total, offset=offset, count=len(items),
                      items=[_item(i) for i in items])


@router.get("/projects/{project_id}/progress", summary="Counts per status")
def progress(project_id: str, request: Request, wb: WorkbenchDep, reviewer: str = MAIN
             ) -> m.ProgressOut:
    p = wb.progress(project_id, reviewer=own_reviewer(request, reviewer))
    return m.ProgressOut(total=p.total, reviewed=p.reviewed, by_status=dict(p.by_status))


_BUILDING: dict[int | str, dict[str, Any]] = {
    503: {"description": "the target's text index is being built (Retry-After)"}}


@router.get("/projects/{project_id}/codes/{code:path}", response_model=m.CodeDetail,
            responses=_BUILDING,
            summary="One source code with its decision and live suggestions")
def source_code(project_id: str, code: str, wb: WorkbenchDep,
                limit: Annotated[int, Query(ge=1, le=50)] = 5) -> m.CodeDetail | Response:
    """503 (an OperationOutcome, issue `transient`, and Retry-After) while the target code
    system's text index is being built."""
    item = wb.source_code(project_id, code)
    try:
        found = wb.suggest(project_id, code, limit=limit)
    except IndexNotReady as exc:
        return _not_ready(exc)
    return m.CodeDetail(item=_item(item), suggestions=_labelled(wb, project_id, found))


@router.get("/projects/{project_id}/search", response_model=list[m.SuggestionOut],
            responses=_BUILDING, summary="Search the project's target codes")
def search(project_id: str, wb: WorkbenchDep, text: str,
           limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[m.SuggestionOut] | Response:
    """503 (as for a code's suggestions) while the target's text index is being built."""
    try:
        found = wb.search_targets(project_id, text, limit=limit)
    except IndexNotReady as exc:
        return _not_ready(exc)
    return _labelled(wb, project_id, found)


#: Seconds a client is asked to wait before it asks again while an index is being built.
RETRY_AFTER = 5


def _not_ready(exc: IndexNotReady) -> Response:
    response = error_response(exc)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _labelled(wb: Workbench, project_id: str, found: list[Suggestion]) -> list[m.SuggestionOut]:
    labels = wb.target_labels(project_id, [s.code for s in found])
    return [m.SuggestionOut.model_validate(s).model_copy(update={"label": labels.get(s.code)})
            for s in found]


@router.put("/projects/{project_id}/codes/{code:path}/decision", summary="Decide on a source code")
def decide(project_id: str, code: str, body: m.DecisionIn, request: Request, wb: WorkbenchDep,
           x_curator: CuratorHeader = None) -> m.DecisionOut:
    author = curator(request, body.author)
    if not author:
        raise InvalidRequest("who decides? send the curator's name as 'author' or in the "
                             "X-Curator header", expression=("author",))
    reviewer = own_reviewer(request, body.reviewer)
    decision = wb.decide(project_id, code, status=body.status, targets=targets_from(body.targets),
                         comment=body.comment, author=author, reviewer=reviewer,
                         if_updated=body.if_updated)
    return m.DecisionOut.model_validate(decision)


@router.get("/projects/{project_id}/history", summary="Audit trail, newest first")
def history(project_id: str, request: Request, wb: WorkbenchDep, code: str | None = None
            ) -> list[m.EventOut]:
    """Events of the project decisions and of the caller's own blind decisions."""
    mine = (MAIN, identity(request).name)
    return [m.EventOut.model_validate(e) for e in wb.history(project_id, code or None)
            if e.reviewer in mine]


# -- batch suggestions --------------------------------------------------------------------


@router.post("/projects/{project_id}/jobs/suggest", status_code=202,
             summary="Suggest targets for every source code in the background")
def start_suggest(project_id: str, request: Request, wb: WorkbenchDep,
                  x_curator: CuratorHeader = None) -> m.JobOut:
    return m.JobOut.model_validate(wb.start_suggest_job(project_id, author=curator(request)))


@router.get("/jobs/{job_id}", summary="A background job's progress")
def job(job_id: str, wb: WorkbenchDep) -> m.JobOut:
    return m.JobOut.model_validate(wb.job(job_id))


@router.post("/jobs/{job_id}/cancel", summary="Stop a running job after its current batch")
def cancel_job(job_id: str, wb: WorkbenchDep) -> m.JobOut:
    return m.JobOut.model_validate(wb.cancel_job(job_id))


@router.post("/projects/{project_id}/bulk-accept",
             summary="Accept open codes whose top suggestion scores above a threshold")
def bulk_accept(project_id: str, body: m.BulkAcceptIn, request: Request, wb: WorkbenchDep,
                x_curator: CuratorHeader = None) -> m.BulkAcceptOut:
    """Uses the suggestions "Suggest all" kept; a random sample (`review_share`, at least one
    code) goes to needs-review instead, all audited under the curator's name ("bulk-accept",
    with the threshold)."""
    result = wb.bulk_accept(project_id, threshold=body.threshold,
                            author=curator(request, body.author),
                            review_share=body.review_share,
                            reviewer=own_reviewer(request, body.reviewer), dry_run=body.dry_run)
    return m.BulkAcceptOut.model_validate(result)


# -- dual mapping -------------------------------------------------------------------------


@router.get("/projects/{project_id}/agreement", summary="Cohen's kappa of two curators")
def agreement(project_id: str, a: str, b: str, wb: WorkbenchDep) -> m.AgreementOut:
    return m.AgreementOut.model_validate(wb.agreement(project_id, a, b))


@router.post("/projects/{project_id}/codes/{code:path}/reconcile",
             summary="Write the project decision after dual mapping")
def reconcile(project_id: str, code: str, body: m.ReconcileIn, request: Request,
              wb: WorkbenchDep, x_curator: CuratorHeader = None) -> m.DecisionOut:
    author = curator(request, body.author)
    if not author:
        raise InvalidRequest("who reconciles? send 'author' or the X-Curator header",
                             expression=("author",))
    decision = wb.reconcile(project_id, code, targets=targets_from(body.targets),
                            status=body.status, author=author, comment=body.comment)
    return m.DecisionOut.model_validate(decision)


# -- publish, export, import, re-validate -------------------------------------------------


@router.post("/projects/{project_id}/publish",
             summary="Publish accepted decisions as a stored ConceptMap")
def publish(project_id: str, body: m.PublishIn, request: Request, wb: WorkbenchDep,
            x_curator: CuratorHeader = None) -> m.PublishOut:
    result = wb.publish(project_id, version=body.version, status=body.status,
                        author=curator(request, body.author))
    return m.PublishOut.model_validate(result)


@router.get("/projects/{project_id}/export", summary="Download the map",
            response_class=Response,
            responses={200: {"description": "the map in the requested format",
                             "content": {"application/json": {}, "text/csv": {},
                                         "text/tab-separated-values": {}}}})
def export(project_id: str, wb: WorkbenchDep,
           format: Annotated[str, Query(description=", ".join(EXPORT_FORMATS))] = "fhir-r4"
           ) -> Response:
    if format not in EXPORT_FORMATS:
        raise InvalidRequest(f"unknown export format '{format}'; use one of "
                             f"{', '.join(EXPORT_FORMATS)}", expression=("format",))
    media_type, text = wb.export(project_id, format)
    filename = f"{project_id}-{format}.{EXPORT_FORMATS[format]}"
    return Response(text, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post("/projects/{project_id}/import-map",
             summary="Import decisions from a ConceptMap (R4/R5 JSON) or a CSV map")
async def import_map(project_id: str, request: Request, wb: WorkbenchDep,
                     file: Annotated[UploadFile, File(description="ConceptMap JSON or CSV")],
                     x_curator: CuratorHeader = None) -> m.MapImportReport:
    raw = await upload_bytes(file)
    author = curator(request)
    if not author:
        raise InvalidRequest("who imports? send the X-Curator header", expression=("author",))
    found = await run_in_threadpool(decisions_from_upload, wb, project_id, raw, file.filename)
    imported = (await run_in_threadpool(wb.import_decisions, project_id, list(found), author)
                if found else 0)
    return m.MapImportReport(imported=imported,
                             bad_rows=[m.BadRowOut.model_validate(b) for b in found.bad_rows])


def decisions_from_upload(wb: Workbench, project_id: str, raw: bytes, filename: str | None
                          ) -> MapImport:
    """Decisions (and bad CSV rows) from an uploaded ConceptMap JSON or CSV map."""
    project = wb.get_project(project_id)
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if (filename or "").lower().endswith(".json") or head == b"{":
        return decisions_from_concept_map(concept_map_json(raw, filename), project)
    return decisions_from_csv(raw, project=project)


@router.get("/projects/{project_id}/revalidate",
            summary="Targets inactive or missing in a newer target version")
def revalidate(project_id: str, wb: WorkbenchDep, version: str | None = None
               ) -> list[m.FlagOut]:
    return [m.FlagOut.model_validate(f) for f in wb.revalidate(project_id, version or None)]
