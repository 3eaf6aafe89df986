"""One deadline per request for work whose cost the client controls (pattern matching,
expansion, ECL evaluation).

The API layer calls `start(seconds)` once per request (a context variable, so it reaches the
worker thread a sync handler runs in); long loops call `check()`, which raises TooCostly once
the time is up, and regex matches get `remaining()` as their timeout. Without a deadline
(CLI, background jobs) `check()` never raises and `remaining()` is None.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from termserver import budget
from termserver.errors import TooCostly

#: (monotonic time the request must end by, the limit in seconds) or None.
_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("termserver_deadline",
                                                               default=None)


def start(seconds: float | None) -> Token[tuple[float, float] | None]:
    """Give the current request `seconds` from now (None or <= 0: no limit). A deadline
    that is already set and earlier (a batch entry inside its batch) is kept."""
    current = _DEADLINE.get()
    if seconds is None or seconds <= 0:
        return _DEADLINE.set(current)
    wanted = (time.monotonic() + seconds, seconds)
    if current is not None and current[0] <= wanted[0]:
        wanted = current
    return _DEADLINE.set(wanted)


def reset(token: Token[tuple[float, float] | None]) -> None:
    """Restore the deadline that was in force before `start` returned `token`."""
    _DEADLINE.reset(token)


@contextmanager
def limit(seconds: float | None) -> Iterator[None]:
    """`start(seconds)` for the body of a `with` block."""
    token = start(seconds)
    try:
        yield
    finally:
        reset(token)


def remaining() -> float | None:
    """Seconds left for the current request (never negative), or of the current attempt's
    budget (termserver.budget) when that ends first; None without either."""
    current = _DEADLINE.get()
    left = budget.left()
    if current is None:
        return left
    mine = max(0.0, current[0] - time.monotonic())
    return mine if left is None else min(mine, left)


def check() -> None:
    """Raise TooCostly when the current request has used up its time, or the current
    attempt its budget (the attempt is then made again in a worker thread)."""
    current = _DEADLINE.get()
    if (current is not None and time.monotonic() >= current[0]) or budget.spent():
        raise expired()


def expired() -> TooCostly:
    """The error for a request that ran out of time."""
    current = _DEADLINE.get()
    limit_text = f"{current[1]:g} s " if current is not None else ""
    return TooCostly(f"The request took longer than the server's time limit {limit_text}"
                     "(TERMSERVER_REQUEST_TIMEOUT) and was stopped; narrow it down (e.g. "
                     "simpler filters, patterns or ECL)")
