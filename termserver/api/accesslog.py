"""Logging set-up, the access log and request ids.

Logs go to stderr through the standard library's `logging` (so uvicorn's, SQLAlchemy's and our
own loggers share one format), as plain text or, with TERMSERVER_LOG_FORMAT=json, one JSON
object per line (python-json-logger formats; it only adds a Formatter, so every library that
logs through `logging` is covered without wrapping it, which structlog would need).

`AccessLog` (outermost middleware) gives each request an id, the client's `X-Request-ID` when
it sent a well-formed one, else a new one; returns it as `X-Request-ID`; puts it on every log
line written while the request runs; and logs one line per request on `termserver.access`:
method, path, status, duration and request id. The query string is never logged (it may
carry codes from patient data); the path is logged as sent (percent-encoded). The same
middleware counts the request in the Prometheus metrics (termserver.metrics)."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from urllib.parse import quote

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from termserver import metrics
from termserver.fhir.capabilities import OPERATIONS, SYSTEM_OPERATIONS
from termserver.model import RESOURCE_TYPES

ACCESS = logging.getLogger("termserver.access")
#: The id of the request being answered ("-" outside one), on every log record.
REQUEST_ID: ContextVar[str] = ContextVar("termserver_request_id", default="-")
HEADER = b"x-request-id"
#: A client's request id is used only when it looks like one (no spaces, bounded length).
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
PLAIN = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
_MAX_PATH = 1000


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class _Stderr(logging.Handler):
    """Writes to the current sys.stderr (looked up per record, as logging's last resort does)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "INFO", fmt: str = "plain") -> None:
    """Install (or replace) the server's stderr handler on the root logger; idempotent."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    handler = _Stderr()
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(JSON_FIELDS, rename_fields={
            "asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    root.addHandler(handler)
    root.setLevel(level)


def request_id(scope: Scope) -> str:
    """The client's well-formed X-Request-ID, else a new random one."""
    for name, value in scope.get("headers", []):
        if name == HEADER:
            sent = str(value.decode("latin-1")).strip()
            if _WELL_FORMED.fullmatch(sent):
                return sent
            break
    return uuid.uuid4().hex


def classify(method: str, path: str, operations: frozenset[str]) -> tuple[str, str]:
    """(operation, resource type) of a request, from a bounded set of values: a FHIR operation
    this server has (`operations`; others are `$other`), read/search/create/update/delete/
    history, metadata, batch, workbench-api, workbench-ui, ops, docs or other."""
    if path in ("/livez", "/readyz", "/metrics"):
        return "ops", ""
    if path in ("/docs", "/openapi.json") or path.startswith("/docs/"):
        return "docs", ""
    if path.startswith("/workbench"):
        return ("workbench-api" if path.startswith("/workbench/api") else "workbench-ui"), ""
    if path != "/fhir" and not path.startswith("/fhir/"):
        return "other", ""
    parts = [p for p in path[len("/fhir"):].split("/") if p]
    if not parts:
        return ("batch" if method == "POST" else "other"), ""
    if parts[0] == "metadata" and len(parts) == 1:
        return "metadata", ""
    if parts[0].startswith("$"):
        return (parts[0] if parts[0] in operations else "$other"), ""
    if parts[0] not in RESOURCE_TYPES:
        return "other", ""
    resource = parts[0]
    last = parts[-1]
    if last.startswith("$"):
        return (last if last in operations else "$other"), resource
    if len(parts) == 1:
        return {"GET": "search", "POST": "create"}.get(method, "other"), resource
    if len(parts) == 2:
        return {"GET": "read", "PUT": "update", "DELETE": "delete",
                "PATCH": "patch"}.get(method, "other"), resource
    if parts[2] == "_history":
        return "history", resource
    return "other", resource


def route_operations(app: object) -> frozenset[str]:
    """The operations the server has: those its CapabilityStatement lists, and every `$name`
    segment of its routes (included routers are searched too)."""
    found = {f"${name}" for _, name, _ in OPERATIONS} | {f"${n}" for n, _ in SYSTEM_OPERATIONS}
    pending, seen = list(getattr(app, "routes", [])), 0
    while pending and seen < 10_000:
        route, seen = pending.pop(), seen + 1
        path = getattr(route, "path", None)
        if isinstance(path, str):
            found.update(p for p in path.split("/") if p.startswith("$"))
        inner = getattr(route, "original_router", route)  # FastAPI's included routers
        pending += [r for r in getattr(inner, "routes", None) or [] if r is not route]
    return frozenset(found)


def _logged_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(scope["path"])
    path = path.split("?", 1)[0]
    return path if len(path) <= _MAX_PATH else path[:_MAX_PATH] + "…"


class AccessLog:
    """Pure ASGI middleware: request id, one access-log line and the request metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.operations: frozenset[str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = REQUEST_ID.set(rid)
        started = time.perf_counter()
        status = 500  # when the app fails before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode("latin-1"))]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, status, seconds, rid)
            REQUEST_ID.reset(token)

    def _record(self, scope: Scope, status: int, seconds: float, rid: str) -> None:
        if self.operations is None:
            self.operations = route_operations(scope.get("app"))
        method = scope["method"]
        operation, resource = classify(method, scope["path"], self.operations)
        metrics.observe_request(operation, resource, status, seconds)
        path = _logged_path(scope)
        ms = round(seconds * 1000, 1)
        ACCESS.info("%s %s %d %.1fms", method, path, status, ms, extra={
            "method": method, "path": path, "status": status, "duration_ms": ms,
            "request_id": rid, "operation": operation})
