"""The hot GET operations, answered before FastAPI's routing and dependency machinery.

ETL pipelines, validators and ontology tools send `$lookup`, `$validate-code` and `$subsumes`
as plain GETs millions of times; for them routing, dependency resolution and Request objects
cost more than the indexed reads themselves. This ASGI middleware sits inside authentication
and answers exactly those paths with the same functions the routes use (so answers are
identical); everything else, and every POST, goes on to the FastAPI app.

It also starts every request's deadline (TERMSERVER_REQUEST_TIMEOUT, service/deadline): a
context variable, so it reaches the worker threads that sync handlers and
`run_in_threadpool` run in. On SQLite the single indexed reads run on the event loop; a
ValueSet $validate-code (whose value set may hold regex or ECL filters) and a GET $expand are
tried on the event loop within a budget, then answered in a worker thread (api/attempt.py), so
neither can hold up other requests for longer than the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from termserver.api.attempt import on_loop_first
from termserver.api.deps import read_store_of
from termserver.api.errors import error_response, unexpected_error_response
from termserver.api.routes import codesystem, validate, valueset
from termserver.errors import TerminologyError
from termserver.fhir.params import Pairs, pairs_from_query
from termserver.fhir.version import requested_version
from termserver.service import deadline
from termserver.store import Store

Answer = Callable[[Store, Pairs, str | None], Response]

HOT: dict[str, Answer] = {
    "/fhir/CodeSystem/$lookup": codesystem.answer_lookup,
    "/fhir/CodeSystem/$subsumes": codesystem.answer_subsumes,
    "/fhir/CodeSystem/$validate-code": lambda s, p, lang: validate.answer(s, p, lang, False),
    "/fhir/ValueSet/$validate-code": lambda s, p, lang: validate.answer(s, p, lang, True),
}
#: The HOT paths that are bounded single-code reads, run on the event loop on SQLite.
INLINE = frozenset({"/fhir/CodeSystem/$lookup", "/fhir/CodeSystem/$subsumes",
                    "/fhir/CodeSystem/$validate-code"})
#: GET $expand: answered by the route's own function (valueset.answer_expand), on the event
#: loop within a budget, else in a worker thread (api/attempt.py); it also needs the headers.
EXPAND = "/fhir/ValueSet/$expand"


class FastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        token = deadline.start(getattr(settings, "request_timeout", None))
        try:
            await self._answer(scope, receive, send)
        finally:
            deadline.reset(token)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = HOT.get(scope["path"]) if scope["type"] == "http" and \
            scope["method"] == "GET" else None
        if handler is None:
            if scope["path"] == EXPAND and scope["method"] == "GET":
                await self._expand(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        store = read_store_of(scope["app"].state)
        accept_language = next((v.decode("latin-1") for k, v in scope["headers"]
                                if k == b"accept-language"), None)
        cache_id = next((v.decode("latin-1") for k, v in scope["headers"]
                         if k == b"x-cache-id"), None)
        inline = store.inline_reads and scope["path"] in INLINE

        def answer(pairs: Pairs) -> Response:
            if cache_id and not any(k == "cache-id" for k, _ in pairs):
                pairs.append(("cache-id", cache_id))
            return handler(store, pairs, accept_language)

        await answer_query(scope, receive, send, answer, lambda _: inline, store)

    async def _expand(self, scope: Scope, receive: Receive, send: Send) -> None:
        """GET ValueSet/$expand, as the route answers it (same function, same errors)."""
        store = read_store_of(scope["app"].state)
        settings = scope["app"].state.settings
        headers = Headers(scope=scope)
        version = requested_version(headers.get("accept"), headers.get("content-type"))
        response: Response
        try:
            pairs = pairs_from_query(query_pairs(scope["query_string"]))
            response = await on_loop_first(store, lambda: valueset.answer_expand(
                store, settings, pairs, headers, version))
        except TerminologyError as exc:
            response = error_response(exc)
        except Exception as exc:  # noqa: BLE001 - every failure leaves as an OperationOutcome
            response = unexpected_error_response(exc)
        await response(scope, receive, send)


async def answer_query(scope: Scope, receive: Receive, send: Send,
                       answer: Callable[[Pairs], Response],
                       inline: Callable[[Pairs], bool], attempt: Store | None = None) -> None:
    """Parse the query string and answer it: on the event loop where `inline(pairs)` (a bounded
    read), else first on the event loop within a budget where `attempt` (the store read),
    else in a worker thread; any failure leaves as an OperationOutcome."""
    try:
        pairs = pairs_from_query(query_pairs(scope["query_string"]))
        if inline(pairs):
            response = answer(pairs)
        elif attempt is not None:
            response = await on_loop_first(attempt, lambda: answer(pairs))
        else:
            response = await run_in_threadpool(answer, pairs)
    except TerminologyError as exc:
        response = error_response(exc)
    except Exception as exc:  # noqa: BLE001 - every failure leaves as an OperationOutcome
        response = unexpected_error_response(exc)
    await response(scope, receive, send)


#: Decoded `name=value` pieces of query strings that hold escapes (`%`, `+`): the same
#: system and map URLs come with every request, so each is decoded once. Bounded.
_PIECES: dict[str, tuple[str, str]] = {}
PIECES_MAX = 4096


def query_pairs(query_string: bytes) -> list[tuple[str, str]]:
    """`parse_qsl(query, keep_blank_values=True)` of a raw query string (latin-1, as
    Starlette reads it), decoding each escaped piece once."""
    out: list[tuple[str, str]] = []
    for piece in query_string.decode("latin-1").split("&"):
        if not piece:
            continue
        found = _PIECES.get(piece)
        if found is None:
            found = parse_qsl(piece, keep_blank_values=True)[0]
            if "%" in piece or "+" in piece:
                if len(_PIECES) >= PIECES_MAX:
                    _PIECES.clear()
                _PIECES[piece] = found
        out.append(found)
    return out
