"""Validator caches: tx-resources registered once under a cache id, reused by later requests.

The protocol is the reference server's `$cache-control`: `mode=start` issues a cache id (a
UUID), requests name it (`cache-id` parameter or `X-Cache-Id` header) and may then leave out
the CodeSystems and ValueSets the cache already holds; `mode=check` reports on it and keeps it
alive, `mode=end` releases it. An unsealed cache keeps every tx-resource (and primary
`valueSet`/`codeSystem` with a url) it sees; a sealed one only what `start` was given.

A cache lives in the memory of the server process that issued it. With several processes on
one database, a request that reaches another process (or arrives after a restart, an idle
expiry or an eviction) names a cache id this process does not hold: it is answered 404 with
the tx-issue-type `cache-id-unknown`, as the reference server answers, and the client starts a
new cache and sends its resources again. A miss never gives a wrong terminology answer.

Bounded: at most MAX_CACHES caches, MAX_CACHE_BYTES per cache and MAX_TOTAL_BYTES in all
(sizes are the resources' JSON sizes); the least recently used cache goes first, and a cache
idle for IDLE_TIMEOUT seconds is dropped.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from termserver import metrics
from termserver.errors import NotFound, TooCostly
from termserver.model import ValueSetDefinition
from termserver.service.provider import MemoryCodeSystem

MAX_CACHES = 200
MAX_CACHE_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
IDLE_TIMEOUT = 30 * 60.0
#: Dead cache ids remembered with the reason (closed, expired, evicted), for the miss message.
MAX_TOMBSTONES = 1000
#: A cache id, as the client sends it back: a FHIR id (at most 64 characters).
MAX_ID_LENGTH = 64

Parsed = MemoryCodeSystem | ValueSetDefinition
Key = tuple[str, str, str | None]  # (resource type, url, version)


@dataclass(frozen=True, slots=True)
class CachedResource:
    key: Key
    parsed: Parsed
    size: int  # bytes of its JSON


@dataclass
class _Entry:
    sealed: bool
    created: float
    last_used: float
    resources: dict[Key, CachedResource] = field(default_factory=dict)
    size: int = 0


@dataclass(frozen=True, slots=True)
class CacheStatus:
    cache_id: str
    sealed: bool
    resource_count: int
    idle_seconds: int
    timeout_seconds: int


class TxResourceCache:
    """The caches of one server process (thread-safe)."""

    def __init__(self, *, max_caches: int = MAX_CACHES, max_cache_bytes: int = MAX_CACHE_BYTES,
                 max_total_bytes: int = MAX_TOTAL_BYTES, idle_timeout: float = IDLE_TIMEOUT
                 ) -> None:
        self.max_caches = max_caches
        self.max_cache_bytes = max_cache_bytes
        self.max_total_bytes = max_total_bytes
        self.idle_timeout = idle_timeout
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._tombstones: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._total = 0

    def start(self, resources: list[CachedResource], sealed: bool) -> str:
        """A new cache holding `resources`; its id."""
        cache_id = str(uuid.uuid4())
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = _Entry(sealed, now, now)
            self._entries[cache_id] = entry
            self._add(cache_id, entry, resources)
            self._evict(keep=cache_id)
        return cache_id

    def use(self, cache_id: str, resources: list[CachedResource]) -> list[Parsed]:
        """What the cache holds after taking in this request's `resources` (unless sealed),
        marking it used. Raises NotFound (`cache-id-unknown`) for an id not held here."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(cache_id)
            if entry is not None:
                entry.last_used = now
                self._entries.move_to_end(cache_id)
                if not entry.sealed and resources:
                    self._add(cache_id, entry, resources)
                    self._evict(keep=cache_id)
                metrics.cache_lookup("tx_resource_cache", True)
                return [r.parsed for r in entry.resources.values()]
        metrics.cache_lookup("tx_resource_cache", False)
        raise self.missing(cache_id)

    def status(self, cache_id: str) -> CacheStatus | None:
        """The cache's state (None when not held here); a check keeps the cache alive."""
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self._entries.get(cache_id)
            if entry is None:
                return None
            idle = now - entry.last_used
            entry.last_used = now
            self._entries.move_to_end(cache_id)
            return CacheStatus(cache_id, entry.sealed, len(entry.resources), int(idle),
                               int(self.idle_timeout))

    def end(self, cache_id: str) -> None:
        """Release the cache now (an id not held here is ignored)."""
        with self._lock:
            entry = self._entries.pop(cache_id, None)
            if entry is not None:
                self._total -= entry.size
                self._tombstone(cache_id, "closed by the client")

    def missing(self, cache_id: str) -> NotFound:
        """The error for a cache id this process does not hold, saying why where it knows."""
        with self._lock:
            dead = self._tombstones.get(cache_id)
        if dead is None:
            text = (f"The cache-id '{cache_id}' is not known on this server process (never "
                    "issued here, or issued before a restart or by another process): start a "
                    "new cache with $cache-control and send the resources again")
            message_id = "CACHE_ID_UNKNOWN"
        else:
            reason, at = dead
            ago = int(time.monotonic() - at)
            text = (f"The cache-id '{cache_id}' is no longer available ({reason} {ago}s ago): "
                    "start a new cache with $cache-control and send the resources again")
            message_id = {"closed by the client": "CACHE_ID_CLOSED",
                          "expired": "CACHE_ID_EXPIRED"}.get(reason, "CACHE_ID_CLEARED")
        return NotFound(text, message_id=message_id, tx_code="cache-id-unknown",
                        issue_code="not-found")

    def clear(self) -> None:
        with self._lock:
            for cache_id in list(self._entries):
                self._tombstone(cache_id, "cleared")
            self._entries.clear()
            self._total = 0

    # -- under the lock ---------------------------------------------------------------------

    def _add(self, cache_id: str, entry: _Entry, resources: list[CachedResource]) -> None:
        latest = {r.key: r for r in resources}
        grown = entry.size + sum(r.size - (entry.resources[k].size if k in entry.resources else 0)
                                 for k, r in latest.items())
        if grown > self.max_cache_bytes:
            raise TooCostly(f"The resources of cache '{cache_id}' would exceed "
                            f"{self.max_cache_bytes // (1024 * 1024)} MB: start a new cache",
                            tx_code="cache-id-full")
        for r in latest.values():
            old = entry.resources.pop(r.key, None)
            delta = r.size - (old.size if old else 0)
            entry.resources[r.key] = r
            entry.size += delta
            self._total += delta

    def _expire(self, now: float) -> None:
        while self._entries:
            cache_id, entry = next(iter(self._entries.items()))
            if now - entry.last_used <= self.idle_timeout:
                break
            self._drop(cache_id, "expired")

    def _evict(self, keep: str) -> None:
        while (len(self._entries) > self.max_caches or self._total > self.max_total_bytes):
            oldest = next(iter(self._entries))
            if oldest == keep:
                break
            self._drop(oldest, "evicted (the server's cache limit was reached)")

    def _drop(self, cache_id: str, reason: str) -> None:
        entry = self._entries.pop(cache_id)
        self._total -= entry.size
        self._tombstone(cache_id, reason)

    def _tombstone(self, cache_id: str, reason: str) -> None:
        self._tombstones.pop(cache_id, None)
        self._tombstones[cache_id] = (reason, time.monotonic())
        while len(self._tombstones) > MAX_TOMBSTONES:
            self._tombstones.popitem(last=False)


#: This process's caches.
CACHES = TxResourceCache()
