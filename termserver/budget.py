"""A time budget for work tried on the event loop before it is handed to a worker thread.

On SQLite a GET `$expand` page is usually a few indexed reads, cheaper than the hop to a
worker thread; but what a client asks for can cost much more. The API layer therefore tries
such a request on the event loop under a budget of a few milliseconds (`within`): long loops
stop at their deadline checks (service/deadline raises once the budget is spent), SQLite
statements are interrupted by their progress handler (`spent`, store/engine), a read that
would take a pooled connection gives up at once (`leave`, store/engine: such a connection
may wait for the pool or for a lock, which the progress handler cannot stop), and the API then
answers the request again in a worker thread, discarding the attempt. So a request holds the
event loop for at most the budget (plus one SQLite progress step).

This module has no dependencies: the store (SQLite's progress handler), the service
(deadline checks) and the API (the attempt) all read the same context variable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Budget:
    """The monotonic time an attempt must end by, and whether anything saw it pass."""

    __slots__ = ("end", "passed")

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.passed = False

    @property
    def spent(self) -> bool:
        """Whether the attempt ran out of its budget (then its answer is not used)."""
        if not self.passed and time.monotonic() >= self.end:
            self.passed = True
        return self.passed


_BUDGET: ContextVar[Budget | None] = ContextVar("termserver_budget", default=None)


@contextmanager
def within(seconds: float) -> Iterator[Budget]:
    """Run the body under a budget of `seconds`; the caller checks `.spent` afterwards."""
    current = Budget(seconds)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        _BUDGET.reset(token)


def spent() -> bool:
    """Whether the current attempt (if any) has run out of its budget: SQLite's progress
    handler returns this (a true value interrupts the running statement)."""
    current = _BUDGET.get()
    return current is not None and current.spent


class Abandoned(Exception):
    """An attempt gave up before its budget was spent (it would have waited)."""


def leave(reason: str) -> None:
    """Within an attempt: give it up (it counts as spent) by raising Abandoned; outside one:
    nothing."""
    current = _BUDGET.get()
    if current is not None:
        current.passed = True
        raise Abandoned(reason)


def left() -> float | None:
    """Seconds left of the current attempt's budget (never negative); None outside one."""
    current = _BUDGET.get()
    return None if current is None else max(0.0, current.end - time.monotonic())
