"""Prometheus metrics of the server (prometheus-client). No web imports, so the service and
store layers may count their cache lookups here (`cache_lookup`).

Several worker processes: set PROMETHEUS_MULTIPROC_DIR to an empty folder writable by all of
them *before* they start (`termserver serve --workers N` makes a temporary one when it is
unset); each process then writes its counters there and /metrics, answered by any of them,
sums them (prometheus_client's multiprocess mode). The gauges read at scrape time (database
pool) describe the process that answered.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "LATENCY", "REQUESTS", "cache_lookup", "multiprocess",
           "observe_request", "render"]

disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series: they double the output and nobody graphs them

REQUESTS = Counter("termserver_requests", "HTTP requests answered, by operation (a FHIR "
                   "operation such as $lookup, or read/search/create/update/delete, workbench, "
                   "ops), resource type and status code", ["operation", "resource", "status"])
LATENCY = Histogram("termserver_request_duration_seconds", "Time from request to the end of "
                    "the response, by operation and resource type", ["operation", "resource"],
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                             10.0, 30.0, 60.0))
CACHE = Counter("termserver_cache_lookups", "Lookups in the server's caches, by cache and "
                "result (hit, miss)", ["cache", "result"])


def observe_request(operation: str, resource: str, status: int, seconds: float) -> None:
    REQUESTS.labels(operation, resource, str(status)).inc()
    LATENCY.labels(operation, resource).observe(seconds)


def cache_lookup(cache: str, hit: bool) -> None:
    """Count one lookup in the cache named `cache` (a fixed name, never request data)."""
    CACHE.labels(cache, "hit" if hit else "miss").inc()


def multiprocess() -> bool:
    """True when values are shared between worker processes through files."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _Probes(Collector):
    """Gauges read when scraped (database pool, jobs, readiness), from `probe`."""

    def __init__(self, probe: Callable[[], Iterable[Metric]]) -> None:
        self.probe = probe

    def collect(self) -> Iterable[Metric]:
        return self.probe()


class _Process(Collector):
    """This process's default registry (request counters, process and GC metrics)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def render(probe: Callable[[], Iterable[Metric]]) -> bytes:
    """The text exposition of every metric: this process's (or, in multiprocess mode, all
    workers' summed) counters plus the gauges `probe` yields now."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process())
    registry.register(_Probes(probe))
    return generate_latest(registry)
