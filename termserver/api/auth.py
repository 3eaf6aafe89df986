"""Bearer-token protection and the request's identity.

Writes need an API token when TERMSERVER_API_TOKENS is set; reads need a read (or API) token
when TERMSERVER_READ_TOKENS is set. Operations invoked with POST ($lookup, $validate-code, …)
are reads; loads over HTTP are writes. With TERMSERVER_OIDC_ISSUER set, bearer JWTs of that
issuer are accepted too (termserver.api.oidc), and reads and writes both need a token.

Roles: read (FHIR reads, viewing the workbench), write (FHIR writes and loads), curate (changes
in the workbench), admin (all). A write token has read, write and curate; a read token read;
an OIDC token what its role claims map to. A refused request gets 401 OperationOutcome
(`WWW-Authenticate: Bearer`, with `error="invalid_token"` for a token that is no valid token
of the issuer); an OIDC token lacking the role gets 403 (`error="insufficient_scope"`).

Every HTTP request gets `request.state.identity` (an `Identity`: name and roles): the named
token it presented, else the anonymous identity. The curator the workbench records is that
name, never a name the client chooses (termserver.api.routes.workbench.curator).

The curator pages cannot send a bearer header, so under /workbench the identity may also come
from the `termserver_session` cookie that /workbench/login sets (HttpOnly, SameSite=Strict):
a signed value naming the token's identity and an expiry, never the token itself
(termserver.api.sessions). A write with the cookie alone must also carry htmx's `HX-Request`
header, which a cross-site form cannot send, so the cookie never authorises a forged request.
A refused page view is sent to the sign-in page. Behind an OIDC reverse proxy (oauth2-proxy
or similar passing `Authorization: Bearer`) the pages take the proxy's token like the API."""

from __future__ import annotations

import html
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.errors import error_response
from termserver.api.oidc import InvalidToken, IssuerUnavailable, OIDCConfig, Verifier
from termserver.api.sessions import SESSION_COOKIE, Keys, TokenInfo
from termserver.errors import TerminologyError, Unauthorized
from termserver.settings import Settings

#: Operations that change stored content, even though they are called like operations.
WRITE_OPERATIONS = frozenset({"$load", "$closure"})

LOGIN_PATH = "/workbench/login"
#: Paths answered without a token even when tokens are configured: the sign-in page and the
#: orchestrator's probes (termserver.api.ops; they reveal nothing stored).
OPEN_PATHS = frozenset({LOGIN_PATH, "/livez", "/readyz"})
#: How an audit entry marks a self-declared curator name (a server without tokens).
UNAUTHENTICATED = "(unauthenticated)"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who makes a request: `name` and `roles` ("read", "write", "curate", "admin") of the
    token or session that authenticated it. Unauthenticated: no roles, and a name only when
    self-declared on a server without tokens (then `author` marks it)."""

    name: str | None = None
    roles: frozenset[str] = frozenset()
    authenticated: bool = False
    via: str = ""  # "bearer" (a static token), "oidc" (an issuer's JWT) or "session"

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


def auth_configured(request: Any) -> bool:
    """Whether BearerAuth protects anything (static tokens or an OIDC issuer)."""
    settings = request.app.state.settings
    return bool(getattr(request.state, "auth_configured", False)
                or settings.api_tokens or settings.read_tokens)


def required_role(write: bool, path: str) -> str:
    """The role a request needs: changes in the workbench need curate."""
    if write:
        return "curate" if path.startswith("/workbench") else "write"
    return "read"


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

    def __init__(self, app: ASGIApp, settings: Settings,
                 oidc: OIDCConfig | None = None) -> None:
        """`oidc`: the issuer to accept tokens of (default: from TERMSERVER_OIDC_*)."""
        self.app = app
        self.keys = Keys(settings)
        config = oidc if oidc is not None else OIDCConfig.from_env()
        self.verifier = Verifier(config) if config is not None else None
        self.write_protected = bool(settings.api_tokens) or self.verifier is not None
        self.reads_protected = bool(settings.read_tokens) or self.verifier is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            write = is_write(scope["method"], path)
            identity, problem = await self.identify(scope, write)
            state = scope.setdefault("state", {})
            state["identity"] = identity
            state["auth_configured"] = self.write_protected or self.reads_protected
            needed = self.write_protected if write else self.reads_protected
            role = required_role(write, path)
            if needed and path not in OPEN_PATHS and role not in identity.roles:
                if identity.via == "oidc" or isinstance(problem, IssuerUnavailable):
                    await _refusal(scope, identity, role, problem)(scope, receive, send)
                    return
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
                await _refusal(scope, identity, role, problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def identify(self, scope: Scope,
                       write: bool) -> tuple[Identity, TerminologyError | None]:
        """The bearer token's identity (a static token, else an OIDC token), else (workbench
        only) the session cookie's; and why a presented OIDC token was not accepted."""
        token = _bearer(scope)
        problem: TerminologyError | None = None
        if token is not None:
            info = self.keys.token(token)
            if info is not None:
                return _identity(info, "bearer"), None
            # probes never wait for the identity provider
            if (self.verifier is not None and token.count(".") == 2
                    and scope["path"] not in OPEN_PATHS):
                try:
                    claims = await self.verifier.authenticate(token)
                except (InvalidToken, IssuerUnavailable) as exc:
                    problem = exc
                else:
                    return Identity(claims.name, claims.roles, True, "oidc"), None
        info = self._session(scope, write)
        return (_identity(info, "session") if info is not None else ANONYMOUS), problem

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


def _bearer(scope: Scope) -> str | None:
    """The token of the request's `Authorization: Bearer` header."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return None


def _refusal(scope: Scope, identity: Identity, role: str,
             problem: TerminologyError | None) -> Response:
    """401 (no valid token), 403 (an OIDC token without the role) or 503 (the issuer's keys
    are unreachable), as OperationOutcome, or as HTML for an htmx request of the pages."""
    challenge = "Bearer"
    refusal: TerminologyError
    if isinstance(problem, IssuerUnavailable):
        refusal = problem
    elif identity.via == "oidc":
        refusal = Forbidden(f"{identity.name} has no {role!r} role, which "
                            f"{scope['method']} {scope['path']} needs")
        challenge = 'Bearer error="insufficient_scope"'
    elif isinstance(problem, InvalidToken):
        refusal = problem
        challenge = f'Bearer error="invalid_token", error_description="{_quotable(problem)}"'
    else:
        what = "writing" if role != "read" else "reading"
        refusal = Unauthorized(f"a valid bearer token is required for {what}; send "
                               "'Authorization: Bearer <token>'")
    if _is_page_part(scope):
        response: Response = HTMLResponse(
            f'<p class="error" role="alert">{html.escape(str(refusal))}</p>',
            status_code=refusal.http_status)
    else:
        response = error_response(refusal)
    if isinstance(refusal, IssuerUnavailable):
        response.headers["Retry-After"] = "30"
    else:
        response.headers["WWW-Authenticate"] = challenge
    return response


def _quotable(error: Exception) -> str:
    """`error`'s text as an RFC 6750 error_description (printable ASCII without " and \\)."""
    return "".join(c for c in str(error) if " " <= c <= "~" and c not in '"\\')[:200]


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
