"""A small keep-alive HTTP/1.1 load generator: asyncio streams, several concurrent connections.

Each connection sends one GET at a time (no pipelining), reads the status line, headers and a
Content-Length body, and goes on with the next request from a pre-built list of paths. Lean
on purpose, so that on a small machine the client costs far less CPU than the server it drives.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    requests: int = 0  # completed in the measured window
    seconds: float = 0.0
    completed: int = 0  # completed in all, warm-up included
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)


def requests_for(host: str, port: int, paths: Sequence[str]) -> list[bytes]:
    return [f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/fhir+json\r\n"
            f"Connection: keep-alive\r\n\r\n".encode() for p in paths]


async def _connection(host: str, port: int, requests: list[bytes], start: int,
                      deadline: float, measure_from: float, result: Result) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    n = len(requests)
    try:
        while True:
            writer.write(requests[i % n])
            i += 7  # connections walk the list at different strides
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            now = time.perf_counter()
            result.completed += 1
            if now >= deadline:
                return
            if now >= measure_from:
                result.requests += 1
                result.statuses[status] += 1
    finally:
        writer.close()


async def _run(host: str, port: int, requests: list[bytes], connections: int,
               seconds: float, warmup: float) -> Result:
    result = Result()
    begin = time.perf_counter()
    measure_from = begin + warmup
    deadline = measure_from + seconds
    await asyncio.gather(*(
        _connection(host, port, requests, k * 1009, deadline, measure_from, result)
        for k in range(connections)))
    result.seconds = seconds
    return result


def run(host: str, port: int, paths: Sequence[str], *, connections: int = 8,
        seconds: float = 5.0, warmup: float = 1.0) -> Result:
    """Drive `paths` (round-robin) for `warmup` + `seconds`; count only the measured part."""
    return asyncio.run(_run(host, port, requests_for(host, port, paths), connections,
                            seconds, warmup))


def probe(host: str, port: int, path: str) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body)."""
    async def once() -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(requests_for(host, port, [path])[0])
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await reader.readexactly(length) if length else b""
        writer.close()
        return int(head[9:12]), body

    return asyncio.run(once())
