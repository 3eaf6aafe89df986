"""CRUD and search for CodeSystem, ValueSet and ConceptMap (FHIR RESTful API, R4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from termserver import ingest
from termserver.api.body import json_body
from termserver.api.deps import BaseUrlDep, ReadStoreDep, StoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.errors import InvalidRequest, NotFound
from termserver.fhir.outcome import operation_outcome
from termserver.fhir.params import Pairs, integer, pairs_from_query, text
from termserver.fhir.resources import resource_view, search_bundle, summarize
from termserver.model import Issue, SearchQuery
from termserver.store import Store

SEARCH_PARAMS = {"url", "version", "name", "title", "status", "_id"}
CONTROL_PARAMS = {"_count", "_offset", "_summary", "_format", "_pretty"}
MAX_COUNT = 1000


def router_for(rtype: str) -> APIRouter:
    router = APIRouter(prefix=f"/{rtype}", tags=[rtype])

    @router.get("", response_class=FHIRJSONResponse)
    def search(request: Request, store: ReadStoreDep, base_url: BaseUrlDep) -> Any:
        params = list(request.query_params.multi_items())
        query, summary = _search_query(rtype, pairs_from_query(params))
        total, found = store.search(query, with_json=summary != "count")
        entries = [] if summary == "count" else [
            summarize(resource_view(r), summary or "false") for r in found]
        return FHIRJSONResponse(search_bundle(base_url, rtype, params, total, entries,
                                              count=query.count, offset=query.offset))

    @router.post("", response_class=FHIRJSONResponse, status_code=201)
    async def create(request: Request, store: StoreDep, base_url: BaseUrlDep) -> Any:
        data = await json_body(request)
        result = await run_in_threadpool(_save, store, data, rtype, "create", None, None)
        return _written(store, base_url, rtype, result, 201)

    @router.get("/{id}", response_class=FHIRJSONResponse)
    def read(id: str, request: Request, store: ReadStoreDep) -> Any:
        summary = _summary(pairs_from_query(request.query_params.multi_items())) or "false"
        stored = store.read_resource(rtype, _known_id(rtype, id))
        return FHIRJSONResponse(summarize(resource_view(stored), summary),
                                headers={"ETag": f'W/"{stored.summary.version_id}"'})

    @router.put("/{id}", response_class=FHIRJSONResponse)
    async def update(id: str, request: Request, store: StoreDep, base_url: BaseUrlDep) -> Any:
        data = await json_body(request)
        if_match = _if_match(request.headers.get("if-match"))
        result = await run_in_threadpool(_save, store, data, rtype, "update", id, if_match)
        status = 201 if result.outcome == "created" else 200
        return _written(store, base_url, rtype, result, status)

    @router.delete("/{id}", response_class=FHIRJSONResponse)
    def delete(id: str, store: StoreDep) -> Any:
        with store.writer() as w:
            ingest.delete_resource(w, rtype, _known_id(rtype, id))
        issue = Issue("information", "informational", f"deleted {rtype}/{id}")
        return FHIRJSONResponse(operation_outcome([issue]))

    return router


def _save(store: Store, data: dict[str, Any], rtype: str, mode: ingest.Mode, id: str | None,
          if_match: int | None) -> ingest.SaveResult:
    with store.writer() as w:
        return ingest.save_resource(w, data, mode=mode, resource_type=rtype, id=id,
                                    if_match=if_match)


def _written(store: Store, base: str, rtype: str, result: ingest.SaveResult,
             status: int) -> Response:
    stored = store.read_resource(rtype, result.id)
    vid = stored.summary.version_id
    return FHIRJSONResponse(resource_view(stored), status_code=status, headers={
        "Location": f"{base}/{rtype}/{result.id}/_history/{vid}", "ETag": f'W/"{vid}"'})


def _search_query(rtype: str, params: Pairs) -> tuple[SearchQuery, str | None]:
    """The search from checked parameters (integers typed, each at most once)."""
    values: dict[str, str] = {}
    for key, value in params:
        if key in SEARCH_PARAMS:
            values["id" if key == "_id" else key] = str(value)
        elif key not in CONTROL_PARAMS and not key.startswith("_"):
            raise InvalidRequest(f"unknown search parameter {key[:60]!r} for {rtype}; "
                                 f"supported: {', '.join(sorted(SEARCH_PARAMS | CONTROL_PARAMS))}",
                                 expression=(key,))
    count = integer(params, "_count")
    offset = integer(params, "_offset")
    return SearchQuery(rtype, count=min(50 if count is None else count, MAX_COUNT),
                       offset=offset or 0, **values), _summary(params)


def _summary(params: Pairs) -> str | None:
    summary = text(params, "_summary")
    if summary not in (None, "true", "false", "text", "data", "count"):
        raise InvalidRequest(f"_summary must be true, false, text, data or count, not "
                             f"{summary[:60]!r}", expression=("_summary",))
    return summary


def _known_id(rtype: str, id: str) -> str:
    """`id` when it is a FHIR id; 404 otherwise (nothing stored has such an id)."""
    if not ingest.is_valid_id(id):
        raise NotFound(f"{rtype}/{id[:80]!r} is not known (not a valid FHIR id)")
    return id


def _if_match(header: str | None) -> int | None:
    if header is None:
        return None
    raw = header.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise InvalidRequest(f"If-Match must be a version like W/\"3\", not {header[:40]!r}",
                             expression=("If-Match",))
    return int(raw)
