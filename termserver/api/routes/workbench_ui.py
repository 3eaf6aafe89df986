"""The curator pages under /workbench: server-rendered Jinja2 with htmx partials.

Pages: the project list (new project, import a code list) and one project (progress,
filtered worklist, the selected code's suggestions and decision, batch suggestions, publish,
exports, import of an existing map, re-validation, dual-mapping agreement). Partials answer
htmx requests; an error renders as a small HTML message with the error's HTTP status (the
page's htmx config swaps error responses in too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, ParamSpec
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

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
from termserver.api.sessions import (
    CSRF_COOKIE,
    FORM_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Keys,
    LoginThrottle,
)
from termserver.errors import InvalidRequest, TerminologyError

router = APIRouter(prefix="/workbench", include_in_schema=False)
_API_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = _API_DIR / "static"
templates = Jinja2Templates(directory=_API_DIR / "templates")
PAGE_SIZE = 50
#: While the target's text index is being built, the code's panel asks again this often.
RECHECK_SECONDS = 5
SHORTCUTS = (("j / k", "next / previous code"), ("1 … 5", "accept suggestion n"),
             ("r", "reject"), ("n", "needs review"), ("/", "search targets"))

P = ParamSpec("P")


def _render(request: Request, name: str, status_code: int = 200,
            headers: dict[str, str] | None = None, **context: Any) -> Response:
    return templates.TemplateResponse(request, f"workbench/{name}", context,
                                      status_code=status_code, headers=headers)


def _error(request: Request, exc: TerminologyError) -> Response:
    """The error as a partial for htmx requests, else as a whole page."""
    name = "_error.html" if request.headers.get("hx-request") else "error.html"
    return _render(request, name, exc.http_status, message=exc.message,
                   http_status=exc.http_status)


def shows_errors(route: Callable[P, Response]) -> Callable[P, Response]:
    """Render a TerminologyError as the error partial (status kept) instead of JSON."""
    @wraps(route)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return route(*args, **kwargs)
        except TerminologyError as exc:
            request = kwargs["request"]
            assert isinstance(request, Request)
            return _error(request, exc)
    return wrapper


def _reviewer(project: Project, request: Request) -> str:
    """Dual-mapping projects show and record the curator's own blind decisions."""
    return (identity(request).name or MAIN) if project.dual else MAIN


