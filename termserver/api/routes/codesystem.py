"""CodeSystem operations: $lookup (and $subsumes below).

`$lookup` is a hot path: no dependency injection, the query string parsed once, no TxContext
built from a body for GET, and on SQLite the single indexed read runs on the event loop
instead of a worker thread (`Store.inline_reads`).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from termserver.api.body import json_body
from termserver.api.deps import ReadStoreDep, get_read_store
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.errors import InvalidRequest
from termserver.fhir import params as p
from termserver.fhir.translation import subsumes_request, subsumes_to_parameters
from termserver.fhir.wire import lookup_to_parameters
from termserver.model import LookupRequest
from termserver.service.context import TxContext
from termserver.service.lookup import lookup
from termserver.service.subsumes import subsumes
from termserver.store import Store

router = APIRouter(prefix="/CodeSystem", tags=["CodeSystem"])

#: FHIR dateTime (https://hl7.org/fhir/R4/datatypes.html#dateTime), for the `date` parameter.
_DATE_TIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                        r"(Z|[+-]\d{2}:\d{2})?)?)?)?$")
_LOOKUP_INPUTS = frozenset({"code", "system", "version", "coding", "date", "displayLanguage",
                            "language", "property", "useSupplement"})


@router.get("/$lookup", response_class=FHIRJSONResponse)
async def lookup_get(request: Request) -> Any:
    """CodeSystem $lookup (https://hl7.org/fhir/R5/codesystem-operation-lookup.html)."""
    store = get_read_store(request)
    pairs = p.pairs_from_query(request.query_params.multi_items())
    wanted = _lookup_request(pairs, request.headers.get("accept-language"))
    return await _lookup(store, TxContext(store), wanted)


@router.post("/$lookup", response_class=FHIRJSONResponse)
async def lookup_post(request: Request) -> Any:
    store = get_read_store(request)
    pairs = p.pairs_from_parameters(await json_body(request))
    wanted = _lookup_request(pairs, request.headers.get("accept-language"))
    return await _lookup(store, context_from(store, pairs), wanted)


def answer_lookup(store: Store, pairs: p.Pairs, accept_language: str | None) -> FHIRJSONResponse:
    """A GET $lookup from parsed query parameters (the fast path's entry)."""
    wanted = _lookup_request(pairs, accept_language)
    return FHIRJSONResponse(lookup_to_parameters(lookup(TxContext(store), wanted)))


async def _lookup(store: Store, ctx: TxContext, wanted: LookupRequest) -> FHIRJSONResponse:
    if store.inline_reads:
        result = lookup(ctx, wanted)
    else:
        result = await run_in_threadpool(lookup, ctx, wanted)
    return FHIRJSONResponse(lookup_to_parameters(result))


def _lookup_request(pairs: p.Pairs, accept_language: str | None) -> LookupRequest:
    """The $lookup inputs, read in one pass over the parameters."""
    given: dict[str, list[Any]] = {}
    for name, value in pairs:
        if name in _LOOKUP_INPUTS:
            given.setdefault(name, []).append(value)

    def text(name: str) -> str | None:
        return p.text(pairs, name) if name in given else None

    code, system, version = text("code"), text("system"), text("version")
    if "coding" in given:
        coding = p.coding(pairs, "coding")
        assert coding is not None
        p.mutually_exclusive("$lookup", code=code, coding=coding)
        code, system = coding.get("code"), coding.get("system") or system
        version = coding.get("version") or version
    date = text("date")
    if date is not None and not _DATE_TIME.match(date):
        raise InvalidRequest(f"parameter 'date' must be a FHIR dateTime, not {date!r}",
                             expression=("date",))
    return LookupRequest(
        system=p.require(system, "system", "$lookup"),
        code=p.require(code, "code", "$lookup"),
        version=version or None,
        display_language=text("displayLanguage") or text("language") or accept_language,
        properties=tuple(str(v) for v in given.get("property", ())),
        use_supplements=tuple(str(v) for v in given.get("useSupplement", ())),
    )


# -- $subsumes ----------------------------------------------------------------------------------


@router.get("/$subsumes", response_class=FHIRJSONResponse)
def subsumes_get(request: Request, store: ReadStoreDep) -> Any:
    """CodeSystem $subsumes (https://hl7.org/fhir/R4/codesystem-operation-subsumes.html)."""
    return _subsumes(store, p.pairs_from_query(request.query_params.multi_items()))


@router.post("/$subsumes", response_class=FHIRJSONResponse)
async def subsumes_post(request: Request, store: ReadStoreDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    return await run_in_threadpool(_subsumes, store, pairs)


def _subsumes(store: Store, pairs: p.Pairs) -> FHIRJSONResponse:
    system, version, code_a, code_b = subsumes_request(pairs)
    outcome = subsumes(context_from(store, pairs), system, version, code_a, code_b)
    return FHIRJSONResponse(subsumes_to_parameters(outcome))


def answer_subsumes(store: Store, pairs: p.Pairs, accept_language: str | None
                    ) -> FHIRJSONResponse:
    """A GET $subsumes from parsed query parameters (the fast path's entry)."""
    return _subsumes(store, pairs)
