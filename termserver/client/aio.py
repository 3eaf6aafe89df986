"""The asynchronous client (httpx.AsyncClient): the same methods as Client, awaited; the
bulk iterators keep up to `concurrency` batches in flight, results still in input order."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
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


class AsyncClient:
    """See termserver.client.Client; `concurrency` bulk batches may be in flight at once."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 timeout: float | httpx.Timeout | None = 60.0, retry: RetryPolicy | None = None,
                 cache_size: int = 100_000, batch_size: int = DEFAULT_BATCH,
                 concurrency: int = 1, headers_: Mapping[str, str] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.retry = retry or RetryPolicy()
        self.cache: LRUCache[Any] = LRUCache(cache_size)
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout,
                                       headers=headers(token, headers_), transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- single operations ---------------------------------------------------------------------

    async def lookup(self, code: str, system: str, version: str | None = None, *,
                     display_language: str | None = None,
                     properties: Sequence[str] = ()) -> LookupResult:
        return await self._cached(
            ops.lookup(code, system, version, display_language, properties), ops.parse_lookup)

    async def validate_code(self, code: str, system: str | None = None, *,
                            valueset: str | None = None, version: str | None = None,
                            display: str | None = None) -> ValidateResult:
        return await self._cached(ops.validate_code(code, system, valueset, version, display),
                                  ops.parse_validate)

    async def translate(self, code: str, system: str, *, conceptmap: str | None = None,
                        targetsystem: str | None = None, version: str | None = None,
                        reverse: bool = False, **extra: Any) -> TranslateResult:
        return await self._cached(ops.translate(code, system, conceptmap, targetsystem,
                                                version, reverse, extra), ops.parse_translate)

    async def expand(self, url: str, *, filter: str | None = None, count: int | None = None,
                     offset: int | None = None, **extra: Any) -> ExpandResult:
        path, q = ops.expand(url, filter, count, offset, extra)
        return ops.parse_expand(await self._get(path, q))

    async def subsumes(self, code_a: str, code_b: str, system: str,
                       version: str | None = None) -> SubsumesResult:
        return await self._cached(ops.subsumes(code_a, code_b, system, version),
                                  ops.parse_subsumes)

    # -- bulk ----------------------------------------------------------------------------------

    def iter_translate(self, items: Iterable[Item], *, system: str | None = None,
                       conceptmap: str | None = None, targetsystem: str | None = None,
                       reverse: bool = False, **extra: Any
                       ) -> AsyncIterator[TranslateResult | None]:
        return self._iter("translate", items, system, ops.bulk_params(
            conceptmap=conceptmap, targetsystem=targetsystem, reverse=reverse, extra=extra))

    def iter_validate(self, items: Iterable[Item], *, system: str | None = None,
                      valueset: str | None = None, **extra: Any
                      ) -> AsyncIterator[ValidateResult | None]:
        return self._iter("validate", items, system,
                          ops.bulk_params(valueset=valueset, extra=extra))

    def iter_lookup(self, items: Iterable[Item], *, system: str | None = None,
                    **extra: Any) -> AsyncIterator[LookupResult | None]:
        return self._iter("lookup", items, system, ops.bulk_params(extra=extra))

    async def translate_many(self, items: Iterable[Item], **kw: Any
                             ) -> list[TranslateResult | None]:
        return [r async for r in self.iter_translate(items, **kw)]

    async def validate_many(self, items: Iterable[Item], **kw: Any
                            ) -> list[ValidateResult | None]:
        return [r async for r in self.iter_validate(items, **kw)]

    async def lookup_many(self, items: Iterable[Item], **kw: Any) -> list[LookupResult | None]:
        return [r async for r in self.iter_lookup(items, **kw)]

    async def translate_series(self, series: Any, *, field: str = "code", **kw: Any) -> Any:
        from termserver.client import frames

        return frames.translated(series, await self.translate_many(series, **kw), field)

    async def validate_series(self, series: Any, **kw: Any) -> Any:
        from termserver.client import frames

        return frames.validated(series, await self.validate_many(series, **kw))

    async def lookup_series(self, series: Any, *, field: str = "display", **kw: Any) -> Any:
        from termserver.client import frames

        return frames.looked_up(series, await self.lookup_many(series, **kw), field)

    # -- transport -----------------------------------------------------------------------------

    async def _iter(self, kind: Kind, items: Iterable[Item], system: str | None,
                    params: dict[str, str]) -> AsyncIterator[Any]:
        if system is not None:  # once in the query, not on every line
            params = {**params, "system": system}
        pending: deque[tuple[Batch, asyncio.Task[list[Any]]]] = deque()
        try:
            for chunk in batches(items, self.batch_size):
                batch = Batch(kind, chunk, system, params, self.cache)
                pending.append((batch, asyncio.ensure_future(self._bulk(kind, batch, params))))
                while len(pending) >= self.concurrency:
                    done, task = pending.popleft()
                    for r in done.results(await task, self.cache):
                        yield r
            while pending:
                done, task = pending.popleft()
                for r in done.results(await task, self.cache):
                    yield r
        finally:
            for _, task in pending:
                task.cancel()

    async def _bulk(self, kind: Kind, batch: Batch, params: dict[str, str]) -> list[Any]:
        if not batch.lines:
            return []
        body = batch.body()

        async def send() -> list[Any]:
            async with self._http.stream("POST", BULK_PATH[kind], params=params,
                                         content=_once(body),
                                         headers={"Content-Type": NDJSON,
                                                  "Accept": NDJSON}) as response:
                if response.status_code != 200:
                    await response.aread()
                    return [response]
                answer = Answer(kind, len(batch.lines))
                async for data in response.aiter_bytes():
                    answer.feed(data)
                return answer.results()

        return await self._with_retries(send)

    async def _cached(self, spec: ops.Spec, parse: Callable[[dict[str, Any]], T]) -> T:
        key = (spec[0], *sorted(spec[1].items()))
        found: T | None = self.cache.get(key)
        if found is None:
            found = parse(await self._get(*spec))
            self.cache.put(key, found)
        return found

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        async def send() -> list[Any]:
            response = await self._http.get(path, params=params)
            return [response] if response.status_code != 200 else [response.json()]

        got: dict[str, Any] = (await self._with_retries(send))[0]
        return got

    async def _with_retries(self, send: Callable[[], Awaitable[list[Any]]]) -> list[Any]:
        attempt = 0
        while True:
            try:
                out = await send()
            except RETRY_ERRORS:
                if attempt >= self.retry.retries:
                    raise
                await self._sleep(self.retry.wait(attempt, None))
                attempt += 1
                continue
            if out and isinstance(out[0], httpx.Response):
                response = out[0]
                if retryable(response) and attempt < self.retry.retries:
                    await self._sleep(self.retry.wait(attempt, response))
                    attempt += 1
                    continue
                raise TermserverError.from_response(response)
            return out


async def _once(body: bytes) -> AsyncIterator[bytes]:
    """The body as a one-shot stream (termserver.client.sync._once: a sent request no longer
    holds it)."""
    yield body
