"""Bearer-token protection: writes need an API token when TERMSERVER_API_TOKENS is set; reads
need a read (or API) token when TERMSERVER_READ_TOKENS is set. Operations invoked with POST
($lookup, $validate-code, …) are reads; loads over HTTP are writes."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.errors import error_response
from termserver.errors import Unauthorized
from termserver.settings import Settings

#: Operations that change stored content, even though they are called like operations.
WRITE_OPERATIONS = frozenset({"$load", "$closure"})


def is_write(method: str, path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last in WRITE_OPERATIONS:
        return True
    if method in ("PUT", "DELETE", "PATCH"):
        return True
    if method == "POST" and path.rstrip("/") == "/fhir":  # a batch: each entry is checked
        return False
    return method == "POST" and not last.startswith("$")


class BearerAuth:
    """Pure ASGI middleware, so a refused request never reaches a route or the database."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.write_tokens = settings.api_tokens
        self.read_tokens = settings.read_tokens | settings.api_tokens
        self.reads_protected = bool(settings.read_tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            write = is_write(scope["method"], scope["path"])
            needed = bool(self.write_tokens) if write else self.reads_protected
            allowed = self.write_tokens if write else self.read_tokens
            if needed and not _presented(scope, allowed):
                what = "writing" if write else "reading"
                refusal = Unauthorized(f"a valid bearer token is required for {what}; send "
                                       "'Authorization: Bearer <token>'")
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _presented(scope: Scope, allowed: frozenset[str]) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return any(hmac.compare_digest(token.strip(), t) for t in allowed)
    return False
