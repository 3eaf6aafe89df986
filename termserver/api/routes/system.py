"""System-level interactions at the FHIR base: `batch` Bundles, `$versions` and `$closure`.

A batch is executed in-process: the terminology reads among its entries ($translate, $lookup,
$validate-code) are answered together, set-based (termserver.api.batch_sets); every other
entry is dispatched through this same ASGI application (routing, authorisation, error
handling), with no HTTP round-trip, so every route works in a batch, and entries run
concurrently (bounded) while answers keep the entry order.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from termserver.api import batch_sets
from termserver.api.body import json_body
from termserver.api.deps import FhirVersionDep, StoreDep, get_base_url, get_read_store
from termserver.api.responses import FHIRJSONResponse
from termserver.api.tx import context_from
from termserver.errors import InvalidRequest, NotSupported
from termserver.fhir import params as p
from termserver.fhir.outcome import operation_outcome
from termserver.fhir.translation import closure_to_concept_map, coding_input
from termserver.fhir.version import requested_version
from termserver.model import JSON, Issue
from termserver.service.closure import closure
from termserver.service.context import FHIR_VERSION

router = APIRouter(tags=["system"])
log = logging.getLogger(__name__)

#: FHIR versions this server speaks ($versions), major.minor as the operation defines them.
VERSIONS = ("4.0", "5.0")
DEFAULT_VERSION = "4.0"
#: How many batch entries run at the same time.
BATCH_CONCURRENCY = 16
#: Request headers an entry inherits from the batch request.
_INHERITED = (b"host", b"authorization", b"accept", b"accept-language")


class FhirVersionScope:
    """ASGI middleware: publish the FHIR version the client asked for (Accept `fhirVersion=`)
    as termserver.service.context.FHIR_VERSION, for content that depends on it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        accept, ctype = headers.get(b"accept"), headers.get(b"content-type")
        version = requested_version(accept.decode("latin-1") if accept else None,
                                    ctype.decode("latin-1") if ctype else None)
        token = FHIR_VERSION.set(version)
        try:
            await self.app(scope, receive, send)
        finally:
            FHIR_VERSION.reset(token)


# -- $versions ----------------------------------------------------------------------------------


@router.get("/$versions", response_class=FHIRJSONResponse)
@router.post("/$versions", response_class=FHIRJSONResponse)
def versions() -> Any:
    """The FHIR versions served (https://hl7.org/fhir/R5/capabilitystatement-operation-versions.html);
    a client picks one with `Accept: application/fhir+json; fhirVersion=5.0`."""
    params: list[JSON] = [{"name": "version", "valueCode": v} for v in VERSIONS]
    params.append({"name": "default", "valueCode": DEFAULT_VERSION})
    return FHIRJSONResponse({"resourceType": "Parameters", "parameter": params})


# -- $closure -----------------------------------------------------------------------------------


@router.post("/$closure", response_class=FHIRJSONResponse)
async def closure_post(request: Request, store: StoreDep, fhir_version: FhirVersionDep) -> Any:
    """$closure (https://hl7.org/fhir/R4/conceptmap-operation-closure.html)."""
    pairs = p.pairs_from_parameters(await json_body(request))
    name = p.require(p.text(pairs, "name"), "name", "$closure")
    concepts = [coding_input(c, "concept") for c in p.all_of(pairs, "concept")]
    update = await run_in_threadpool(closure, context_from(store, pairs), name, concepts,
                                     p.text(pairs, "version"))
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return FHIRJSONResponse(closure_to_concept_map(update, f"urn:uuid:{uuid.uuid4()}", stamp,
                                                   fhir_version))


# -- batch --------------------------------------------------------------------------------------


@router.post("", response_class=FHIRJSONResponse)
async def batch(request: Request) -> Any:
    """A `batch` Bundle (https://hl7.org/fhir/R4/http.html#transaction): every entry is
    executed on its own and answered in a `batch-response` Bundle, in entry order."""
    bundle = await json_body(request)
    if bundle.get("resourceType") != "Bundle":
        raise InvalidRequest(f"POST to the base needs a Bundle, not "
                             f"{bundle.get('resourceType') or 'no resourceType'}",
                             expression=("resourceType",))
    if bundle.get("type") != "batch":
        raise NotSupported(f"Bundle type {bundle.get('type')!r} is not supported at the base; "
                           "send a 'batch' Bundle", expression=("Bundle.type",))
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InvalidRequest("Bundle.entry must be a list", expression=("Bundle.entry",))
    dispatcher = _Dispatcher(request)
    answers: list[JSON | None] = [None] * len(entries)
    for kind, members in dispatcher.sets(entries).items():  # batch_sets: answered together
        try:
            found = await run_in_threadpool(
                batch_sets.answer, get_read_store(request), kind, members,
                request.headers.get("accept-language"), FHIR_VERSION.get(),
                getattr(request.app.state.settings, "request_timeout", None))
        except Exception:  # noqa: BLE001 - dispatched one by one below, as without sets
            log.exception("batch: the %s set failed; dispatching its entries one by one", kind)
            continue
        for m, (status, resource) in zip(members, found, strict=True):
            answers[m.index] = _answer(status, resource)
    limit = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def run(i: int, entry: Any) -> None:
        async with limit:
            answers[i] = await dispatcher.entry(i, entry)

    await asyncio.gather(*(run(i, e) for i, e in enumerate(entries) if answers[i] is None))
    out: JSON = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "batch-response"}
    if answers:
        out["entry"] = answers
    return FHIRJSONResponse(out)


