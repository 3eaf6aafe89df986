"""IN lists in a bounded number of shapes.

Every distinct SQL text is prepared and kept per connection (Python's sqlite3 keeps the last
`cached_statements` of each connection, psycopg the last `prepared_max` server side), and a
prepared statement costs memory in proportion to its parameters: on SQLite a three-arm
`code IN (…)` read of 3,500 codes takes about 1.7 MB. Set-based reads of a chunk of codes
(the bulk operations) whose IN list had exactly as many parameters as the chunk had distinct
codes made a new statement for nearly every chunk, and each connection's cache filled with
them as a stream went on: the server's memory grew with the length of the stream (measured:
bench/README.md, "Peak RSS"). `padded` rounds a list up to one of a few sizes by repeating
its last value (an IN list's repeats change no answer), so a query has at most
`shapes(n)` texts for lists of up to `n` values, whatever the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: Lists up to this length are padded to the next power of two; longer ones to the next
#: multiple of it.
STEP = 4096


def size(n: int) -> int:
    """The padded length of a list of `n` values (n ≥ 1)."""
    if n > STEP:
        return -(-n // STEP) * STEP
    return 1 << (n - 1).bit_length()


def padded(values: Sequence[T]) -> list[T]:
    """`values` (not empty) followed by repeats of its last value up to `size(len(values))`."""
    out = list(values)
    out += [out[-1]] * (size(len(out)) - len(out))
    return out


def marks(n: int) -> str:
    """`?, ?, …`: `n` placeholders."""
    return ", ".join("?" * n)