# -- projects page ------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@shows_errors
def projects_page(request: Request, wb: WorkbenchDep) -> Response:
    return _render(request, "projects.html", projects=wb.list_projects())


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
                   target_system: Annotated[str, Form()],
                   source_version: Annotated[str | None, Form()] = None,
                   target_version: Annotated[str | None, Form()] = None,
                   source_valueset: Annotated[str | None, Form()] = None,
                   target_valueset: Annotated[str | None, Form()] = None,
                   map_url: Annotated[str | None, Form()] = None,
                   dual: Annotated[bool, Form()] = False) -> Response:
    project = wb.create_project(Project(
        id=id.strip(), title=title.strip(), source_system=source_system.strip(),
        source_version=(source_version or "").strip() or None,
        target_system=target_system.strip(),
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
                   shortcuts=SHORTCUTS, formats=tuple(EXPORT_FORMATS),
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
    return _render(request, "_worklist.html", project=project, items=items, total=total,
                   offset=offset, prev_q=prev_q, next_q=next_q)


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
def search(request: Request, project_id: str, code: str, wb: WorkbenchDep,
           text: str = "") -> Response:
    project = wb.get_project(project_id)
    building = None
    try:
        found = wb.search_targets(project_id, text, limit=10) if text.strip() else []
    except IndexNotReady as exc:
        found, building = [], exc.message
    labels = wb.target_labels(project_id, [s.code for s in found])
    return _render(request, "_search.html", project=project, code=code, found=found,
                   labels=labels, building=building)


@router.post("/projects/{project_id}/decide", response_class=HTMLResponse)
@shows_errors
def decide(request: Request, project_id: str, wb: WorkbenchDep, code: Annotated[str, Form()],
           status: Annotated[str, Form()], target_code: Annotated[str | None, Form()] = None,
           target_display: Annotated[str | None, Form()] = None,
           relationship: Annotated[str, Form()] = "equivalent",
           comment: Annotated[str | None, Form()] = None,
           if_updated: Annotated[str | None, Form()] = None) -> Response:
    """Accept a target (replacing the decision's targets), reject, or mark for review (the
    targets stay, the first with the chosen relationship); without a target, `accepted`
    keeps the current targets. `if_updated` is
    the decision the curator saw: someone else's change since is a conflict, not lost."""
    project = wb.get_project(project_id)
    author = curator(request)
    if not author:
        raise InvalidRequest("enter your name in the Curator field first")
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
    wb.decide(project_id, code, status=status, targets=targets,
              comment=(comment or "").strip() or None, author=author, reviewer=reviewer,
              if_updated=if_updated)
    return _detail(request, wb, project, code, headers={"HX-Trigger": "decided"})


@router.post("/projects/{project_id}/suggest", response_class=HTMLResponse)
@shows_errors
def suggest_all(request: Request, project_id: str, wb: WorkbenchDep) -> Response:
    job = wb.start_suggest_job(project_id, author=curator(request))
    return _render(request, "_job.html", job=job)


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


# -- sign-in (only needed when the server has tokens) ---------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a workbench path: never an open redirect."""
    if target and target.startswith("/workbench") and "//" not in target:
        return target
    return "/workbench"


def _keys(request: Request) -> Keys:
    """The server's tokens and signing key (one per app)."""
    state = request.app.state
    keys: Keys | None = getattr(state, "session_keys", None)
    if keys is None:
        keys = state.session_keys = Keys(state.settings)
    return keys


def _throttle(request: Request) -> LoginThrottle:
    state = request.app.state
    found: LoginThrottle | None = getattr(state, "login_throttle", None)
    if found is None:
        found = state.login_throttle = LoginThrottle()
    return found


def _login_form(request: Request, next: str | None, status_code: int = 200,
                message: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """The sign-in page with a fresh form token, also set as a cookie (double submit)."""
    token = _keys(request).form_token()
    response = _render(request, "login.html", status_code, headers=headers,
                       next=_safe_next(next), message=message, csrf=token)
    response.set_cookie(CSRF_COOKIE, token, max_age=FORM_SECONDS, httponly=True,
                        samesite="strict", path="/workbench/login",
                        secure=request.url.scheme == "https")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return _login_form(request, next)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, token: Annotated[str, Form()],
          csrf: Annotated[str | None, Form()] = None,
          next: Annotated[str | None, Form()] = None) -> Response:
    """Check the form token and the bearer token; keep a signed session (the token's name and
    an expiry, never the token) in an HttpOnly cookie. Failed attempts are throttled per
    client address (termserver.api.sessions)."""
    keys, throttle = _keys(request), _throttle(request)
    client = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(client)
    if wait:
        return _login_form(request, next, 429, headers={"Retry-After": str(wait)},
                           message=f"Too many failed sign-ins; try again in {wait} s.")
    if not keys.check_form_token(csrf, request.cookies.get(CSRF_COOKIE)):
        return _login_form(request, next, 403,
                           message="The sign-in form expired or did not come from this "
                                   "server; please try again.")
    info = keys.token(token.strip())
    if info is None:
        throttle.failed(client)
        return _login_form(request, next, 401,
                           message="This token is not valid on this server.")
    throttle.succeeded(client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, keys.session(info), max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", path="/workbench",
                        secure=request.url.scheme == "https")
    response.delete_cookie(CSRF_COOKIE, path="/workbench/login")
    return response


@router.get("/logout")
def logout() -> Response:
    response = RedirectResponse("/workbench/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/workbench")
    return response
