"""Bearer-token protection and the request's identity.

Writes need an API token when TERMSERVER_API_TOKENS is set; reads need a read (or API) token
when TERMSERVER_READ_TOKENS is set. Operations invoked with POST ($lookup, $validate-code, …)
are reads; loads over HTTP are writes.

Every HTTP request gets `request.state.identity` (an `Identity`: name and roles): the named
token it presented, else the anonymous identity. The curator the workbench records is that
name, never a name the client chooses (termserver.api.routes.workbench.curator).

The curator pages cannot send a bearer header, so under /workbench the identity may also come
from the `termserver_session` cookie that /workbench/login sets (HttpOnly, SameSite=Strict):
a signed value naming the token's identity and an expiry, never the token itself
(termserver.api.sessions). A write with the cookie alone must also carry htmx's `HX-Request`
header, which a cross-site form cannot send, so the cookie never authorises a forged request.
A refused page view is sent to the sign-in page."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.errors import error_response
from termserver.api.sessions import SESSION_COOKIE, Keys, TokenInfo
from termserver.errors import TerminologyError, Unauthorized
from termserver.settings import Settings

#: Operations that change stored content, even though they are called like operations.
WRITE_OPERATIONS = frozenset({"$load", "$closure"})

LOGIN_PATH = "/workbench/login"
#: How an audit entry marks a self-declared curator name (a server without tokens).
UNAUTHENTICATED = "(unauthenticated)"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who makes a request: `name` and `roles` ("read", "write") of the token or session that
    authenticated it. Unauthenticated: no roles, and a name only when self-declared on a server
    without tokens (then `author` marks it)."""

    name: str | None = None
    roles: frozenset[str] = frozenset()
    authenticated: bool = False
    via: str = ""  # "bearer" or "session"

    @property
    def author(self) -> str | None:
        """The name the audit trail records."""
        if self.name is None or self.authenticated:
            return self.name
        return f"{self.name} {UNAUTHENTICATED}"


ANONYMOUS = Identity()


class Forbidden(TerminologyError):
    """Authenticated, but not allowed to see or do this (403)."""

    issue_type = "forbidden"
    http_status = 403


def request_identity(request: Any) -> Identity:
    """The identity BearerAuth gave the request (anonymous when it did not run)."""
    found = getattr(request.state, "identity", None)
    return found if isinstance(found, Identity) else ANONYMOUS


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
        self.keys = Keys(settings)
        self.write_protected = bool(settings.api_tokens)
        self.reads_protected = bool(settings.read_tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            write = is_write(scope["method"], path)
            identity = self.identify(scope, write)
            scope.setdefault("state", {})["identity"] = identity
            needed = self.write_protected if write else self.reads_protected
            role = "write" if write else "read"
            if needed and path != LOGIN_PATH and role not in identity.roles:
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

    def identify(self, scope: Scope, write: bool) -> Identity:
        """The bearer token's identity, else (workbench only) the session cookie's."""
        info = self._bearer(scope)
        if info is not None:
            return _identity(info, "bearer")
        info = self._session(scope, write)
        return _identity(info, "session") if info is not None else ANONYMOUS

    def _bearer(self, scope: Scope) -> TokenInfo | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    return self.keys.token(token.strip())
        return None

    def _session(self, scope: Scope, write: bool) -> TokenInfo | None:
        """The session cookie, for workbench paths (writes only from htmx)."""
        if not scope["path"].startswith("/workbench"):
            return None
        headers = _headers(scope)
        if write and headers.get(b"hx-request") != "true":
            return None
        value = _cookie(scope, SESSION_COOKIE)
        return self.keys.verify_session(value) if value else None


def _identity(info: TokenInfo, via: str) -> Identity:
    return Identity(info.name, info.roles, authenticated=True, via=via)


def _cookie(scope: Scope, name: str) -> str | None:
    """One cookie of the request (None when absent or the header is malformed)."""
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(_headers(scope).get(b"cookie", ""))
    except CookieError:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else None


def _headers(scope: Scope) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in scope.get("headers", [])}


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
