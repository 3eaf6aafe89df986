"""Display languages for $expand: the `displayLanguage` parameter / Accept-Language syntax
(RFC 9110 §12.5.4: `de-CH, de;q=0.9, *;q=0.5`) and the choice of display per concept.

A concept keeps its code system display when the code system's language is acceptable.
Otherwise the first acceptable language with a designation gives the display. When nothing
matches, the display stays, unless the request ruled out every other language (`*;q=0`):
then the concept has no display.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LanguagePrefs:
    raw: str  # as the client sent it; echoed as the displayLanguage parameter
    tags: tuple[str, ...]  # acceptable languages, most preferred first (no `*`)
    strict: bool  # `*;q=0`: languages not listed are not acceptable


def parse_languages(raw: str | None) -> LanguagePrefs | None:
    """The preferences in `raw`, or None when there are none."""
    if raw is None or not raw.strip():
        return None
    weighted: list[tuple[float, int, str]] = []
    strict = False
    for i, part in enumerate(raw.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 1.0
        if tag == "*":
            strict = strict or q == 0
        elif tag and q > 0:
            weighted.append((-q, i, tag))
    return LanguagePrefs(raw, tuple(t for _, _, t in sorted(weighted)), strict)


def language_matches(wanted: str, have: str) -> bool:
    """`de` accepts `de` and `de-CH`; `de-CH` accepts `de-CH` (case-insensitive)."""
    w, h = wanted.lower(), have.lower()
    return h == w or h.startswith(w + "-")


def languages_overlap(have: str | None, wanted: str) -> bool:
    """Either tag is the other or a subtag of it (`de` ~ `de-CH`, both ways); no tag: never.
    Used to judge displays, where a `de-CH` request still accepts a `de` designation."""
    if have is None:
        return False
    h, w = have.lower(), wanted.lower()
    return h == w or h.startswith(w + "-") or w.startswith(h + "-")
