"""Reads by code system pk that never answer "nothing" for a pk another process replaced.

A read by pk uses a resolution (url, version → pk) that may be cached or made a moment before;
another server process or a `termserver load` may replace the code system in between, deleting
the old pk's rows in the same transaction that writes the new ones. So a read that finds
nothing asks the store which pk that code system has now (`_successor`: one uncached query)
and, when it changed, reads again with the new one: a reader sees the old content or the new,
never neither. Rows found need no check: they are the old content or the new.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

#: Reads again at most this often (each time another replace committed in between).
RETRIES = 3

P = ParamSpec("P")
R = TypeVar("R")


class Successor(Protocol):
    def _successor(self, cs_pk: int) -> int | None: ...


S = TypeVar("S", bound=Successor)


def fresh_pk(read: Callable[Concatenate[S, int, P], R]) -> Callable[Concatenate[S, int, P], R]:
    """Decorate a read whose first argument is a code system pk: an empty or false result is
    checked against the pk the code system has now, and read again with it if it changed."""
    iterables = any("Iterable" in str(t) for t in read.__annotations__.values())

    @functools.wraps(read)
    def wrapper(self: S, cs_pk: int, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if iterables:  # a generator argument must survive a second read
            args, kwargs = _reusable(args, kwargs)  # type: ignore[assignment]
        result = read(self, cs_pk, *args, **kwargs)
        if result:
            return result
        for _ in range(RETRIES):
            newer = self._successor(cs_pk)
            if newer is None:
                break
            cs_pk = newer
            result = read(self, cs_pk, *args, **kwargs)
            if result:
                break
        return result

    return wrapper


def _reusable(args: tuple[Any, ...], kwargs: dict[str, Any]
              ) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return (tuple(tuple(a) if isinstance(a, Iterator) else a for a in args),
            {k: tuple(v) if isinstance(v, Iterator) else v for k, v in kwargs.items()})
