"""CodeSystem operations: $lookup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from termserver import service
from termserver.api.body import json_body
from termserver.api.deps import StoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.fhir import params as p
from termserver.fhir.wire import lookup_to_parameters
from termserver.model import LookupRequest

router = APIRouter(prefix="/CodeSystem", tags=["CodeSystem"])


@router.get("/$lookup", response_class=FHIRJSONResponse)
def lookup_get(request: Request, store: StoreDep) -> Any:
    """CodeSystem $lookup (https://hl7.org/fhir/R4/codesystem-operation-lookup.html)."""
    pairs = p.pairs_from_query(request.query_params.multi_items())
    return FHIRJSONResponse(lookup_to_parameters(service.lookup(store, _lookup_request(pairs))))


@router.post("/$lookup", response_class=FHIRJSONResponse)
async def lookup_post(request: Request, store: StoreDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    return FHIRJSONResponse(lookup_to_parameters(service.lookup(store, _lookup_request(pairs))))


def _lookup_request(pairs: p.Pairs) -> LookupRequest:
    coding = p.coding(pairs, "coding")
    code, system, version = p.text(pairs, "code"), p.text(pairs, "system"), p.text(pairs, "version")
    if coding is not None:
        p.mutually_exclusive("$lookup", code=code, coding=coding)
        code, system = coding.get("code"), coding.get("system") or system
        version = coding.get("version") or version
    return LookupRequest(
        system=p.require(system, "system", "$lookup"),
        code=p.require(code, "code", "$lookup"),
        version=version,
        display_language=p.text(pairs, "displayLanguage") or p.text(pairs, "language"),
        properties=tuple(str(v) for v in p.all_of(pairs, "property")),
    )
