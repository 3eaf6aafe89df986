"""Bulk operations over NDJSON: `POST /fhir/$translate-bulk`, `/fhir/$lookup-bulk` and
`/fhir/$validate-code-bulk` (custom operations, see the README).

The body is `application/x-ndjson`: one JSON object a line, holding a coding (`system`, `code`,
optional `version`, `display`) and any other parameter of the single operation under its own
name (`url`/`conceptmap`, `conceptMapVersion`, `targetsystem`, `reverse`, `valueSet`/`url`,
`displayLanguage`, `property`, …), plus an optional `id`. Parameters given once in the query
string apply to every line; a line's own value wins. The answer streams one NDJSON line per
input line, in order (blank lines are skipped): `line` (1-based) and the input's `id`, then
the result, or `error` {`code` (FHIR issue type), `message`} for a line that is not a JSON
object, lacks a code, names an unknown system … — a bad line never ends the stream.

A translate line may give its lab unit as `unit` (UCUM or a common spelling, see
termserver.service.units). Result lines: translate {`result`, `matches` [{`relationship`,
`equivalence`, `system`, `version`, `code`, `display`, `conceptmap`, `source` (reverse),
`dependsOn`, `product`, `unit` {`ucum`, `target`, `factor`, `warnings` [..]}}], `message`};
lookup {`name`, `version`, `display`, `definition`, `abstract`, `inactive`,
`designations` [..], `properties` [..]} (the single $lookup's output parameters, flattened);
validate {`result`, `code`, `system`, `version`, `display`, `message`, `inactive`, `status`,
`issues` [{`severity`, `code`, `text`, `expression`}]}.

Lines are read in chunks of CHUNK_LINES and each chunk is answered set-based
(termserver.service.bulk) on one of the process's TERMSERVER_BULK_THREADS bulk threads
(default BULK_THREADS; streams beyond that wait for a free one, so the threads, their read
connections and the chunks in memory at once are bounded, however many or long the
streams), with its own deadline
(TERMSERVER_REQUEST_TIMEOUT per chunk, not per stream), so memory stays bounded by a chunk
however long the stream. A line is at most MAX_LINE_BYTES; a stream at most
TERMSERVER_MAX_BULK_LINES lines (then one error line ends it). The response is written while
the body is still arriving: a client must read the answer while it sends (or send at most
some 50,000 lines per request) so that neither side's buffers fill up.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter
from starlette.types import Receive, Scope, Send

from termserver.api.bulk_memo import LineKey, Memo, head, memo_for, tail
from termserver.api.deps import read_store_of
from termserver.api.errors import error_response
from termserver.api.routes.codesystem import _lookup_request
from termserver.api.routes.validate import _request as validate_request
from termserver.api.tx import context_from
from termserver.errors import InvalidRequest, NotSupported, TerminologyError, TooCostly
from termserver.fhir import params as p
from termserver.fhir.translation import coding_json, translate_request, unit_properties
from termserver.fhir.validation import validation_to_parameters
from termserver.fhir.wire import lookup_to_parameters
from termserver.model import JSON, CodingInput, TranslateResult
from termserver.service import bulk, deadline
from termserver.service.context import FHIR_VERSION, TxContext
from termserver.store import Store
from termserver.store.engine import unmapped_reads

Kind = Literal["translate", "lookup", "validate"]

#: Lines answered together (one read per code system or map for all of them).
CHUNK_LINES = 4000
#: The longest line accepted (longer: an error line, the rest of it skipped).
MAX_LINE_BYTES = 64 * 1024
#: Lines one stream may hold, unless TERMSERVER_MAX_BULK_LINES says otherwise.
DEFAULT_MAX_LINES = 10_000_000
#: Threads that answer chunks, unless TERMSERVER_BULK_THREADS says otherwise. One: a chunk is
#: mostly Python work under the GIL (two were no faster on 2 cores), and each thread keeps its
#: own read connection and chunk in memory (bench/README.md, "Peak RSS"). Streams take turns
#: chunk by chunk.
BULK_THREADS = 1
#: Line keys that name another parameter of the single operation.
_ALIASES: dict[Kind, dict[str, str]] = {
    "translate": {"conceptmap": "url", "conceptMap": "url"},
    "lookup": {},
    "validate": {"valueSet": "url", "valueset": "url"},
}

router = APIRouter(tags=["Bulk"])


def max_lines() -> int:
    """TERMSERVER_MAX_BULK_LINES (default DEFAULT_MAX_LINES)."""
    value = os.environ.get("TERMSERVER_MAX_BULK_LINES", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_LINES


def bulk_threads() -> int:
    """TERMSERVER_BULK_THREADS (default BULK_THREADS)."""
    value = os.environ.get("TERMSERVER_BULK_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else BULK_THREADS


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_LOCK = threading.Lock()


def executor() -> ThreadPoolExecutor:
    """The process's bulk threads (made on first use; they live as long as the process, so
    each keeps its one SQLite read connection instead of opening new ones). Their SQLite
    reads do not map the file (termserver.store.engine.unmapped_reads)."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None:
            _EXECUTOR = ThreadPoolExecutor(bulk_threads(), thread_name_prefix="termserver-bulk",
                                           initializer=unmapped_reads)
        return _EXECUTOR


