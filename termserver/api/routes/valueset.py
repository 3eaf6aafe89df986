"""ValueSet operations: $expand."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from termserver.api.body import json_body
from termserver.api.deps import SettingsDep, StoreDep
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.errors import InvalidRequest, NotFound
from termserver.fhir import params as p
from termserver.fhir.expansion import expansion_to_valueset
from termserver.fhir.valueset import value_set_definition
from termserver.model import ExpandRequest
from termserver.service.expand import expand
from termserver.settings import Settings
from termserver.store import Store

router = APIRouter(prefix="/ValueSet", tags=["ValueSet"])

#: Parameters that shape an expansion and are echoed in expansion.parameter, with value[x] type.
ECHOED = {"activeOnly": "Boolean", "excludeNested": "Boolean", "includeDesignations": "Boolean",
          "includeDefinition": "Boolean", "count": "Integer", "offset": "Integer",
          "filter": "String", "displayLanguage": "Code"}


@router.get("/$expand", response_class=FHIRJSONResponse)
def expand_get(request: Request, store: StoreDep, settings: SettingsDep) -> Any:
    """ValueSet $expand (https://hl7.org/fhir/R4/valueset-operation-expand.html)."""
    return _expand(store, settings, p.pairs_from_query(request.query_params.multi_items()))


@router.post("/$expand", response_class=FHIRJSONResponse)
async def expand_post(request: Request, store: StoreDep, settings: SettingsDep) -> Any:
    return _expand(store, settings, p.pairs_from_parameters(await json_body(request)))


def _expand(store: Store, settings: Settings, pairs: p.Pairs) -> FHIRJSONResponse:
    ctx = context_from(store, pairs)
    inline = p.first(pairs, "valueSet")
    url = p.text(pairs, "url")
    version = p.text(pairs, "valueSetVersion")
    if inline is not None:
        p.mutually_exclusive("$expand", url=url, valueSet=inline)
        definition = value_set_definition(inline)
    elif url:
        found = ctx.value_set(url, version)
        if found is None:
            raise NotFound(f"A definition for the value set '{url}"
                           f"{'|' + version if version else ''}' could not be found",
                           expression=("url",))
        definition = found
    else:
        raise InvalidRequest("$expand needs a 'url' or a 'valueSet' parameter",
                             expression=("url",))
    request = ExpandRequest(
        value_set=definition,
        count=_int(pairs, "count"),
        offset=_int(pairs, "offset") or 0,
        filter=p.text(pairs, "filter"),
        active_only=_bool(pairs, "activeOnly"),
        exclude_nested=_bool(pairs, "excludeNested"),
        include_designations=_bool(pairs, "includeDesignations"),
        display_language=p.text(pairs, "displayLanguage"),
        echo=tuple((name, kind, _typed(kind, p.first(pairs, name)))
                   for name, kind in ECHOED.items() if p.first(pairs, name) is not None),
    )
    result = expand(ctx, request, settings.max_expansion)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return FHIRJSONResponse(expansion_to_valueset(result, f"urn:uuid:{uuid.uuid4()}", stamp))


def _typed(kind: str, value: Any) -> Any:
    if kind == "Boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "Integer":
        return int(value)
    return str(value)


def _bool(pairs: p.Pairs, name: str) -> bool:
    value = p.first(pairs, name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if str(value).lower() not in ("true", "false"):
        raise InvalidRequest(f"parameter '{name}' must be true or false, not {value!r}",
                             expression=(name,))
    return str(value).lower() == "true"


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
