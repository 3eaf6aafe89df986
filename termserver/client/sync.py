"""The synchronous client (httpx.Client)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx

from termserver.client import ops
from termserver.client._base import (
    BULK_PATH,
    DEFAULT_BATCH,
    NDJSON,
    RETRY_ERRORS,
    Answer,
    Batch,
    Item,
    Kind,
    LRUCache,
    RetryPolicy,
    TermserverError,
    batches,
    headers,
    retryable,
)
from termserver.client.results import (
    ExpandResult,
    LookupResult,
    SubsumesResult,
    TranslateResult,
    ValidateResult,
)

T = TypeVar("T")


class Client:
    """A FHIR terminology client for termserver. `base_url` is the FHIR base
    (http://host:8080/fhir). Use as a context manager, or call close().

    Single operations return typed results and raise TermserverError on a refusal; the
    `*_many` / `iter_*` methods stream any iterable through the bulk endpoints in batches of
    `batch_size` lines (each unique uncached coding sent once) and return results aligned
    with the input (None for an item without a code; a line the server refused has `.error`).
    Up to `concurrency` batches are in flight at once (sent from worker threads, so the
    next batch is on the wire while this one's results are handed out).
    """

    def __init__(self, base_url: str, *, token: str | None = None,
                 timeout: float | httpx.Timeout | None = 60.0, retry: RetryPolicy | None = None,
                 cache_size: int = 100_000, batch_size: int = DEFAULT_BATCH,
                 concurrency: int = 2, headers_: Mapping[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.cache: LRUCache[Any] = LRUCache(cache_size)
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self._sleep = sleep
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                  headers=headers(token, headers_), transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- single operations ---------------------------------------------------------------------

    def lookup(self, code: str, system: str, version: str | None = None, *,
               display_language: str | None = None,
               properties: Sequence[str] = ()) -> LookupResult:
        return self._cached(ops.lookup(code, system, version, display_language, properties),
                            ops.parse_lookup)

    def validate_code(self, code: str, system: str | None = None, *,
                      valueset: str | None = None, version: str | None = None,
                      display: str | None = None) -> ValidateResult:
        return self._cached(ops.validate_code(code, system, valueset, version, display),
                            ops.parse_validate)

    def translate(self, code: str, system: str, *, conceptmap: str | None = None,
                  targetsystem: str | None = None, version: str | None = None,
                  reverse: bool = False, **extra: Any) -> TranslateResult:
        return self._cached(ops.translate(code, system, conceptmap, targetsystem, version,
                                          reverse, extra), ops.parse_translate)

    def expand(self, url: str, *, filter: str | None = None, count: int | None = None,
               offset: int | None = None, **extra: Any) -> ExpandResult:
        path, q = ops.expand(url, filter, count, offset, extra)
        return ops.parse_expand(self._get(path, q))

    def subsumes(self, code_a: str, code_b: str, system: str,
                 version: str | None = None) -> SubsumesResult:
        return self._cached(ops.subsumes(code_a, code_b, system, version), ops.parse_subsumes)

    # -- bulk ----------------------------------------------------------------------------------

    def iter_translate(self, items: Iterable[Item], *, system: str | None = None,
                       conceptmap: str | None = None, targetsystem: str | None = None,
                       reverse: bool = False, **extra: Any) -> Iterator[TranslateResult | None]:
        """One result per item, in order, a batch at a time (bounded memory)."""
        return self._iter("translate", items, system, ops.bulk_params(
            conceptmap=conceptmap, targetsystem=targetsystem, reverse=reverse, extra=extra))

    def iter_validate(self, items: Iterable[Item], *, system: str | None = None,
                      valueset: str | None = None, **extra: Any
                      ) -> Iterator[ValidateResult | None]:
        return self._iter("validate", items, system,
                          ops.bulk_params(valueset=valueset, extra=extra))

    def iter_lookup(self, items: Iterable[Item], *, system: str | None = None,
                    **extra: Any) -> Iterator[LookupResult | None]:
        return self._iter("lookup", items, system, ops.bulk_params(extra=extra))

    def translate_many(self, items: Iterable[Item], **kw: Any) -> list[TranslateResult | None]:
        return list(self.iter_translate(items, **kw))

    def validate_many(self, items: Iterable[Item], **kw: Any) -> list[ValidateResult | None]:
        return list(self.iter_validate(items, **kw))

    def lookup_many(self, items: Iterable[Item], **kw: Any) -> list[LookupResult | None]:
        return list(self.iter_lookup(items, **kw))

    def translate_series(self, series: Any, *, field: str = "code", **kw: Any) -> Any:
        """A pandas Series aligned with `series` (same index): the best match's `field`
        (code, display, system, relationship); NA where unmapped or without a code."""
        from termserver.client import frames

        return frames.translated(series, self.translate_many(series, **kw), field)

    def validate_series(self, series: Any, **kw: Any) -> Any:
        """A boolean Series (nullable): whether each code is valid; NA without a code."""
        from termserver.client import frames

        return frames.validated(series, self.validate_many(series, **kw))

    def lookup_series(self, series: Any, *, field: str = "display", **kw: Any) -> Any:
        from termserver.client import frames

        return frames.looked_up(series, self.lookup_many(series, **kw), field)

    # -- transport -----------------------------------------------------------------------------

    def _iter(self, kind: Kind, items: Iterable[Item], system: str | None,
              params: dict[str, str]) -> Iterator[Any]:
        if system is not None:  # once in the query, not on every line
            params = {**params, "system": system}
        if self.concurrency == 1:
            for chunk in batches(items, self.batch_size):
                batch = Batch(kind, chunk, system, params, self.cache)
                answers = self._bulk(kind, batch, params) if batch.lines else []
                yield from batch.results(answers, self.cache)
            return
        pending: deque[tuple[Batch, Future[list[Any]]]] = deque()
        with ThreadPoolExecutor(self.concurrency, "termserver-client") as pool:
            try:
                for chunk in batches(items, self.batch_size):
                    batch = Batch(kind, chunk, system, params, self.cache)
                    pending.append((batch, pool.submit(self._bulk, kind, batch, params)))
                    while len(pending) >= self.concurrency:
                        done, future = pending.popleft()
                        yield from done.results(future.result(), self.cache)
                while pending:
                    done, future = pending.popleft()
                    yield from done.results(future.result(), self.cache)
            finally:
                for _, future in pending:
                    future.cancel()

    def _bulk(self, kind: Kind, batch: Batch, params: dict[str, str]) -> list[Any]:
        if not batch.lines:
            return []
        body = batch.body()

        def send() -> list[Any]:
            with self._http.stream("POST", BULK_PATH[kind], params=params, content=_once(body),
                                   headers={"Content-Type": NDJSON,
                                            "Accept": NDJSON}) as response:
                if response.status_code != 200:
                    response.read()
                    return [response]
                answer = Answer(kind, len(batch.lines))
                for data in response.iter_bytes():
                    answer.feed(data)
                return answer.results()

        return self._with_retries(send)

    def _cached(self, spec: ops.Spec, parse: Callable[[dict[str, Any]], T]) -> T:
        key = (spec[0], *sorted(spec[1].items()))
        found: T | None = self.cache.get(key)
        if found is None:
            found = parse(self._get(*spec))
            self.cache.put(key, found)
        return found

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        def send() -> list[Any]:
            response = self._http.get(path, params=params)
            return [response] if response.status_code != 200 else [response.json()]

        got: dict[str, Any] = self._with_retries(send)[0]
        return got

    def _with_retries(self, send: Callable[[], list[Any]]) -> list[Any]:
        """send() until it answers (a list) or the retries are spent; a list holding an
        httpx.Response is a refusal (retried when retryable, else raised)."""
        attempt = 0
        while True:
            try:
                out = send()
            except RETRY_ERRORS:
                if attempt >= self.retry.retries:
                    raise
                self._sleep(self.retry.wait(attempt, None))
                attempt += 1
                continue
            if out and isinstance(out[0], httpx.Response):
                response = out[0]
                if retryable(response) and attempt < self.retry.retries:
                    self._sleep(self.retry.wait(attempt, response))
                    attempt += 1
                    continue
                raise TermserverError.from_response(response)
            return out


def _once(body: bytes) -> Iterator[bytes]:
    """The body as a one-shot stream: once sent, the request no longer holds it (httpx keeps
    a request in reference cycles that only a full collection frees; holding the body, they
    kept every batch's body alive until then, and the client's peak grew with the stream)."""
    yield body
