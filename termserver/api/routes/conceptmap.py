"""ConceptMap operations: $translate (type level and on one stored map)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from termserver.api.body import json_body
from termserver.api.deps import FhirVersionDep, ReadStoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.errors import NotFound
from termserver.fhir import params as p
from termserver.fhir.translation import (
    request_concept_maps,
    translate_request,
    translation_to_parameters,
)
from termserver.model import SearchQuery
from termserver.service.translate import translate
from termserver.store import Store

router = APIRouter(prefix="/ConceptMap", tags=["ConceptMap"])


@router.get("/$translate", response_class=FHIRJSONResponse)
def translate_get(request: Request, store: ReadStoreDep, fhir_version: FhirVersionDep) -> Any:
    """ConceptMap $translate (https://hl7.org/fhir/R5/conceptmap-operation-translate.html)."""
    return _translate(store, p.pairs_from_query(request.query_params.multi_items()),
                      fhir_version)


@router.post("/$translate", response_class=FHIRJSONResponse)
async def translate_post(request: Request, store: ReadStoreDep,
                         fhir_version: FhirVersionDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    return await run_in_threadpool(_translate, store, pairs, fhir_version)


@router.get("/{id}/$translate", response_class=FHIRJSONResponse)
def translate_instance_get(id: str, request: Request, store: ReadStoreDep,
                           fhir_version: FhirVersionDep) -> Any:
    """$translate with the stored map ConceptMap/{id}."""
    pairs = p.pairs_from_query(request.query_params.multi_items())
    return _translate(store, _with_map(store, id, pairs), fhir_version)


@router.post("/{id}/$translate", response_class=FHIRJSONResponse)
async def translate_instance_post(id: str, request: Request, store: ReadStoreDep,
                                  fhir_version: FhirVersionDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    return await run_in_threadpool(
        lambda: _translate(store, _with_map(store, id, pairs), fhir_version))


def _translate(store: Store, pairs: p.Pairs, fhir_version: str) -> FHIRJSONResponse:
    result = translate(context_from(store, pairs), translate_request(pairs),
                       request_concept_maps(pairs))
    return FHIRJSONResponse(translation_to_parameters(result, fhir_version))


def _with_map(store: Store, id: str, pairs: p.Pairs) -> p.Pairs:
    """The instance form names the map by id: pin its url and version (404 when unknown)."""
    _, found = store.search(SearchQuery("ConceptMap", id=id, count=1), with_json=False)
    if not found:
        raise NotFound(f"ConceptMap/{id} is not known")
    summary = found[0].summary
    pinned = [("url", summary.url or "")]
    if summary.version:
        pinned.append(("conceptMapVersion", summary.version))
    return pinned + [(k, v) for k, v in pairs if k not in ("url", "conceptMapVersion")]
