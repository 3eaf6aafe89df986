"""CodeSystem/$normalize: split ICD-10-GM notation (`I25.11† N08.3*`, `J65 U69.12`, `A01.0+`)
into bare codes with their roles, for ETL. Parameters: `code` (the string), optional `system`
(ICD-10-GM or one of its aliases) and `version` (the year to check the codes against)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from termserver.api.body import json_body
from termserver.api.deps import ReadStoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.fhir import params as p
from termserver.fhir.notation import normalize_to_parameters
from termserver.service.context import TxContext
from termserver.service.icd_notation import normalize
from termserver.store import Store

router = APIRouter(prefix="/CodeSystem", tags=["CodeSystem"])


@router.get("/$normalize", response_class=FHIRJSONResponse)
def normalize_get(request: Request, store: ReadStoreDep) -> Any:
    return _normalize(store, p.pairs_from_query(request.query_params.multi_items()))


@router.post("/$normalize", response_class=FHIRJSONResponse)
async def normalize_post(request: Request, store: ReadStoreDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    return await run_in_threadpool(_normalize, store, pairs)


def _normalize(store: Store, pairs: p.Pairs) -> FHIRJSONResponse:
    code = p.require(p.text(pairs, "code"), "code", "$normalize")
    result = normalize(TxContext(store), code, p.text(pairs, "system"), p.text(pairs, "version"))
    return FHIRJSONResponse(normalize_to_parameters(result))
