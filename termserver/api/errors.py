"""Every error leaves as an OperationOutcome with the issue's HTTP status; no stack traces.

Known errors are answered by exception handlers (inside the routing); anything else is caught
by `CatchAll`, directly inside Starlette's ServerErrorMiddleware, and answered as a 500
OperationOutcome without being re-raised: a re-raised exception makes the ASGI server drop the
keep-alive connection, so the client's next, unrelated request would fail.
"""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from termserver.api.responses import FHIRJSONResponse
from termserver.errors import TerminologyError, Unauthorized
from termserver.fhir.outcome import operation_outcome
from termserver.model import Issue

log = logging.getLogger("termserver.api")

_HTTP_ISSUE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found",
               405: "not-supported", 406: "not-supported", 409: "conflict", 412: "conflict",
               413: "too-long", 415: "not-supported", 422: "business-rule"}


def install(app: FastAPI) -> None:
    app.add_exception_handler(TerminologyError, _terminology_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    build = app.build_middleware_stack

    def build_with_catch_all() -> ASGIApp:
        """Starlette's stack with CatchAll just inside ServerErrorMiddleware (outermost of
        the user middleware, whatever order they are added in)."""
        stack = build()
        inner = getattr(stack, "app", None)
        if inner is not None:
            stack.app = CatchAll(inner)  # type: ignore[attr-defined]
        return stack

    app.build_middleware_stack = build_with_catch_all  # type: ignore[method-assign]


def error_response(exc: TerminologyError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return FHIRJSONResponse(operation_outcome(exc.issues()), status_code=exc.http_status,
                            headers=headers)


async def _terminology_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TerminologyError)
    log.info("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = [Issue("error", "invalid", str(e.get("msg", "invalid request")),
                    expression=(".".join(str(p) for p in e.get("loc", ())),))
              for e in exc.errors()]
    return FHIRJSONResponse(operation_outcome(issues), status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        text = f"no such FHIR endpoint: {request.method} {request.url.path}"
    elif status == 405:
        text = f"{request.method} is not allowed on {request.url.path}"
    else:
        text = str(exc.detail)
    issue = Issue("error", _HTTP_ISSUE.get(status, "processing"), text)
    return FHIRJSONResponse(operation_outcome([issue]), status_code=status,
                            headers=getattr(exc, "headers", None))


class CatchAll:
    """ASGI middleware: any exception that escapes the application becomes an
    OperationOutcome (TerminologyError: its status; HTTPException: its status; else 500) and
    is never re-raised, so the connection stays usable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - every failure leaves as an OperationOutcome
            if started:  # too late for an answer: log it, end the request quietly
                log.exception("error after the response started", exc_info=exc)
                return
            response = exception_response(exc)
            await response(scope, receive, send)


def exception_response(exc: Exception) -> Response:
    """The OperationOutcome answer for any exception."""
    if isinstance(exc, TerminologyError):
        return error_response(exc)
    if isinstance(exc, StarletteHTTPException):
        issue = Issue("error", _HTTP_ISSUE.get(exc.status_code, "processing"), str(exc.detail))
        return FHIRJSONResponse(operation_outcome([issue]), status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
    return unexpected_error_response(exc)


def unexpected_error_response(exc: Exception) -> Response:
    """A 500 OperationOutcome with a log reference; the stack trace goes to the log only."""
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error, reference %s", reference, exc_info=exc)
    issue = Issue("error", "exception",
                  f"Internal error; see the server log, reference {reference}")
    return FHIRJSONResponse(operation_outcome([issue]), status_code=500)