class _Dispatcher:
    """Runs one batch entry through the application, in-process."""

    def __init__(self, request: Request) -> None:
        self.app: ASGIApp = request.app
        self.scope = request.scope
        self.mount = str(request.scope.get("root_path") or "") + "/fhir"
        self.base = get_base_url(request)
        self.headers = [(k, v) for k, v in request.scope["headers"]
                        if k in _INHERITED or k.startswith(b"x-")]
        ctype = dict(request.scope["headers"]).get(b"content-type", b"application/fhir+json")
        self.content_type = ctype

    def sets(self, entries: list[Any]) -> dict[batch_sets.Kind, list[batch_sets.Member]]:
        """The entries answered set-based (termserver.api.batch_sets), by operation; none
        when the batch names a cache id in its X-Cache-Id header (each entry inherits it)."""
        out: dict[batch_sets.Kind, list[batch_sets.Member]] = {}
        if any(k == b"x-cache-id" for k, _ in self.headers):
            return out
        for i, entry in enumerate(entries):
            try:
                method, path, query = self._target(i, entry)
            except InvalidRequest:
                continue
            found = batch_sets.member(i, method, path[len(self.mount):], query,
                                      entry.get("resource"))
            if found is not None:
                out.setdefault(found.kind, []).append(found)
        return out

    async def entry(self, i: int, entry: Any) -> JSON:
        try:
            method, path, query = self._target(i, entry)
        except InvalidRequest as exc:
            return _answer(400, operation_outcome(exc.issues()))
        resource = entry.get("resource")
        body = orjson.dumps(resource) if resource is not None and method in ("POST", "PUT") \
            else b""
        status, headers, content = await self._call(method, path, query.encode(), body)
        return _answer(status, None, content, headers)

    def _target(self, i: int, entry: Any) -> tuple[str, str, str]:
        """The entry's method, path (below the mount) and query string; InvalidRequest when
        its request is not one this batch can run."""
        where = f"Bundle.entry[{i}].request"
        req = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(req, dict) or not req.get("method") or not req.get("url"):
            raise InvalidRequest(f"{where} needs a method and a url", expression=(where,))
        method = str(req["method"]).upper()
        if method not in ("GET", "POST", "PUT", "DELETE"):
            raise InvalidRequest(f"{where}.method {method!r} is not supported in a batch",
                                 expression=(f"{where}.method",))
        url = str(req["url"])
        if urlsplit(url).scheme:  # absolute: must point below this server's FHIR base
            if not url.startswith(self.base + "/"):
                raise InvalidRequest(f"{where}.url {url!r} is not on this server",
                                     expression=(f"{where}.url",))
            url = url[len(self.base):]
        parts = urlsplit(url)
        path = f"{self.mount}/{parts.path.lstrip('/')}"
        if path.rstrip("/") == self.mount:
            raise InvalidRequest(f"{where}.url: a batch cannot contain another batch",
                                 expression=(f"{where}.url",))
        return method, path, parts.query

    async def _call(self, method: str, path: str, query: bytes, body: bytes
                    ) -> tuple[int, dict[bytes, bytes], bytes]:
        headers = list(self.headers)
        if body:
            headers += [(b"content-type", self.content_type),
                        (b"content-length", str(len(body)).encode())]
        scope: Scope = {"type": "http", "asgi": self.scope.get("asgi", {"version": "3.0"}),
                        "http_version": "1.1", "scheme": self.scope.get("scheme", "http"),
                        "server": self.scope.get("server"), "client": self.scope.get("client"),
                        "root_path": self.scope.get("root_path", ""), "method": method,
                        "path": path, "raw_path": path.encode(), "query_string": query,
                        "headers": headers}
        if "state" in self.scope:
            scope["state"] = self.scope["state"]
        done = asyncio.Event()
        sent = False
        status, response_headers, chunks = 500, {}, []

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status, response_headers
            if message["type"] == "http.response.start":
                status = int(message["status"])
                response_headers = dict(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except Exception:  # the error handlers have already answered (a 500 OperationOutcome)
            if not chunks:
                raise
        finally:
            done.set()
        return status, response_headers, b"".join(chunks)


def _answer(status: int, resource: JSON | None, content: bytes = b"",
            headers: dict[bytes, bytes] | None = None) -> JSON:
    response: JSON = {"status": f"{status} {_reason(status)}"}
    for header, key in ((b"location", "location"), (b"etag", "etag")):
        if headers and header in headers:
            response[key] = headers[header].decode("latin-1")
    out: JSON = {}
    if resource is not None:
        out["resource"] = resource
    elif content.strip():
        ctype = (headers or {}).get(b"content-type", b"").split(b";")[0].strip()
        if ctype.endswith(b"json"):
            out["resource"] = orjson.Fragment(content)  # already FHIR JSON: no re-parse
        else:
            text = content.decode("utf-8", errors="replace")[:500]
            out["resource"] = operation_outcome([Issue("error", "exception", text)])
    out["response"] = response
    return out


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
