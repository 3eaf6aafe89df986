"""$validate-code on CodeSystem and ValueSet, and ValueSet/$batch-validate-code."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from termserver.api.attempt import on_loop_first
from termserver.api.body import json_body
from termserver.api.deps import ReadStoreDep, get_read_store
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import cache_id_of, cacheable, context_from
from termserver.errors import InvalidRequest, NotFound, TerminologyError
from termserver.fhir import params as p
from termserver.fhir.outcome import operation_outcome
from termserver.fhir.validation import validation_to_parameters
from termserver.fhir.valueset import value_set_definition
from termserver.model import CodingInput, ValidateRequest, ValueSetDefinition
from termserver.service.context import TxContext
from termserver.service.txcache import CACHES
from termserver.service.validate import validate_code
from termserver.store import Store
from termserver.store.page_reads import one_connection

router = APIRouter(tags=["validate-code"])


# $validate-code is a hot path (validators and ETL call it millions of times): no dependency
# injection, parameters parsed once, and on SQLite the few indexed reads of CodeSystem
# $validate-code run on the event loop instead of a worker thread (`Store.inline_reads`).


@router.get("/CodeSystem/$validate-code", response_class=FHIRJSONResponse)
async def cs_validate_get(request: Request) -> Any:
    """CodeSystem $validate-code (https://hl7.org/fhir/R4/codesystem-operation-validate-code.html)."""
    return await _run(request, p.pairs_from_query(request.query_params.multi_items()), False)


@router.post("/CodeSystem/$validate-code", response_class=FHIRJSONResponse)
async def cs_validate_post(request: Request) -> Any:
    return await _run(request, p.pairs_from_parameters(await json_body(request)), False)


@router.get("/ValueSet/$validate-code", response_class=FHIRJSONResponse)
async def vs_validate_get(request: Request) -> Any:
    """ValueSet $validate-code (https://hl7.org/fhir/R4/valueset-operation-validate-code.html)."""
    return await _run(request, p.pairs_from_query(request.query_params.multi_items()), True)


@router.post("/ValueSet/$validate-code", response_class=FHIRJSONResponse)
async def vs_validate_post(request: Request) -> Any:
    return await _run(request, p.pairs_from_parameters(await json_body(request)), True)


@router.post("/ValueSet/$batch-validate-code", response_class=FHIRJSONResponse)
async def batch_validate(request: Request, store: ReadStoreDep) -> Any:
    """One $validate-code per `validation` parameter, sharing the top-level parameters."""
    pairs = _with_header_cache_id(request, p.pairs_from_parameters(await json_body(request)))
    return await run_in_threadpool(_batch, store, pairs, request.headers.get("accept-language"))


def _batch(store: Store, pairs: p.Pairs, accept_language: str | None) -> FHIRJSONResponse:
    """In a worker thread: the value sets may hold regex or ECL filters."""
    shared = [(k, v) for k, v in pairs if k != "validation"]
    ctx = context_from(store, pairs)
    out = []
    for item in p.all_of(pairs, "validation"):
        if not isinstance(item, dict):
            raise InvalidRequest("each 'validation' parameter must hold a Parameters resource",
                                 expression=("validation",))
        inner = [(k, v) for k, v in shared if k not in _names(item)]
        inner += p.pairs_from_parameters(item)
        try:
            req = _request(ctx, inner, accept_language, True)
            answer = validation_to_parameters(validate_code(ctx, req))
        except TerminologyError as exc:  # one bad item does not fail the batch
            answer = operation_outcome(exc.issues())
        out.append({"name": "validation", "resource": answer})
    return FHIRJSONResponse({"resourceType": "Parameters", "parameter": out})


def _names(parameters: Any) -> set[str]:
    return {str(x.get("name")) for x in parameters.get("parameter") or [] if isinstance(x, dict)}


#: The header the reference server reads a cache id from (the `cache-id` parameter wins).
CACHE_ID_HEADER = "x-cache-id"


def _with_header_cache_id(request: Request, pairs: p.Pairs) -> p.Pairs:
    header = request.headers.get(CACHE_ID_HEADER)
    if header and p.first(pairs, "cache-id") is None:
        return [*pairs, ("cache-id", header)]
    return pairs


async def _run(request: Request, pairs: p.Pairs, on_value_set: bool) -> FHIRJSONResponse:
    store = get_read_store(request)
    pairs = _with_header_cache_id(request, pairs)
    accept_language = request.headers.get("accept-language")
    if store.inline_reads and not on_value_set:  # a value set may hold regex or ECL filters
        return answer(store, pairs, accept_language, on_value_set)
    # so that one is tried on the event loop within a budget, else in a worker thread
    return await on_loop_first(store, lambda: answer(store, pairs, accept_language,
                                                     on_value_set))


def answer(store: Store, pairs: p.Pairs, accept_language: str | None,
           on_value_set: bool) -> FHIRJSONResponse:
    """One $validate-code, from parsed parameters to the response (also the fast path's)."""
    with one_connection(store):  # PostgreSQL: one connection (one ping) for all its reads
        ctx = context_from(store, pairs)
        result = validate_code(ctx, _request(ctx, pairs, accept_language, on_value_set))
    return FHIRJSONResponse(validation_to_parameters(result))


def _request(ctx: TxContext, pairs: p.Pairs, accept_language: str | None,
             on_value_set: bool) -> ValidateRequest:
    vs = _value_set(ctx, pairs) if on_value_set else None
    cs_url = None if on_value_set else (p.text(pairs, "url") or p.text(pairs, "system"))
    if not on_value_set and cs_url is None:
        inline = p.first(pairs, "codeSystem")
        if isinstance(inline, dict):
            cs_url = inline.get("url")
    coding, cc = p.coding(pairs, "coding"), p.coding(pairs, "codeableConcept")
    code = p.text(pairs, "code")
    p.mutually_exclusive("$validate-code", code=code, coding=coding, codeableConcept=cc)
    version = p.text(pairs, "systemVersion") or p.text(pairs, "version")
    codings: tuple[CodingInput, ...]
    form: Literal["code", "coding", "codeableConcept"]
    if coding is not None:
        codings = (_coding(coding, cs_url),)
        form = "coding"
    elif cc is not None:
        codings = tuple(_coding(c, cs_url) for c in cc.get("coding") or [])
        form = "codeableConcept"
        if not codings:
            raise InvalidRequest("the codeableConcept has no coding to validate",
                                 expression=("codeableConcept",))
    elif code is not None:
        system = cs_url if not on_value_set else p.text(pairs, "system")
        codings = (CodingInput(system, code, version, p.text(pairs, "display")),)
        form = "code"
    else:
        raise InvalidRequest("Unable to find code to validate (looked for coding | "
                             "codeableConcept | code+system | code+inferSystem in parameters")
    return ValidateRequest(
        codings=codings, form=form, value_set=vs,
        display_language=p.text(pairs, "displayLanguage") or accept_language,
        lenient_display=p.boolean(pairs, "lenient-display-validation"),
        active_only=p.boolean(pairs, "activeOnly"),
        abstract_ok=p.boolean(pairs, "abstract", default=True),
        membership_only=p.boolean(pairs, "valueset-membership-only"),
        infer_system=p.boolean(pairs, "inferSystem"),
        default_value_set_versions=p.canonical_versions(
            p.all_of(pairs, "default-valueset-version")),
        codeable_concept=cc,
        use_supplements=tuple(str(v) for v in p.all_of(pairs, "useSupplement")),
    )


def _coding(data: Any, default_system: str | None) -> CodingInput:
    if not isinstance(data, dict):
        raise InvalidRequest("a Coding must be a JSON object", expression=("coding",))
    return CodingInput(data.get("system") or default_system, data.get("code"),
                       data.get("version"), data.get("display"))


def _value_set(ctx: TxContext, pairs: p.Pairs) -> ValueSetDefinition:
    inline = p.first(pairs, "valueSet")
    url = p.text(pairs, "url")
    if isinstance(inline, dict):
        return value_set_definition(inline)
    if not url:
        raise InvalidRequest("ValueSet/$validate-code needs a 'url' or a 'valueSet'",
                             expression=("url",))
    base, _, pinned = url.partition("|")
    version = p.text(pairs, "valueSetVersion") or pinned or None
    found = ctx.value_set(base, version)
    if found is None:
        shown = f"{base}|{version}" if version else base
        raise NotFound(f"A definition for the value Set '{shown}' could not be found",
                       message_id="Unable_to_resolve_value_Set_", tx_code="not-found")
    return found


# -- $cache-control: validator caches (service/txcache.py) ----------------------------------------


@router.get("/$cache-control", response_class=FHIRJSONResponse)
async def cache_control_get(request: Request) -> Any:
    """Start (`mode=start`), check (`mode=check`) or end (`mode=end`) a validator cache."""
    return await _cache_control(request, [])


@router.post("/$cache-control", response_class=FHIRJSONResponse)
async def cache_control_post(request: Request) -> Any:
    body = await request.body()
    pairs = p.pairs_from_parameters(await json_body(request)) if body.strip() else []
    return await _cache_control(request, pairs)


async def _cache_control(request: Request, pairs: p.Pairs) -> FHIRJSONResponse:
    mode = request.query_params.get("mode") or p.text(pairs, "mode")
    if mode == "start":
        resources = await run_in_threadpool(cacheable, pairs)
        sealed = p.boolean(pairs, "sealed") or request.query_params.get("sealed") == "true"
        issued = CACHES.start(resources, sealed)
        return FHIRJSONResponse({"resourceType": "Parameters", "parameter": [
            {"name": "cache-id", "valueId": issued},
            {"name": "sealed", "valueBoolean": sealed}]})
    if mode not in ("check", "end"):
        raise InvalidRequest("$cache-control needs a 'mode' of 'start', 'end' or 'check'"
                             + (f" (got '{mode}')" if mode else " (none supplied)"),
                             expression=("mode",))
    given = cache_id_of(request.headers.get(CACHE_ID_HEADER) or p.text(pairs, "cache-id")
                        or request.query_params.get("cache-id"))
    if given is None:
        raise InvalidRequest(f"$cache-control mode={mode} needs the cache id in the "
                             "'X-Cache-Id' header (or a 'cache-id' parameter)",
                             expression=("cache-id",))
    cache_id = given
    if mode == "end":
        CACHES.end(cache_id)
        return FHIRJSONResponse({"resourceType": "Parameters", "parameter": []})
    status = CACHES.status(cache_id)
    if status is None:  # a probe: 200 with valid=false, the reason in `outcome`
        return FHIRJSONResponse({"resourceType": "Parameters", "parameter": [
            {"name": "cache-id", "valueId": cache_id},
            {"name": "valid", "valueBoolean": False},
            {"name": "outcome", "resource": operation_outcome(
                CACHES.missing(cache_id).issues())}]})
    return FHIRJSONResponse({"resourceType": "Parameters", "parameter": [
        {"name": "cache-id", "valueId": cache_id},
        {"name": "valid", "valueBoolean": True},
        {"name": "sealed", "valueBoolean": status.sealed},
        {"name": "resource-count", "valueUnsignedInt": status.resource_count},
        {"name": "idle", "valueUnsignedInt": status.idle_seconds},
        {"name": "timeout", "valueUnsignedInt": status.timeout_seconds}]})
