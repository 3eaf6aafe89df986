"""What the sync and the async client share: settings, retry policy, the LRU cache, the
NDJSON lines of a bulk request and the parsing of their answers. httpx and the standard
library (orjson, when installed, for speed)."""

from __future__ import annotations

import email.utils
import json
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any, Generic, Literal, TypeVar

import httpx

from termserver.client.results import LookupResult, TranslateResult, ValidateResult

try:
    import orjson

    loads: Callable[[bytes], Any] = orjson.loads
    _orjson_dumps: Callable[[Any], bytes] | None = orjson.dumps
except ImportError:  # pragma: no cover - the client needs httpx only
    loads = json.loads
    _orjson_dumps = None


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8 (orjson when installed)."""
    if _orjson_dumps is not None:
        return _orjson_dumps(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


Kind = Literal["translate", "validate", "lookup"]
R = TypeVar("R")
Item = Any  # a code (str), a (system, code) tuple, or a mapping (see `line_of`)

#: Statuses worth another try (rate limit, overload, gateway trouble).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Bulk endpoints per kind, and how a result line is parsed.
BULK_PATH: dict[Kind, str] = {"translate": "$translate-bulk", "validate": "$validate-code-bulk",
                              "lookup": "$lookup-bulk"}
PARSE: dict[Kind, Callable[[dict[str, Any]], Any]] = {
    "translate": TranslateResult.from_json, "validate": ValidateResult.from_json,
    "lookup": LookupResult.from_json}
DEFAULT_BATCH = 10_000
NDJSON = "application/x-ndjson"


class TermserverError(Exception):
    """The server refused a request (after the retries): HTTP status and the
    OperationOutcome's issues [{severity, code, text}] when it sent one."""

    def __init__(self, status: int, message: str,
                 issues: tuple[dict[str, Any], ...] = ()) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.issues = issues

    @classmethod
    def from_response(cls, response: httpx.Response) -> TermserverError:
        try:
            body = response.json()
        except ValueError:
            return cls(response.status_code, response.text[:300] or response.reason_phrase)
        issues: tuple[dict[str, Any], ...] = ()
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
            issues = tuple({"severity": i.get("severity"), "code": i.get("code"),
                            "text": (i.get("details") or {}).get("text") or i.get("diagnostics")}
                           for i in body.get("issue") or [])
        text = "; ".join(str(i["text"]) for i in issues if i.get("text")) or response.text[:300]
        return cls(response.status_code, text, issues)


@dataclass(frozen=True)
class RetryPolicy:
    """Up to `retries` more tries on a RETRY_STATUSES answer or a connection error, waiting
    backoff * 2**n (± jitter, at most max_wait) or what Retry-After says (at most max_wait)."""

    retries: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    jitter: float = 0.1

    def wait(self, attempt: int, response: httpx.Response | None) -> float:
        after = retry_after(response) if response is not None else None
        if after is not None:
            return min(after, self.max_wait)
        base = self.backoff * (2 ** attempt)
        return float(min(base * (1 + random.uniform(-self.jitter, self.jitter)), self.max_wait))


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP-date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


#: Errors worth another try: the connection failed, timed out or broke off mid-answer.
RETRY_ERRORS = (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)


