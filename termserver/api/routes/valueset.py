"""ValueSet operations: $expand."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from termserver.api.attempt import on_loop_first
from termserver.api.body import json_body
from termserver.api.deps import FhirVersionDep, ReadStoreDep, SettingsDep
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.errors import InvalidRequest, NotFound
from termserver.fhir import params as p
from termserver.fhir.expansion import expansion_to_valueset
from termserver.fhir.valueset import value_set_definition
from termserver.fhir.version import FhirVersion
from termserver.model import ExpandRequest, Expansion, ValueSetDefinition
from termserver.service.context import TxContext
from termserver.service.expand import expand
from termserver.settings import Settings
from termserver.store import Store
from termserver.store.page_reads import one_connection

router = APIRouter(prefix="/ValueSet", tags=["ValueSet"])

#: Parameters that shape an expansion and are echoed in expansion.parameter, with value[x] type.
ECHOED = {"activeOnly": "Boolean", "excludeNested": "Boolean", "includeDesignations": "Boolean",
          "includeDefinition": "Boolean", "count": "Integer", "offset": "Integer",
          "filter": "String", "designation": "String", "default-valueset-version": "Uri"}

#: A request header that lowers the expansion size limit (tx-ecosystem IG tests).
TOO_COSTLY_HEADER = "x-too-costly-threshold"
#: The non-standard parameter that lowers it too (tx-ecosystem IG: too-costly over it).
TOO_COSTLY_LIMIT_PARAMETER = "limit"


@router.get("/$expand", response_class=FHIRJSONResponse)
def expand_get(request: Request, store: ReadStoreDep, settings: SettingsDep,
               fhir_version: FhirVersionDep) -> Any:
    """ValueSet $expand (https://hl7.org/fhir/R5/valueset-operation-expand.html)."""
    return _expand(store, settings, p.pairs_from_query(request.query_params.multi_items()),
                   request.headers, fhir_version)


@router.post("/$expand", response_class=FHIRJSONResponse)
async def expand_post(request: Request, store: ReadStoreDep, settings: SettingsDep,
                      fhir_version: FhirVersionDep) -> Any:
    pairs = p.pairs_from_parameters(await json_body(request))
    # on the event loop within a budget, else in a worker thread (api/attempt.py)
    return await on_loop_first(store, lambda: _expand(store, settings, pairs, request.headers,
                                                      fhir_version))


def answer_expand(store: Store, settings: Settings, pairs: p.Pairs,
                  headers: Mapping[str, str], fhir_version: FhirVersion) -> FHIRJSONResponse:
    """A GET $expand from parsed query parameters (the fast path's entry; the same answer as
    the route's)."""
    return _expand(store, settings, pairs, headers, fhir_version)


def _expand(store: Store, settings: Settings, pairs: p.Pairs, headers: Mapping[str, str],
            fhir_version: FhirVersion) -> FHIRJSONResponse:
    with one_connection(store):  # PostgreSQL: one connection (one ping) for all its reads
        result = _expanded(store, settings, pairs, headers)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return FHIRJSONResponse(expansion_to_valueset(result, f"urn:uuid:{uuid.uuid4()}", stamp,
                                                  fhir_version))


def _expanded(store: Store, settings: Settings, pairs: p.Pairs,
              headers: Mapping[str, str]) -> Expansion:
    ctx = context_from(store, pairs)
    definition = _definition(ctx, pairs)
    count, offset = _int(pairs, "count"), _int(pairs, "offset")
    request = ExpandRequest(
        value_set=definition,
        count=count,
        offset=offset or 0,
        filter=p.text(pairs, "filter"),
        active_only=p.boolean(pairs, "activeOnly"),
        exclude_nested=p.boolean(pairs, "excludeNested"),
        include_designations=p.boolean(pairs, "includeDesignations"),
        display_language=p.text(pairs, "displayLanguage"),
        echo=tuple((name, kind, _typed(kind, value)) for name, kind in ECHOED.items()
                   for value in p.all_of(pairs, name)),
        properties=tuple(str(v) for v in p.all_of(pairs, "property")),
        designations=tuple(str(v) for v in p.all_of(pairs, "designation")),
        supplements=tuple(str(v) for v in p.all_of(pairs, "useSupplement")),
        default_value_set_versions=tuple(
            str(v) for v in p.all_of(pairs, "default-valueset-version")),
        accept_language=headers.get("accept-language"),
        paged=count is not None or offset is not None,
    )
    limit = _limit(settings, headers, _int(pairs, TOO_COSTLY_LIMIT_PARAMETER))
    return expand(ctx, request, limit)


def _definition(ctx: TxContext, pairs: p.Pairs) -> ValueSetDefinition:
    """The value set to expand: inline `valueSet`, or `url` (+ `valueSetVersion`)."""
    inline = p.first(pairs, "valueSet")
    url = p.text(pairs, "url")
    version = p.text(pairs, "valueSetVersion")
    if inline is not None:
        p.mutually_exclusive("$expand", url=url, valueSet=inline)
        if not isinstance(inline, dict):
            raise InvalidRequest("parameter 'valueSet' must be a ValueSet resource",
                                 expression=("valueSet",))
        return value_set_definition(inline)
    if url:
        found = ctx.value_set(url, version)
        if found is None:
            canonical = url if not version or "|" in url else f"{url}|{version}"
            raise NotFound(f"A definition for the value Set '{canonical}' could not be found",
                           message_id="Unable_to_resolve_value_Set_", tx_code="not-found",
                           expression=("url",))
        return found
    raise InvalidRequest("$expand needs a 'url' or a 'valueSet' parameter", expression=("url",))


def _limit(settings: Settings, headers: Mapping[str, str], asked: int | None = None) -> int:
    """The configured expansion limit, lowered (never raised) by the threshold header and by
    the non-standard `limit` parameter (tx-ecosystem IG: too-costly over it)."""
    limit = settings.max_expansion
    header = headers.get(TOO_COSTLY_HEADER)
    if header and header.strip().isascii() and header.strip().isdigit() \
            and len(header.strip()) <= 10:
        limit = min(limit, int(header.strip()))
    if asked is not None and asked > 0:
        limit = min(limit, asked)
    return limit


def _typed(kind: str, value: Any) -> Any:
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "Integer":
        return int(value)
    return str(value)


def _int(pairs: p.Pairs, name: str) -> int | None:
    value = p.first(pairs, name)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"parameter '{name}' must be an integer, not {value!r}",
                             expression=(name,)) from None
    if number < 0:
        raise InvalidRequest(f"parameter '{name}' must not be negative", expression=(name,))
    return number
