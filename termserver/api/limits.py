"""Request limits checked before any route runs: control characters in the URL, and the body
size of FHIR and workbench JSON requests (TERMSERVER_MAX_BODY_MB).

The body limit is enforced while receiving: a Content-Length over the limit is refused before a
byte is read, and a chunked body is counted as it arrives and refused as soon as it passes the
limit, so no more than the limit is ever buffered. Uploads (multipart forms) keep their own
limit in their routes.
"""

from __future__ import annotations

import re

import orjson
from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from termserver.api.errors import error_response
from termserver.errors import InvalidRequest, TerminologyError
from termserver.fhir.params import CONTROL
from termserver.fhir.resources import has_escaped_control
from termserver.fhir.shape import check_json

#: Streamed NDJSON operations (api/routes/bulk.py): not held to the body limit, since they read
#: one bounded line at a time; their own caps are the line length and TERMSERVER_MAX_BULK_LINES.
BULK_PATHS = frozenset({"/fhir/$translate-bulk", "/fhir/$lookup-bulk",
                        "/fhir/$validate-code-bulk"})

#: A percent-encoded C0 control character other than tab, LF and CR.
_ENCODED_CONTROL = re.compile(rb"%(?:0[0-8bcefBCEF]|1[0-9a-fA-F])|[\x00-\x08\x0b\x0c\x0e-\x1f]")


class BodyTooLarge(TerminologyError):
    issue_type = "too-long"
    http_status = 413


class _TooLargeWhileReading(HTTPException):
    """Raised from `receive` inside a route: FastAPI passes HTTPExceptions from body reading
    through unchanged, and the error handlers answer it as a 413 OperationOutcome."""


class RequestLimits:
    """ASGI middleware for the URL and body limits (see the module doc)."""

    def __init__(self, app: ASGIApp, max_body_mb: int) -> None:
        self.app = app
        self.max_body = max_body_mb * 1024 * 1024
        self.mb = max_body_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if CONTROL.search(scope["path"]) or _ENCODED_CONTROL.search(scope["query_string"]):
            refusal = InvalidRequest("the URL holds a control character (such as NUL), which "
                                     "is not allowed")
            await error_response(refusal)(scope, receive, send)
            return
        ctype = _header(scope, b"content-type").split(b";")[0].strip().lower()
        path: str = scope["path"]
        if path in BULK_PATHS:
            await self.app(scope, receive, send)
            return
        if not (path.startswith("/fhir") or (path.startswith("/workbench")
                                             and ctype != b"multipart/form-data")):
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length").strip()
        if length.isdigit() and int(length) > self.max_body:
            await error_response(self._too_large())(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _TooLargeWhileReading(413, self._too_large().message)
            return message

        inner: Receive = limited
        if path.startswith("/workbench") and ctype.endswith(b"json"):
            inner = await _checked_json(limited)  # the workbench reads JSON with pydantic
        await self.app(scope, inner, send)

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"the request body is larger than {self.mb} MB "
                            "(TERMSERVER_MAX_BODY_MB)")


async def _checked_json(receive: Receive) -> Receive:
    """The whole (size-limited) JSON body, refused when a string holds an escaped control
    character, it nests too deep or holds an integer beyond 64 bits; replayed to the
    application as one message."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if has_escaped_control(body):
        raise InvalidRequest("the request body holds a control character (such as NUL) in a "
                             "string, which is not allowed")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        pass  # the route answers invalid JSON itself
    else:
        check_json(data)  # nesting depth, 64-bit integers
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _header(scope: Scope, name: bytes) -> bytes:
    return next((v for k, v in scope.get("headers") or [] if k == name), b"")