def retryable(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


class LRUCache(Generic[R]):
    """A bounded least-recently-used map (maxsize 0: caches nothing)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Any, R] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> R | None:
        found = self._data.get(key)
        if found is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: Any, value: R) -> None:
        if self.maxsize <= 0:
            return
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def headers(token: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    out = {"Accept": "application/fhir+json", "User-Agent": "termserver-client"}
    if token:
        out["Authorization"] = f"Bearer {token}"
    out.update(extra or {})
    return out


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT or an empty string."""
    if value is None or value == "":
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return type(value).__name__ in ("NAType", "NaTType")


def line_of(item: Item, system: str | None) -> dict[str, Any] | None:
    """The bulk line of one input item, or None when it has no code. An item is a code (its
    system from `system`), a (system, code) tuple or a mapping with `code` and any other
    per-line parameter (`system`, `version`, `display`, `url`, `targetsystem` …)."""
    if isinstance(item, Mapping):
        line = {k: v for k, v in item.items() if not is_missing(v)}
        if system is not None and "system" not in line:
            line["system"] = system
    elif isinstance(item, tuple):
        line = {"system": item[0], "code": item[1]}
    else:
        line = {"code": item}
        if system is not None:
            line["system"] = system
    if is_missing(line.get("code")):
        return None
    line["code"] = str(line["code"])
    return line


def cache_key(item: Item, system: str | None, line: Mapping[str, Any]) -> Any:
    """What identifies an item's answer within one call (the call's parameters are the
    same for all its items): (system, code) for a plain code or pair, else the line."""
    if isinstance(item, Mapping):
        return tuple(sorted((k, str(v)) for k, v in line.items() if k != "id"))
    return (line.get("system"), line["code"])


def query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters without the unset ones; booleans as true/false."""
    out = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return out


def body_of(lines: Iterable[tuple[int, str | dict[str, Any]]]) -> bytes:
    """The NDJSON body: each line with its `id` (index in the batch's unique lines); a line
    that is a str is a bare code (its system from the query)."""
    out = []
    for i, line in lines:
        if type(line) is str:
            out.append(b'{"id":%d,"code":%b}' % (i, dumps(line)))
        else:
            out.append(b'{"id":%d,%b' % (i, dumps(line)[1:]))
    out.append(b"")
    return b"\n".join(out)


#: Parsed result lines by their bytes after the id (answers repeat: the same code, the same
#: result); at most PARSED_MAX of them and PARSED_BYTES of keys, emptied when full. Only
#: answers that succeeded are kept: an error line, or a `result: false` (unmapped, invalid),
#: names the code in its message, so such lines are as many as the distinct failing codes;
#: kept, they filled the cache the longer a stream ran (bench/README.md, "Peak RSS": the
#: client's peak grew from 100,000 to 1,000,000 codings). They are the few, parsed each time.
_PARSED: dict[tuple[Kind, bytes], Any] = {}
PARSED_MAX = 20_000
PARSED_BYTES = 16 * 1024 * 1024
_parsed_bytes = 0
#: How the rest of a failed answer's line begins (not kept in the cache).
FAILED = (b'"error":', b'"result":false')


def parse_line(kind: Kind, raw: bytes) -> tuple[Any, Any]:
    """(id, result) of one result line. The server writes `{"line":N,"id":I,…`: the rest
    after the id is parsed once and reused for every line that repeats it."""
    global _parsed_bytes
    if raw.startswith(b'{"line":'):
        at = raw.find(b',"id":', 8)
        end = raw.find(b",", at + 6) if at > 0 else -1
        digits = raw[at + 6:end]
        if end > 0 and digits.isdigit():
            key = (kind, raw[end + 1:])
            found = _PARSED.get(key)
            if found is None:
                found = PARSE[kind](loads(b"{" + key[1]))
                if key[1].startswith(FAILED):
                    return int(digits), found
                if len(_PARSED) >= PARSED_MAX or _parsed_bytes >= PARSED_BYTES:
                    _PARSED.clear()
                    _parsed_bytes = 0
                _PARSED[key] = found
                _parsed_bytes += len(key[1])
            return int(digits), found
    data = loads(raw)
    ident = data.get("id") if isinstance(data, dict) else None
    if not isinstance(ident, int):
        # a line the server could not tie to an input (e.g. the stream cap)
        error = data.get("error") if isinstance(data, dict) else None
        raise TermserverError(200, (error or {}).get("message")
                              or f"unexpected result line {raw[:200]!r}")
    return ident, PARSE[kind](data)


class Answer:
    """Results of a bulk answer by line id 0..expected-1, fed with the body's bytes as they
    arrive (`feed`), checked complete by `results`."""

    def __init__(self, kind: Kind, expected: int) -> None:
        self.kind = kind
        self.out: list[Any] = [None] * expected
        self.got = 0
        self._rest = b""

    def feed(self, data: bytes) -> None:
        lines = (self._rest + data).split(b"\n")
        self._rest = lines.pop()
        self._take(lines)

    def _take(self, lines: Iterable[bytes]) -> None:
        out, kind, expected = self.out, self.kind, len(self.out)
        for raw in lines:
            if not raw or raw.isspace():
                continue
            ident, result = parse_line(kind, raw)
            if not 0 <= ident < expected:
                raise TermserverError(200, f"unexpected result line {raw[:200]!r}")
            out[ident] = result
            self.got += 1

    def results(self) -> list[Any]:
        self._take([self._rest])
        self._rest = b""
        if self.got != len(self.out):
            raise httpx.RemoteProtocolError(
                f"the bulk answer ended after {self.got} of {len(self.out)} lines")
        return self.out


def parse_answer(kind: Kind, text_lines: Iterable[str | bytes], expected: int) -> list[Any]:
    """Results of a bulk answer by line id 0..expected-1 (raises when lines are missing)."""
    answer = Answer(kind, expected)
    answer._take(x.encode() if isinstance(x, str) else x for x in text_lines)
    return answer.results()


class Batch:
    """One batch of `*_many` input: the unique uncached lines to send, and how to put the
    answers back in input order."""

    def __init__(self, kind: Kind, items: list[Item], system: str | None,
                 params: Mapping[str, str], cache: LRUCache[Any]) -> None:
        self.kind = kind
        self.slots: list[Any] = []  # per item: a result, or an int (unique line), or None
        #: per unique line: a bare code (its system is the query's) or the line's object
        self.lines: list[str | dict[str, Any]] = []
        #: per unique line: the code (a bare code) or `cache_key` (see `cache_key_of`)
        self.keys: list[Any] = []
        self.system = system
        self.scope = (kind, *sorted(params.items()))  # the cache is shared by all calls
        pending: dict[Any, int] = {}
        caching = cache.maxsize > 0
        slots, lines, keys = self.slots, self.lines, self.keys
        for item in items:
            line: str | dict[str, Any] | None
            if type(item) is str:  # the common case, without building a line first
                if not item:
                    slots.append(None)
                    continue
                line = key = item
            else:
                line = line_of(item, None)  # no system: the query's (`params`)
                if line is None:
                    slots.append(None)
                    continue
                key = cache_key(item, system, line)
            if caching:
                hit = cache.get(self.cache_key_of(key))
                if hit is not None:
                    slots.append(hit)
                    continue
            index = pending.get(key)
            if index is None:
                index = pending[key] = len(lines)
                lines.append(line)
                keys.append(key)
            slots.append(index)

    def cache_key_of(self, key: Any) -> Any:
        """The client cache's key of a line key (a bare code: with the call's system)."""
        return (self.scope, (self.system, key) if type(key) is str else key)

    def body(self) -> bytes:
        return body_of(enumerate(self.lines))

    def results(self, answers: list[Any], cache: LRUCache[Any]) -> list[Any]:
        if cache.maxsize > 0:
            for key, answer in zip(self.keys, answers, strict=True):
                if getattr(answer, "error", None) is None:  # errors may be transient
                    cache.put(self.cache_key_of(key), answer)
        return [answers[s] if type(s) is int else s for s in self.slots]


def batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """The items in lists of at most `size` (a pandas Series: its values)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
