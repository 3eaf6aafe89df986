"""The workbench pages' languages: English and German, chosen by `?lang=`, else the `lang`
cookie (which `?lang=` sets), else the browser's Accept-Language, else English.

Templates write every text as `_("English text", name=value)`: the English text is the key,
`termserver.api.messages_de.DE` holds its German form (a test checks that every text of the
templates has one), and `{name}` placeholders are filled with str.format after translation.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request

from termserver.api.messages_de import DE

LANGUAGES = ("en", "de")
DEFAULT = "en"
COOKIE = "lang"
CATALOGUES: dict[str, dict[str, str]] = {"en": {}, "de": DE}

__all__ = ["COOKIE", "LANGUAGES", "choose", "gettext", "translate"]


def _accepted(header: str) -> list[tuple[float, str]]:
    """Accept-Language as (quality, primary language) pairs, best first."""
    out: list[tuple[float, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            out.append((quality - i * 1e-6, tag.split("-")[0].strip().lower()))
    return sorted(out, reverse=True)


def choose(request: Request) -> str:
    """The page language of a request (see the module docstring)."""
    asked = request.query_params.get(COOKIE) or request.cookies.get(COOKIE)
    if asked in LANGUAGES:
        return asked
    for quality, lang in _accepted(request.headers.get("accept-language", "")):
        if quality > 0 and lang in LANGUAGES:
            return lang
    return DEFAULT


def translate(lang: str, text: str, /, **values: Any) -> str:
    """`text` in `lang` (English when the catalogue lacks it), placeholders filled."""
    found = CATALOGUES.get(lang, {}).get(text, text)
    return found.format(**values) if values else found


@pass_context
def gettext(context: Context, text: str, /, **values: Any) -> str:
    """The templates' `_()`: the context's `lang` (English when a template has none)."""
    return translate(str(context.get("lang") or DEFAULT), text, **values)
