"""Result fragments of the bulk operations, reused for lines that repeat earlier ones.

A result line is `{"line":N,"id":…` followed by the answer's fields; the fields depend only on
the line's own parameters (the raw JSON object minus `id`, and minus `display` for
$translate), the query's parameters, the FHIR version and the stored terminology. A Memo
keeps the serialised fields (`tail`) by the line's raw parameters, so a repeated line costs
one JSON parse, one dict hit and one concatenation. Memos are shared by every stream of the
same operation, query parameters and FHIR version on one store (ETL sends the same codes
every night, in batches of separate requests), at most MEMOS of them.

Valid while the stored CodeSystems, ValueSets and ConceptMaps are unchanged: every chunk
compares their stamp (one query; any write of one, by any process, changes it) and starts
afresh when it changed, so a memo never answers differently from a fresh read at that
chunk. Lines whose parameters are not all strings, or that name a `cache-id` (server-side
request resources) or an implicit SNOMED CT map, are never memoised; nor are error answers
(they may be transient). At most MEMO_LINES fragments and about MEMO_BYTES a memo:
when full, the older half goes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from termserver.fhir import params as p
from termserver.store import Store

#: Fragments one memo keeps (then the older half goes).
MEMO_LINES = 100_000
#: Bytes of fragments one memo keeps (then the older half goes).
MEMO_BYTES = 32 * 1024 * 1024
#: Bytes counted per fragment besides its own (key, dict slot, object headers).
_OVERHEAD = 200
#: Memos kept per store (least recently used dropped).
MEMOS = 4

#: A line's own parameters, as given (str values only), in the line's order.
LineKey = tuple[tuple[str, str], ...]

_LOCK = threading.Lock()
_MEMOS: weakref.WeakKeyDictionary[Store, OrderedDict[Any, Memo]] = weakref.WeakKeyDictionary()


@dataclass(slots=True)
class Memo:
    """The fragments of one (operation, query parameters, FHIR version), at one stamp."""

    stamp: Any = None
    lines: dict[LineKey, bytes] = field(default_factory=dict)
    #: Line keys left out of the key (answers do not depend on them).
    ignored: frozenset[str] = frozenset()
    #: About the bytes `lines` holds.
    size: int = 0

    def fresh(self, stamp: Callable[[], Any]) -> dict[LineKey, bytes]:
        """The fragments valid now (emptied when the stamp changed). Callers write to the
        dict returned (`keep`), so an answer read before a change never lands in the memo of
        after it."""
        now = stamp()
        with _LOCK:
            if now != self.stamp:
                self.stamp, self.lines, self.size = now, {}, 0
            return self.lines

    def keep(self, lines: dict[LineKey, bytes], key: LineKey, fragment: bytes) -> None:
        """Add a fragment to `lines` (from `fresh`). Past MEMO_LINES or MEMO_BYTES, the
        older half of the memo goes (a new dict; writers of the old one stop being counted
        and move to the new one at their next chunk)."""
        lines[key] = fragment
        if lines is not self.lines:
            return
        self.size += len(fragment) + _OVERHEAD
        if self.size > MEMO_BYTES or len(lines) > MEMO_LINES:
            with _LOCK:
                if lines is self.lines:
                    kept = list(lines.items())
                    kept = kept[len(kept) // 2:]
                    self.lines = dict(kept)
                    self.size = sum(len(v) + _OVERHEAD for _, v in kept)

    def key(self, data: dict[str, Any]) -> LineKey | None:
        """The memo key of a line's own parameters, or None when it may not be memoised."""
        items = tuple(data.items())
        for k, v in items:
            if type(v) is not str or k in _NEVER or "?fhir_cm=" in v:
                return None
        if self.ignored and not self.ignored.isdisjoint(data):
            return tuple(kv for kv in items if kv[0] not in self.ignored)
        return items


#: Parameters whose answers depend on more than the stored resources.
_NEVER = frozenset({"cache-id", "tx-resource"})


def _fits(name: str, value: Any) -> bool:
    """Whether an answer with this parameter depends on stored resources only."""
    return name not in _NEVER and not (isinstance(value, str) and "?fhir_cm=" in value)


def memo_for(store: Store, kind: str, defaults: p.Pairs, fhir_version: str) -> Memo | None:
    """The shared memo of an operation's streams with these query parameters (None: the
    parameters rule a memo out)."""
    if not all(_fits(k, v) for k, v in defaults):
        return None
    key = (kind, fhir_version, tuple(defaults))
    try:
        hash(key)
    except TypeError:
        return None
    with _LOCK:
        memos = _MEMOS.setdefault(store, OrderedDict())
        memo = memos.get(key)
        if memo is None:
            memo = memos[key] = Memo(ignored=frozenset({"display"}) if kind == "translate"
                                     else frozenset())
            while len(memos) > MEMOS:
                memos.popitem(last=False)
        memos.move_to_end(key)
        return memo


def head(number: int, ident: Any) -> bytes:
    """`{"line":N` and the input's `id` (when it has one) of a result line."""
    if ident is None:
        return b'{"line":%d' % number
    return b'{"line":%d,"id":%b' % (number, orjson.dumps(ident))


def tail(body: bytes) -> bytes:
    """The rest of a result line after its head, from the answer's serialised object."""
    return b"}" if body == b"{}" else b"," + body[1:]
