"""Reading request bodies: JSON only, with clear 415/400 errors."""

from __future__ import annotations

from fastapi import Request

from termserver.errors import TerminologyError
from termserver.fhir.resources import parse_json_body
from termserver.model import JSON


class UnsupportedMediaType(TerminologyError):
    issue_type = "not-supported"
    http_status = 415


JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


async def json_body(request: Request) -> JSON:
    ctype = request.headers.get("content-type", "application/fhir+json").split(";")[0].strip()
    if ctype and ctype.lower() not in JSON_TYPES:
        raise UnsupportedMediaType(f"content type {ctype!r} is not supported; send "
                                   "application/fhir+json")
    return parse_json_body(await request.body())
