"""The workbench sign-in pages (only needed when the server has tokens): a form that checks
a bearer token once and keeps a signed session cookie (termserver.api.sessions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from termserver.api.routes.workbench_render import render, text
from termserver.api.sessions import (
    CSRF_COOKIE,
    FORM_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    Keys,
    LoginThrottle,
)

router = APIRouter(prefix="/workbench", include_in_schema=False)


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
    response = render(request, "login.html", status_code, headers=headers,
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
                           message=text(request, "Too many failed sign-ins; try again in "
                                        "{wait} s.", wait=wait))
    if not keys.check_form_token(csrf, request.cookies.get(CSRF_COOKIE)):
        return _login_form(request, next, 403,
                           message=text(request, "The sign-in form expired or did not come from "
                                                "this server; please try again."))
    info = keys.token(token.strip())
    if info is None:
        throttle.failed(client)
        return _login_form(request, next, 401,
                           message=text(request, "This token is not valid on this server."))
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
