"""The single FHIR operations as (path, query) and the parsers of their answers, shared by
the sync and the async client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from termserver.client._base import query
from termserver.client.results import (
    ExpandResult,
    LookupResult,
    SubsumesResult,
    TranslateResult,
    ValidateResult,
    flatten,
)

Spec = tuple[str, dict[str, str]]


def lookup(code: str, system: str, version: str | None, display_language: str | None,
           properties: Sequence[str]) -> Spec:
    q = query({"system": system, "code": code, "version": version,
               "displayLanguage": display_language})
    return "CodeSystem/$lookup", q | ({"property": ",".join(properties)} if properties else {})


def validate_code(code: str, system: str | None, valueset: str | None, version: str | None,
                  display: str | None) -> Spec:
    if valueset is not None:
        return "ValueSet/$validate-code", query({"url": valueset, "system": system,
                                                 "code": code, "systemVersion": version,
                                                 "display": display})
    if system is None:
        raise ValueError("validate_code needs a system or a valueset")
    return "CodeSystem/$validate-code", query({"url": system, "code": code, "version": version,
                                               "display": display})


def translate(code: str, system: str, conceptmap: str | None, targetsystem: str | None,
              version: str | None, reverse: bool, extra: dict[str, Any]) -> Spec:
    return "ConceptMap/$translate", query({"system": system, "code": code, "version": version,
                                           "url": conceptmap, "targetsystem": targetsystem,
                                           "reverse": reverse or None, **extra})


def expand(url: str, filter: str | None, count: int | None, offset: int | None,
           extra: dict[str, Any]) -> Spec:
    return "ValueSet/$expand", query({"url": url, "filter": filter, "count": count,
                                      "offset": offset, **extra})


def subsumes(code_a: str, code_b: str, system: str, version: str | None) -> Spec:
    return "CodeSystem/$subsumes", query({"system": system, "codeA": code_a, "codeB": code_b,
                                          "version": version})


def parse_lookup(body: dict[str, Any]) -> LookupResult:
    return LookupResult.from_json(flatten(body))


def parse_validate(body: dict[str, Any]) -> ValidateResult:
    return ValidateResult.from_json(flatten(body))


def parse_translate(body: dict[str, Any]) -> TranslateResult:
    return TranslateResult.from_json(flatten(body))


def parse_expand(body: dict[str, Any]) -> ExpandResult:
    return ExpandResult.from_value_set(body)


def parse_subsumes(body: dict[str, Any]) -> SubsumesResult:
    return SubsumesResult(str(flatten(body).get("outcome")))


def bulk_params(*, conceptmap: str | None = None, targetsystem: str | None = None,
                valueset: str | None = None, version: str | None = None,
                reverse: bool = False, extra: dict[str, Any] | None = None) -> dict[str, str]:
    """Query parameters of a bulk request (they apply to every line)."""
    return query({"url": conceptmap or valueset, "targetsystem": targetsystem,
                  "version": version, "reverse": reverse or None, **(extra or {})})
