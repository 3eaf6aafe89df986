"""Answering on the event loop first, within a budget, then in a worker thread.

On SQLite most `$expand` pages and value-set `$validate-code` calls are a few indexed reads,
cheaper than the hop to a worker thread (about 0.2 ms, more under load); but what a client
asks for can cost far more (a regex filter, a huge expansion). `on_loop_first` runs the
answer on the event loop under a budget of INLINE_BUDGET seconds (termserver.budget: the
deadline checks raise and SQLite's progress handler interrupts the running statement once it
is spent) and, when the budget runs out, drops what the attempt produced (its answer or its
error) and answers again in a worker thread. An attempt reads only through its thread's own
autocommit connection: one that would take a pooled connection (which may wait for the pool
or a lock) gives up at once (store/engine). So no request holds the event loop for longer
than the budget. On PostgreSQL (reads wait on the network) it goes to a thread at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from termserver import budget
from termserver.store import Store

T = TypeVar("T")

#: Seconds an answer may hold the event loop before it is made again in a worker thread (a
#: page of 20, filtered or by ECL, or a value-set $validate-code takes about 1 ms on SQLite).
INLINE_BUDGET = 0.004


def attempt(store: Store, answer: Callable[[], T]) -> list[T]:
    """[`answer()`] when it finished on this thread within INLINE_BUDGET; [] when it was
    not tried (PostgreSQL) or gave up (its budget ran out, or it would have taken a pooled
    connection). An error raised within the budget is raised."""
    if not store.inline_reads:
        return []
    with budget.within(INLINE_BUDGET) as tried:
        try:
            result = answer()
        except Exception:  # a statement the budget interrupted (else a real failure)
            if not tried.spent:
                raise
            return []
    return [] if tried.spent else [result]


async def on_loop_first(store: Store, answer: Callable[[], T]) -> T:
    """`answer()` on the event loop within the budget, else in a worker thread."""
    for result in attempt(store, answer):
        return result
    return await run_in_threadpool(answer)
