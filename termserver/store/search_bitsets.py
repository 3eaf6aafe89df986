"""Bitsets of the texts holding a full-text clause, for the intersections FTS5 walks slowly.

An ECL `<< X` with a text filter is `words AND _X` in the full-text index (search_ancestors).
FTS5 answers an AND by stepping through the posting lists of all its clauses in id order, so
two words each in a tenth of the texts, below a concept that holds a few thousand of them,
cost every posting up to the page's last match: hundreds of thousands for one page. Lucene
meets the same cost with a cache of bitsets for the clauses queries use again and again; so
does this module. A clause (a word, a prefix's words, an ancestor token) asked for USES times
among the last RECENT clauses is read once, by a background thread (no request waits for a
whole posting list), into a bitset of text ids (one bit per text: about 190 KiB for 1.5
million texts) and kept, least recently used first out, within CACHE_BYTES.
ANDed in numpy, the bitsets give a page's texts in id (= rank) order in about 0.1 ms where
the walk takes up to a few.

`answer` is taken only when the clauses' frequencies say the walk would step through more
than MIN_WORK postings, and only once every clause is kept; else the walk answers, so a query
seen once costs no more than before. SQLite only: on PostgreSQL reading a frequent word's
texts is a scan of the whole text table (about 0.5 s for the benchmark's 1.5 million texts,
whose rows hold their tsvectors), so there the GIN walk by bands (search_bands) stays.

The bits belong to one build of one code system's index: the key holds its pk (never handed
out again, store/schema) and its text count.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from termserver.store import expand_subtree as subtree
from termserver.store import inlist
from termserver.store.engine import read_connection
from termserver.store.page_reads import query as _query
from termserver.store.search_vocab import expanded, frequencies

if TYPE_CHECKING:
    from termserver.store.read import Store

Bits = npt.NDArray[np.uint64]
logger = logging.getLogger(__name__)

#: Postings a full-text walk is expected to step through before bitsets answer instead.
MIN_WORK = 4_000
#: Postings of a list a walk steps through, at most, per posting of its shortest list.
SKIP = 32
#: Times a clause is asked for (among the last RECENT) before its bitset is read and kept.
USES = 2
RECENT = 512
#: Read kept bitsets in a background thread (False: in the request that asks, for tests).
BACKGROUND = True
#: Clauses waiting to be read per store, at most (more are asked again later).
PENDING_MAX = 64
#: Bytes of bitsets kept per store.
CACHE_BYTES = 64 << 20
#: Texts of an index, at most, for bitsets (a read holds a flag per text and the ids as
#: text for a moment: about 20 MB at this size).
TEXTS_MAX = 8_000_000
#: Candidate texts read per statement beyond the codes the page still wants (a concept may
#: match by several texts, and the other conditions may drop some).
_MARGIN = 5
#: Texts read by id in one statement, at most.
CHUNK = 1_000
#: Words of 64 texts ANDed first when looking for a page's texts (then four times as many).
WINDOW = 512


class Wanting(Protocol):
    """The page being filled (termserver.store.search._Page)."""

    need: int
    codes: list[str]
    complete: bool

    @property
    def full(self) -> bool: ...


class _Kept:
    """The bitsets of one store, most recently used last, how often clauses were asked, and
    the clauses being read in the background."""

    def __init__(self) -> None:
        self.bits: OrderedDict[tuple[int, int, str], Bits] = OrderedDict()
        self.size = 0
        self.asked: OrderedDict[tuple[int, int, str], int] = OrderedDict()
        self.pending: set[tuple[int, int, str]] = set()


_KEPT: weakref.WeakKeyDictionary[Store, _Kept] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
#: Clauses to read in the background: (store, key), oldest first; one thread reads them and
#: ends when none is left.
_JOBS: deque[tuple[weakref.ref[Store], tuple[int, int, str]]] = deque()
_WORKER: list[threading.Thread] = []


def work(lists: list[int], texts: int, need: int) -> float:
    """Postings a walk of clauses holding `lists` texts each (of `texts`) steps through to
    find `need` matches, clauses taken as independent: each list up to the id where the
    `need`-th match is expected, and at most SKIP postings of a list for each of the
    shortest list's (the walk skips ahead to the next id the shortest list holds)."""
    if not texts or not lists:
        return 0.0
    density = 1.0
    for n in lists:
        density *= min(1.0, n / texts)
    expected = texts * density
    share = 1.0 if expected <= need else need / expected
    shortest = min(lists)
    return share * sum(min(n, SKIP * shortest) for n in lists)


