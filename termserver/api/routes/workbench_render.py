"""Rendering of the workbench pages: the Jinja2 environment (with `_()` for the page language
and `reasons()` for plain-language explanations), a page or partial as a response, and
errors as HTML with their HTTP status."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from mappings.model import SourceCode
from termserver.api import i18n, reasons
from termserver.errors import TerminologyError

_API_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = _API_DIR / "static"
templates = Jinja2Templates(directory=_API_DIR / "templates")
#: A year: the page language a curator chose with ?lang= stays.
LANG_SECONDS = 365 * 24 * 3600

P = ParamSpec("P")


@pass_context
def _reasons(context: Context, why: str | Sequence[str] | None,
             source: SourceCode | None = None) -> list[str]:
    return reasons.plain(why, source, str(context.get("lang") or i18n.DEFAULT))


templates.env.globals["_"] = i18n.gettext
templates.env.globals["reasons"] = _reasons


def render(request: Request, name: str, status_code: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> Response:
    """A template of templates/workbench in the request's language; `?lang=` also keeps the
    choice in a cookie."""
    lang = i18n.choose(request)
    response = templates.TemplateResponse(request, f"workbench/{name}", {**context, "lang": lang},
                                          status_code=status_code, headers=headers)
    response.headers["Content-Language"] = lang
    response.headers["Vary"] = "Accept-Language, Cookie"
    if request.query_params.get(i18n.COOKIE) in i18n.LANGUAGES:
        response.set_cookie(i18n.COOKIE, lang, max_age=LANG_SECONDS, samesite="strict",
                            path="/workbench", secure=request.url.scheme == "https")
    return response


def text(request: Request, message: str, /, **values: Any) -> str:
    """A message of a route in the request's language."""
    return i18n.translate(i18n.choose(request), message, **values)


def error(request: Request, exc: TerminologyError) -> Response:
    """The error as a partial for htmx requests, else as a whole page."""
    name = "_error.html" if request.headers.get("hx-request") else "error.html"
    return render(request, name, exc.http_status, message=exc.message,
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
            return error(request, exc)
    return wrapper
