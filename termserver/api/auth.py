"""Bearer-token protection: writes need an API token when TERMSERVER_API_TOKENS is set; reads
need a read (or API) token when TERMSERVER_READ_TOKENS is set. Operations invoked with POST
($lookup, $validate-code, …) are reads; loads over HTTP are writes.

The curator pages cannot send a bearer header, so under /workbench the token may also come in
the `termserver_token` cookie that /workbench/login sets (HttpOnly, SameSite=Strict). A write
with the cookie alone must also carry htmx's `HX-Request` header, which a cross-site form
cannot send, so the cookie never authorises a forged request. A refused page view is sent to
the sign-in page."""

from __future__ import annotations

import hmac
from http.cookies import CookieError, SimpleCookie
from urllib.parse import unquote, urlencode

from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.errors import error_response
from termserver.errors import Unauthorized
from termserver.settings import Settings

#: Operations that change stored content, even though they are called like operations.
WRITE_OPERATIONS = frozenset({"$load", "$closure"})

#: The cookie that carries a curator's token on the workbench pages.
TOKEN_COOKIE = "termserver_token"
LOGIN_PATH = "/workbench/login"


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
            path = scope["path"]
            if (needed and path != LOGIN_PATH and not _presented(scope, allowed)
                    and not _cookie_presented(scope, allowed, write)):
                if _is_page_view(scope):
                    await RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': path})}",
                                           status_code=303)(scope, receive, send)
                    return
                if _is_page_part(scope):
                    await HTMLResponse(
                        f'<p class="error" role="alert">A valid token is required: '
                        f'<a href="{LOGIN_PATH}">sign in</a>.</p>',
                        status_code=401)(scope, receive, send)
                    return
                what = "writing" if write else "reading"
                refusal = Unauthorized(f"a valid bearer token is required for {what}; send "
                                       "'Authorization: Bearer <token>'")
                await error_response(refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _headers(scope: Scope) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in scope.get("headers", [])}


def _cookie_presented(scope: Scope, allowed: frozenset[str], write: bool) -> bool:
    """The workbench token cookie, for workbench paths (writes only from htmx)."""
    if not scope["path"].startswith("/workbench"):
        return False
    headers = _headers(scope)
    if write and headers.get(b"hx-request") != "true":
        return False
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get(b"cookie", ""))
    except CookieError:
        return False
    morsel = cookies.get(TOKEN_COOKIE)
    if morsel is None:
        return False
    token = unquote(morsel.value)
    return any(hmac.compare_digest(token, t) for t in allowed)


def _is_page(scope: Scope) -> bool:
    path = scope["path"]
    return (path.startswith("/workbench")
            and not path.startswith(("/workbench/api", "/workbench/static")))


def _is_page_view(scope: Scope) -> bool:
    return (_is_page(scope) and scope["method"] == "GET"
            and _headers(scope).get(b"hx-request") != "true")


def _is_page_part(scope: Scope) -> bool:
    """An htmx request of the curator pages: it gets an HTML refusal to swap in."""
    return _is_page(scope) and _headers(scope).get(b"hx-request") == "true"


def _presented(scope: Scope, allowed: frozenset[str]) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return any(hmac.compare_digest(token.strip(), t) for t in allowed)
    return False