def kept(store: Store, cs_pk: int, texts: int, clauses: list[str]) -> list[Bits] | None:
    """The bitsets of `clauses` (FTS5 query expressions), or None when one is not kept yet;
    a clause asked for USES times is read in the background (BACKGROUND; else now), so no
    request waits for a read of a whole posting list."""
    keys = [(cs_pk, texts, c) for c in clauses]
    with _LOCK:
        state = _KEPT.setdefault(store, _Kept())
        found: list[Bits | None] = []
        for key in keys:
            got = state.bits.get(key)
            if got is not None:
                state.bits.move_to_end(key)
            else:
                state.asked[key] = state.asked.pop(key, 0) + 1
                while len(state.asked) > RECENT:
                    state.asked.popitem(last=False)
            found.append(got)
        missing = [k for k, b in zip(keys, found, strict=True) if b is None]
        if any(state.asked.get(k, 0) < USES for k in missing):
            return None
        if missing and BACKGROUND:
            for key in missing:
                if key not in state.pending and len(state.pending) < PENDING_MAX:
                    state.pending.add(key)
                    _JOBS.append((weakref.ref(store), key))
            if not _WORKER:
                _WORKER.append(threading.Thread(target=_work, name="index-bitsets",
                                                daemon=True))
                _WORKER[0].start()
            return None
    out: list[Bits] = []
    for key, got in zip(keys, found, strict=True):
        if got is None:
            got = _read(store, cs_pk, texts, key[2])
            _keep(state, key, got)
        out.append(got)
    return out


def _work() -> None:
    """Read the clauses asked for until none is left (the background thread)."""
    while True:
        with _LOCK:
            if not _JOBS:
                _WORKER.clear()
                return
            ref, key = _JOBS.popleft()
        store = ref()
        if store is None:
            continue
        with _LOCK:
            state = _KEPT.get(store)
        try:
            if state is not None:
                _keep(state, key, _read(store, key[0], key[1], key[2]))
        except Exception:  # the store closed, or the code system was replaced meanwhile
            logger.debug("no bitset for %s", key, exc_info=True)
        finally:
            if state is not None:
                with _LOCK:
                    state.pending.discard(key)
            del store, state