class _Bulk:
    """The raw ASGI endpoint of one bulk operation (it reads and writes at the same time,
    which a request/response handler cannot)."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        store = read_store_of(scope["app"].state)
        settings = scope["app"].state.settings
        timeout = getattr(settings, "request_timeout", None)
        fhir_version = FHIR_VERSION.get()
        try:
            defaults = p.pairs_from_query(parse_qsl(scope["query_string"].decode("latin-1"),
                                                    keep_blank_values=True))
        except TerminologyError as exc:
            await error_response(exc)(scope, receive, send)
            return
        started = False

        async def emit(data: bytes, more: bool = True) -> None:
            nonlocal started
            if not started:
                started = True
                await send({"type": "http.response.start", "status": 200, "headers": [
                    (b"content-type", b"application/x-ndjson"),
                    (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": data, "more_body": more})

        chunk: list[tuple[int, bytes | TerminologyError]] = []
        memo = memo_for(store, self.kind, defaults, fhir_version)
        async for block in _blocks(receive, max_lines()):
            chunk += block
            while len(chunk) >= CHUNK_LINES:
                await emit(await self._answer(store, chunk[:CHUNK_LINES], defaults,
                                              fhir_version, timeout, memo))
                del chunk[:CHUNK_LINES]
        if chunk:
            await emit(await self._answer(store, chunk, defaults, fhir_version, timeout, memo))
        await emit(b"", more=False)

    async def _answer(self, store: Store, chunk: list[tuple[int, bytes | TerminologyError]],
                      defaults: p.Pairs, fhir_version: str, timeout: float | None,
                      memo: Memo | None) -> bytes:
        fresh = contextvars.Context()  # its own deadline, not the stream's
        return await asyncio.get_running_loop().run_in_executor(
            executor(), fresh.run, answer_chunk, self.kind, store, chunk, defaults,
            fhir_version, timeout, memo)


async def _blocks(receive: Receive, limit: int
                  ) -> AsyncIterator[list[tuple[int, bytes | TerminologyError]]]:
    """(line number, line) of the body as it arrives, a list per piece received; a line too
    long, or past `limit`, comes as an error (the latter ends the stream)."""
    rest = b""
    number = 0
    skipping = False
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more = bool(message.get("more_body", False))
        data = rest + message.get("body", b"")
        lines = data.split(b"\n")
        rest = lines.pop() if more else b""
        too_long = len(rest) > MAX_LINE_BYTES  # an unfinished line already too long
        if too_long:
            if lines or not skipping:  # a new line: reported once, its rest skipped
                lines.append(rest)
            rest = b""
        block: list[tuple[int, bytes | TerminologyError]] = []
        for line in lines:
            if skipping:  # the end of a line already reported as too long
                skipping = False
                continue
            if not line or line.isspace():
                continue
            number += 1
            if number > limit:
                block.append((number, TooCostly(
                    f"the stream holds more than {limit:,} lines (TERMSERVER_MAX_BULK_LINES); "
                    "the rest is not read")))
                yield block
                return
            if len(line) > MAX_LINE_BYTES:
                block.append((number, InvalidRequest(
                    f"the line is longer than {MAX_LINE_BYTES:,} bytes")))
                continue
            block.append((number, line))
        if block:
            yield block
        skipping = skipping or too_long


def answer_chunk(kind: Kind, store: Store, chunk: Sequence[tuple[int, bytes | TerminologyError]],
                 defaults: p.Pairs, fhir_version: str, timeout: float | None,
                 memo: Memo | None = None) -> bytes:
    """The result lines of one chunk (run in a fresh context: FHIR version and deadline).
    Lines found in `memo` (termserver.api.bulk_memo) are answered from it; the others are
    answered set-based and their fragments added to it."""
    FHIR_VERSION.set(fhir_version)
    deadline.start(timeout)
    ctx = context_from(store, defaults)
    known = memo.fresh(lambda: bulk.terminology_stamp(ctx)) if memo is not None else None
    out: list[bytes] = [b""] * len(chunk)
    heads: list[bytes] = []
    todo: list[int] = []
    parsed: list[p.Pairs | TerminologyError] = []
    keys: list[LineKey | None] = []
    aliases = _ALIASES[kind]
    key_of = memo.key if memo is not None and known is not None else None
    for i, (number, line) in enumerate(chunk):
        ident, data = _load(line)
        first = head(number, ident)
        key = key_of(data) if key_of is not None and type(data) is dict else None
        if key is not None:
            hit = known.get(key)  # type: ignore[union-attr]  # key_of implies known
            if hit is not None:
                out[i] = first + hit
                continue
        heads.append(first)
        todo.append(i)
        keys.append(key)
        parsed.append(_pairs(data, aliases) if isinstance(data, dict) else data)
    results: Sequence[Any] = _results(kind, ctx, defaults, parsed) if todo else ()
    shape = _SHAPES[kind]
    shaped: dict[int, bytes] = {}  # a result shared by several lines is written once
    for i, first, key, result in zip(todo, heads, keys, results, strict=True):
        if isinstance(result, TerminologyError):
            out[i] = first + b',"error":' + orjson.dumps(error_json(result)) + b"}"
            continue
        rest = shaped.get(id(result))
        if rest is None:
            rest = shaped[id(result)] = tail(orjson.dumps(shape(result)))
        if key is not None and known is not None and memo is not None:
            memo.keep(known, key, rest)
        out[i] = first + rest
    out.append(b"")
    return b"\n".join(out)


def _results(kind: Kind, ctx: TxContext, defaults: p.Pairs,
             parsed: Sequence[p.Pairs | TerminologyError]) -> Sequence[Any]:
    """The answers (or errors) of the parsed lines, set-based (termserver.service.bulk)."""
    if kind == "translate":
        return bulk.translate_chunk(ctx, _each(parsed, _templated(
            translate_request, defaults, _with_code)))
    if kind == "lookup":
        return bulk.lookup_chunk(ctx, _each(parsed, _templated(
            lambda q: _lookup_request(q, None), defaults,
            lambda t, code, _: replace(t, code=code))))
    return bulk.validate_chunk(ctx, _each(parsed, _templated(
        lambda q: validate_request(ctx, q, None, any(k == "url" for k, _ in q)),
        defaults, _with_code_display)))


#: The code a template is parsed with (any code: only the coding's code depends on it).
_PLACEHOLDER = "code"


def _templated(build: Callable[[p.Pairs], Any], defaults: p.Pairs,
               fill: Callable[[Any, str, str | None], Any]) -> Callable[[p.Pairs], Any]:
    """`build` over the query's parameters and a line's own, parsing each set once per chunk:
    lines that differ only in code and display share one parsed request, filled in with
    `fill(template, code, display)`. The code and display reach the request only as the
    coding's, so the result is `build` of the merged parameters; a set that `build` refuses
    is refused line by line, with its own message."""
    cache: dict[tuple[tuple[str, Any], ...], Any] = {}
    default_display = next((v for k, v in defaults if k == "display"), None)

    def one(own: p.Pairs) -> Any:
        code, display = None, default_display
        rest = []
        for k, v in own:
            if k == "code":
                code = v
            elif k == "display":
                display = v
            else:
                rest.append((k, v))
        key = tuple(rest)
        template = cache.get(key)
        if template is None:
            try:
                template = build(_merged(defaults, [*rest, ("code", _PLACEHOLDER)], "display"))
            except TerminologyError:
                return build(_merged(defaults, own))
            cache[key] = template
        return fill(template, str(code), display)

    return one


def _merged(defaults: p.Pairs, own: p.Pairs, *without: str) -> p.Pairs:
    """The query's parameters that the line does not give, then the line's own."""
    given = {k for k, _ in own} | set(without)
    return [(k, v) for k, v in defaults if k not in given] + own


def _with_code(t: Any, code: str, _: str | None) -> Any:
    c = t.codings[0]
    return replace(t, codings=(CodingInput(c.system, code, c.version, c.display),))


def _with_code_display(t: Any, code: str, display: str | None) -> Any:
    c = t.codings[0]
    return replace(t, codings=(CodingInput(c.system, code, c.version, display or None),))


def _each(parsed: Sequence[p.Pairs | TerminologyError],
          build: Callable[[p.Pairs], Any]) -> list[Any]:
    out: list[Any] = []
    for pairs in parsed:
        if isinstance(pairs, TerminologyError):
            out.append(pairs)
            continue
        try:
            out.append(build(pairs))
        except TerminologyError as exc:
            out.append(exc.detached())
    return out


def _load(line: bytes | TerminologyError) -> tuple[Any, JSON | TerminologyError]:
    """(id, the line's JSON object without it) of one input line."""
    if isinstance(line, TerminologyError):
        return None, line
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return None, InvalidRequest(f"the line is not JSON: {exc}")
    if not isinstance(data, dict):
        return None, InvalidRequest("the line is not a JSON object")
    ident = data.pop("id", None)
    if ident is not None and not isinstance(ident, str | int | float):
        return None, InvalidRequest("'id' must be a string or a number")
    return ident, data


def _pairs(data: JSON, aliases: dict[str, str]) -> p.Pairs | TerminologyError:
    """The line's own parameters."""
    own: p.Pairs = []
    try:
        for key, value in data.items():
            name = aliases.get(str(key)) or str(key)
            for v in value if isinstance(value, list) else [value]:
                own.append((name, _text(name, v)))
        if not any(k == "code" for k, _ in own):
            raise InvalidRequest("the line has no code", expression=("code",))
        return p.checked(own)  # the query's own parameters were checked once, up front
    except TerminologyError as exc:
        return exc.detached()


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise NotSupported(f"'{name}' must be a string, number or boolean in a bulk line",
                       expression=(name,))


def error_json(exc: TerminologyError) -> JSON:
    """The `error` of a result line: the first issue's type and text (and message id)."""
    issue = exc.issues()[0]
    out: JSON = {"code": issue.code, "message": issue.text}
    if issue.message_id:
        out["messageId"] = issue.message_id
    if issue.expression:
        out["expression"] = list(issue.expression)
    return out


def translate_line(result: TranslateResult) -> JSON:
    out: JSON = {"result": result.result}
    matches = []
    for m in result.matches:
        match: JSON = {"relationship": m.relationship, "equivalence": m.equivalence}
        if m.concept is not None:
            match.update(coding_json(m.concept))
        if m.origin_map:
            match["conceptmap"] = m.origin_map
        if m.source is not None:
            match["source"] = coding_json(m.source)
        if m.depends_on:
            match["dependsOn"] = list(m.depends_on)
        if m.product:
            match["product"] = list(m.product)
        for prop in unit_properties(m):  # a line's `unit` (termserver.service.units)
            name = prop["part"][0]["valueUri"].removeprefix("unit-")
            value = next(v for k, v in prop["part"][1].items() if k.startswith("value"))
            value = value["code"] if isinstance(value, dict) else value
            unit = match.setdefault("unit", {})
            if name == "warning":
                unit.setdefault("warnings", []).append(value)
            else:
                unit[name] = value
        matches.append(match)
    out["matches"] = matches
    if result.message:
        out["message"] = result.message
    return out


#: Output parameters that repeat: listed under a plural name.
_PLURAL = {"designation": "designations", "property": "properties", "match": "matches"}


def _flat(parameters: JSON) -> JSON:
    """A Parameters resource as one flat object (parts as objects, repeats as lists, an
    OperationOutcome `issues` as a list of {severity, code, text, expression})."""
    out: JSON = {}
    for prm in parameters.get("parameter") or []:
        name = prm["name"]
        value: Any
        if "part" in prm:
            value = _flat({"parameter": prm["part"]})
        elif "resource" in prm:
            value = [_issue(i) for i in prm["resource"].get("issue") or []]
        else:
            value = next((v for k, v in prm.items() if k.startswith("value")), None)
        if name in _PLURAL:
            out.setdefault(_PLURAL[name], []).append(value)
        else:
            out[name] = value
    return out


def _issue(issue: JSON) -> JSON:
    out: JSON = {"severity": issue.get("severity"), "code": issue.get("code"),
                 "text": (issue.get("details") or {}).get("text")}
    if issue.get("expression"):
        out["expression"] = issue["expression"]
    return out


#: Result → the result line's fields, per operation.
_SHAPES: dict[Kind, Callable[[Any], JSON]] = {
    "translate": translate_line,
    "lookup": lambda r: _flat(lookup_to_parameters(r)),
    "validate": lambda r: _flat(validation_to_parameters(r)),
}

for _kind, _path in (("translate", "/$translate-bulk"), ("lookup", "/$lookup-bulk"),
                     ("validate", "/$validate-code-bulk")):
    router.add_route(_path, _Bulk(_kind), methods=["POST"])  # type: ignore[arg-type]
