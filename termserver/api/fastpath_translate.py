"""`GET /fhir/ConceptMap/$translate` answered before FastAPI's routing, like `$lookup` in
termserver.api.fastpath.

The answer is the route's own (the same parameter reader, service and wire functions, so the
two cannot differ); what it saves is routing, dependency resolution and the worker-thread hop.
The service reads a stored map's rows with one indexed query per code
(termserver.store.bulk), never the map itself, so the cost does not grow with the map. Installed
inside FastPath (which starts the request deadline) and FhirVersionScope (which publishes the
FHIR version asked for). On SQLite the read runs on the event loop, except a version-chained
translation (`targetSystem=url|version` of the code's own system), which may pass through many
maps and goes to a worker thread; on PostgreSQL every read goes to a worker thread.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.deps import read_store_of
from termserver.api.fastpath import answer_query
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.fhir.params import Pairs
from termserver.fhir.translation import (
    request_concept_maps,
    simple_translate_request,
    translate_request,
    translation_to_parameters,
)
from termserver.service.context import FHIR_VERSION, TxContext
from termserver.service.translate import translate, translate_one
from termserver.store import Store

PATH = "/fhir/ConceptMap/$translate"


def answer_translate(store: Store, pairs: Pairs, fhir_version: str) -> Response:
    """A $translate from parsed parameters: exactly what the route answers (the commonest
    form read in one pass: no resources or version rules to gather)."""
    simple = simple_translate_request(pairs)
    if simple is not None:
        result = translate_one(TxContext(store), simple)
    else:
        result = translate(context_from(store, pairs), translate_request(pairs),
                           request_concept_maps(pairs))
    return FHIRJSONResponse(translation_to_parameters(result, fhir_version))


def _inline(store: Store, pairs: Pairs) -> bool:
    """A bounded read that may run on the event loop: SQLite, and no target version (which
    may start a chain through many maps)."""
    return store.inline_reads and not any(
        name in ("targetsystem", "targetSystem") and isinstance(value, str) and "|" in value
        for name, value in pairs)


class TranslateFastPath:
    """ASGI middleware: answers GET PATH itself, passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        store = read_store_of(scope["app"].state)
        fhir_version = FHIR_VERSION.get()
        await answer_query(scope, receive, send,
                           lambda pairs: answer_translate(store, pairs, fhir_version),
                           lambda pairs: _inline(store, pairs))
