"""Display checking and choice for $validate-code, with displayLanguage rules.

A display is valid when it equals the concept's display or one of its designations, ignoring
case (as the reference server compares them). When the client asks for languages and the code
system has displays in them, only those count; when it has none in them, the default display
is accepted with an informational note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from termserver.errors import InvalidRequest
from termserver.model import ConceptDetail, Designation, Issue
from termserver.service import messages as msg
from termserver.service.languages import languages_overlap, parse_languages
from termserver.service.provider import CodeSystemProvider

_TAG = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")

Candidate = tuple[str, str | None]  # (display text, language or None)


@dataclass(slots=True)
class DisplayCheck:
    valid: bool = True
    issues: list[Issue] = field(default_factory=list)


def requested_languages(value: str | None) -> list[str]:
    """Language tags of a displayLanguage / Accept-Language value, best first; q=0 and `*`
    dropped. A malformed tag is a client error."""
    prefs = parse_languages(value)
    if prefs is None:
        return []
    for part in prefs.raw.split(","):
        tag = part.split(";")[0].strip()
        if tag and not _TAG.match(tag):
            raise InvalidRequest(f"Invalid displayLanguage: '{value}'",
                                 message_id="INVALID_DISPLAY_NAME", tx_code="invalid-display",
                                 issue_code="processing")
    return list(prefs.tags)


def candidates(provider: CodeSystemProvider, detail: ConceptDetail,
               extra: Sequence[Designation] = ()) -> list[Candidate]:
    """The concept's display and designations (plus supplement ones), as (text, language).
    A designation with a use but no language (e.g. a synonym kind) is not a display."""
    out: list[Candidate] = []
    if detail.concept.display:
        out.append((detail.concept.display, provider.language))
    for d in (*detail.designations, *extra):
        if d.language is None and d.use_code:
            continue
        pair = (d.value, d.language)
        if pair not in out:
            out.append(pair)
    return out


def _in_languages(cands: list[Candidate], langs: list[str],
                  provider: CodeSystemProvider) -> list[Candidate]:
    out: list[Candidate] = []
    for value, lang in cands:
        if lang is None and provider.language is None:
            out.append((value, lang))  # a display of unknown language counts for any
        elif any(languages_overlap(lang, w) for w in langs):
            out.append((value, lang))
    return out


def preferred_display(provider: CodeSystemProvider, detail: ConceptDetail,
                      display_language: str | None,
                      extra: Sequence[Designation] = ()) -> str | None:
    """The display to return: the best one in the requested languages, else the default."""
    langs = requested_languages(display_language)
    for wanted in langs:
        for value, lang in candidates(provider, detail, extra):
            if languages_overlap(lang, wanted):
                return value
    return detail.concept.display


def same_display(given: str, display: str | None) -> bool:
    """Display comparison as the reference server makes it (FHIRsmith
    `DisplayCheckingStyle.CASE_INSENSITIVE`): a difference in case alone is not a wrong
    display, whatever the code system's case sensitivity for codes; whitespace still counts
    (Display_Name_WS_for__should_be_one_of__instead_of)."""
    return display is not None and given.lower() == display.lower()


def check_display(provider: CodeSystemProvider, detail: ConceptDetail, given: str,
                  display_language: str | None, lenient: bool, prefix: str, system: str,
                  extra: Sequence[Designation] = ()) -> DisplayCheck:
    langs = requested_languages(display_language)
    shown = display_language if langs and display_language else "--"
    cands = candidates(provider, detail, extra)
    code = detail.concept.code
    severity: msg.Severity = "warning" if lenient else "error"
    pool = _in_languages(cands, langs, provider) if langs else cands
    if langs and not pool:
        default = detail.concept.display
        if same_display(given, default) or any(same_display(given, v) for v, _ in cands):
            return DisplayCheck(True, [msg.no_display_for_language(
                "information", prefix, given, system, code, shown, default)])
        return DisplayCheck(lenient, [msg.no_display_for_language(
            severity, prefix, given, system, code, shown, default)])
    if any(same_display(given, v) for v, _ in pool):
        return DisplayCheck(True)
    squeeze = " ".join(given.split()).lower()
    whitespace = any(" ".join(v.split()).lower() == squeeze for v, _ in pool)
    return DisplayCheck(lenient, [msg.wrong_display(severity, prefix, given, system, code,
                                                    pool, shown, whitespace)])