def _read(store: Store, cs_pk: int, texts: int, clause: str) -> Bits:
    """The bitset of the texts (ids 1..`texts`) holding `clause`: one query, whose ids come
    as one comma-separated text (parsed in C, not as a Python object per id)."""
    fts = f"search_fts_{int(cs_pk)}"
    # a pooled connection: the reading thread comes and goes, and a thread's own hot-read
    # connection (Store._hot_query) would stay open until the store closes
    with read_connection(store.engine) as raw:
        cur = raw.cursor()
        cur.execute(f"SELECT group_concat(rowid) FROM {fts} WHERE {fts} MATCH ?", (clause,))
        found = cur.fetchone()
        cur.close()
    joined = found[0] if found else None
    ids = np.fromstring(joined, dtype=np.int64, sep=",") if joined else \
        np.zeros(0, dtype=np.int64)
    flags = np.zeros(-(-(texts + 1) // 64) * 64, dtype=bool)
    flags[ids[ids <= texts]] = True
    return np.packbits(flags, bitorder="little").view(np.uint64)


def _keep(state: _Kept, key: tuple[int, int, str], bits: Bits) -> None:
    with _LOCK:
        if key in state.bits:
            return
        state.bits[key] = bits
        state.size += bits.nbytes
        state.asked.pop(key, None)
        while state.size > CACHE_BYTES and len(state.bits) > 1:
            _, old = state.bits.popitem(last=False)
            state.size -= old.nbytes


def first(bits: list[Bits], after: int, want: int) -> tuple[list[int], bool]:
    """The first `want` ids after `after` set in every bitset, in order, and whether fewer
    were left (then they are all there are). ANDs a window of words at a time, growing, so a
    page of frequent matches reads a few hundred words, not all."""
    size = len(bits[0])
    start = (after + 1) >> 6
    window = WINDOW
    out: list[int] = []
    while start < size and len(out) < want:
        end = min(size, start + window)
        part = bits[0][start:end]
        for more in bits[1:]:
            part = part & more[start:end]
        words = np.flatnonzero(part)
        if len(words):
            flags = np.unpackbits(part[words].view(np.uint8), bitorder="little")
            row, col = np.nonzero(flags.reshape(-1, 64))
            ids = (words[row] + start) * 64 + col
            out += ids[ids > after][:want - len(out)].tolist()
        start, window = end, window * 4
    return out, len(out) < want


def rows(store: Store, term: str, bits: list[Bits], page: Wanting,
         rest: tuple[str, str, list[Any]]) -> Iterator[Any]:
    """Rows (id, code) of the texts set in every bitset that meet the conditions `rest`
    (active, SQL on `t`, params), in id order while the page wants more."""
    active, cond, cparams = rest
    after = 0
    page.complete = False
    while not page.full:
        # twice the codes still wanted (a concept may match by several texts), in chunks
        want = min(2 * (page.need - len(page.codes)) + _MARGIN, CHUNK)
        ids, done = first(bits, after, want)
        if ids:
            yield from _by_id(store, term, ids, f"{active}{cond}", cparams)
            after = ids[-1]
        if done:
            page.complete = True
            return


def _by_id(store: Store, term: str, ids: list[int], cond: str, params: list[Any]
           ) -> list[Any]:
    """Rows (id, code) of the texts `ids` of table `term` that meet `cond` (`AND …` on
    `t`), in id order (an IN list in few shapes: store/inlist)."""
    marks = inlist.padded(ids)
    return _query(store, f"SELECT t.id, t.code FROM {term} t WHERE t.id IN "
                         f"({', '.join('?' * len(marks))}){cond} ORDER BY t.id",
                  (*marks, *params))


def answer(store: Store, cs_pk: int, words: list[str], prefix: bool, token: str,
           share: float, begun: dict[str, list[str]], page: Wanting,
           rest: tuple[str, str, list[Any]]) -> Iterator[Any] | None:
    """The rows of one tier of `words` (whole, or as prefixes) below the ancestor `token`
    (its subtree holding `share` of the concepts) from bitsets, or None: the walk is cheap
    enough, or a clause is not kept yet."""
    texts = subtree._meta(store, cs_pk)[1]
    freq = frequencies(store, cs_pk, words, prefix)
    lists = [freq.get(w, 0) for w in words] + [int(share * texts) + 1]
    if work(lists, texts, page.need) < MIN_WORK or texts > TEXTS_MAX:
        return None
    terms = expanded(store, cs_pk, words, True, begun) if prefix else [f'"{w}"' for w in words]
    bits = kept(store, cs_pk, texts, [*terms, f'"{token}"'])
    if bits is None:
        return None
    return rows(store, f"search_term_{int(cs_pk)}", bits, page, rest)


#: Texts of one exact text read by id before the bitset tests them, at most (else the
#: hierarchy condition is tested in SQL).
EXACT_MAX = 1_000


def exact(store: Store, cs_pk: int, token: str, norm: str, cond: str, params: list[Any]
          ) -> list[Any] | None:
    """Rows (id, code) of the texts whose folded text is `norm` below the ancestor `token`
    that meet `cond` (`AND …` on `t`), in id order, when the token's bitset is kept; else
    None. The bitset stands for the per-text hierarchy test."""
    texts = subtree._meta(store, cs_pk)[1]
    key = (cs_pk, texts, f'"{token}"')
    with _LOCK:
        state = _KEPT.get(store)
        bits = None if state is None else state.bits.get(key)
    if bits is None:
        return None
    term = f"search_term_{int(cs_pk)}"
    found = _query(store, f"SELECT t.id FROM {term} t WHERE t.norm = ? LIMIT ?",
                   (norm, EXACT_MAX + 1))
    if len(found) > EXACT_MAX:
        return None
    ids = np.array([int(r[0]) for r in found], dtype=np.int64)
    ids = ids[(bits[ids >> 6] >> (ids & 63).astype(np.uint64)) & np.uint64(1) == 1]
    return _by_id(store, term, ids.tolist(), cond, params) if len(ids) else []
