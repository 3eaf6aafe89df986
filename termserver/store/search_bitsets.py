"""Bitsets of the texts holding a full-text clause, for the intersections full-text walks
slowly.

An ECL `<< X` with a text filter is `words AND _X` in the full-text index (search_ancestors).
FTS5 answers an AND by stepping through the posting lists of all its clauses in id order
(PostgreSQL's GIN likewise, band by band: search_bands), so two words each in a tenth of the
texts, below a concept that holds a few thousand of them, cost every posting up to the
page's last match: hundreds of thousands for one page. Lucene meets the same cost with a
cache of bitsets for the clauses queries use again and again; so does this module. A clause
(a word, a prefix's words, an ancestor token) asked for USES times among the last RECENT
clauses (PostgreSQL's word clauses: USES_STORED) is read once, by a background thread (no
request waits for a whole posting list), into a bitset of text ids (one bit per text: about
190 KiB for 1.5 million texts) and kept, least recently used first out, within CACHE_BYTES.
ANDed in numpy, the bitsets give a page's texts in id (= rank) order in about 0.1 ms where
the walk takes up to a few.

`answer` is taken only when the clauses' frequencies say the walk would step through more
than MIN_WORK postings, and only once every clause is kept; else the walk answers, so a query
seen once costs no more than before. SQLite reads a clause through FTS5; PostgreSQL through
the texts of frequent words stored by the index build and the closure table
(search_postings), as its text table (whose rows hold their tsvectors) would cost a scan.

The bits belong to one build of one code system's index (several processes share a
database, and adding a variant's designations rebuilds an index under the same pk): they are
keyed by its build stamp (search_meta.built_at), read in the same snapshot as the clause, and
every read by id that uses them checks the current stamp in the same statement; bits of
another build are forgotten and the walk answers.
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
from termserver.store import search_postings as postings
from termserver.store.engine import read_connection
from termserver.store.page_reads import paramstyled as _m
from termserver.store.page_reads import query as _query
from termserver.store.search_ancestors import code_of
from termserver.store.search_vocab import begun as vocab_begun
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
#: PostgreSQL: times a word clause is asked for before it is read. Its texts are stored by
#: the index build (search_postings): a read costs about one walk, so it is read at once.
USES_STORED = 1
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
    """The bitsets of one store, most recently used last, keyed (cs_pk, build stamp, clause);
    the newest build stamp seen per code system; how often clauses were asked; the clauses
    being read in the background (keyed (cs_pk, clause))."""

    def __init__(self) -> None:
        self.bits: OrderedDict[tuple[int, str, str], Bits] = OrderedDict()
        self.size = 0
        self.stamps: dict[int, str] = {}
        self.asked: OrderedDict[tuple[int, str], int] = OrderedDict()
        self.pending: set[tuple[int, str]] = set()


_KEPT: weakref.WeakKeyDictionary[Store, _Kept] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
#: Clauses to read in the background: (store, (cs_pk, clause)), oldest first; one thread
#: reads them and ends when none is left.
_JOBS: deque[tuple[weakref.ref[Store], tuple[int, str]]] = deque()
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


def kept(store: Store, cs_pk: int, clauses: list[str]) -> tuple[str, list[Bits]] | None:
    """(build stamp, the bitsets of `clauses`) of the newest build of `cs_pk`'s index seen,
    or None when one is not kept yet; a clause asked for USES times is read in the
    background (BACKGROUND; else now), so no request waits for a read of a posting list."""
    with _LOCK:
        state = _KEPT.setdefault(store, _Kept())
        stamp = state.stamps.get(cs_pk)
        found: list[Bits | None] = []
        for clause in clauses:
            key = (cs_pk, stamp or "", clause)
            got = state.bits.get(key) if stamp is not None else None
            if got is not None:
                state.bits.move_to_end(key)
            else:
                ask = (cs_pk, clause)
                state.asked[ask] = state.asked.pop(ask, 0) + 1
                while len(state.asked) > RECENT:
                    state.asked.popitem(last=False)
            found.append(got)
        missing = [(cs_pk, c) for c, b in zip(clauses, found, strict=True) if b is None]
        if any(state.asked.get(k, 0) < _uses(store, k[1]) for k in missing):
            return None
        if missing and BACKGROUND:
            for ask in missing:
                if ask not in state.pending and len(state.pending) < PENDING_MAX:
                    state.pending.add(ask)
                    _JOBS.append((weakref.ref(store), ask))
            if not _WORKER:
                _WORKER.append(threading.Thread(target=_work, name="index-bitsets",
                                                daemon=True))
                _WORKER[0].start()
            return None
    for cs, clause in missing:
        read = _read(store, cs, clause)
        if read is None:
            return None
        _keep(state, cs, clause, *read)
    with _LOCK:
        stamp = state.stamps.get(cs_pk)
        out = [state.bits.get((cs_pk, stamp or "", c)) for c in clauses]
    bits = [b for b in out if b is not None]
    return (stamp, bits) if stamp is not None and len(bits) == len(clauses) else None


def _uses(store: Store, clause: str) -> int:
    """Asks before `clause` is read (USES; USES_STORED for PostgreSQL's word clauses)."""
    return USES_STORED if store.dialect != "sqlite" and clause.startswith("w:") else USES


def _work() -> None:
    """Read the clauses asked for until none is left (the background thread)."""
    while True:
        with _LOCK:
            if not _JOBS:
                _WORKER.clear()
                return
            ref, ask = _JOBS.popleft()
        store = ref()
        if store is None:
            continue
        with _LOCK:
            state = _KEPT.get(store)
        try:
            read = None if state is None else _read(store, *ask)
            if state is not None and read is not None:
                _keep(state, ask[0], ask[1], *read)
        except Exception:  # the store closed, or the code system was replaced meanwhile
            logger.debug("no bitset for %s", ask, exc_info=True)
        finally:
            if state is not None:
                with _LOCK:
                    state.pending.discard(ask)
            del store, state


def _read(store: Store, cs_pk: int, clause: str) -> tuple[str, Bits] | None:
    """(build stamp, the bitset of the texts holding `clause`) of the index build current
    when read (its text count and stamp read in the same snapshot), or None when it cannot
    be read cheaply (PostgreSQL: search_postings). SQLite: one statement, whose ids come as
    one comma-separated text (parsed in C, not as a Python object per id)."""
    # a pooled connection: the reading thread comes and goes, and a thread's own hot-read
    # connection (Store._hot_query) would stay open until the store closes
    with read_connection(store.engine) as raw:
        if store.dialect != "sqlite":
            got = postings.read(raw, cs_pk, clause)
        else:
            fts = f"search_fts_{int(cs_pk)}"
            cur = raw.cursor()
            cur.execute(f"SELECT m.terms, m.built_at, (SELECT group_concat(rowid) FROM {fts} "
                        f"WHERE {fts} MATCH ?) FROM search_meta m WHERE m.cs_pk = ?",
                        (clause, cs_pk))
            found = cur.fetchone()
            cur.close()
            got = None if found is None else \
                (str(found[1]), postings.flags(postings.ids(found[2]), int(found[0])))
    return None if got is None else \
        (got[0], np.packbits(got[1], bitorder="little").view(np.uint64))


def _keep(state: _Kept, cs_pk: int, clause: str, stamp: str, bits: Bits) -> None:
    """Keep `bits` of build `stamp`; a newer stamp than the one seen forgets the bits of the
    older builds of `cs_pk`."""
    with _LOCK:
        if state.stamps.get(cs_pk) != stamp:
            if not _newer(stamp, state.stamps.get(cs_pk)):
                return
            _forget(state, cs_pk, stamp)
        key = (cs_pk, stamp, clause)
        if key in state.bits:
            return
        state.bits[key] = bits
        state.size += bits.nbytes
        state.asked.pop((cs_pk, clause), None)
        while state.size > CACHE_BYTES and len(state.bits) > 1:
            _, old = state.bits.popitem(last=False)
            state.size -= old.nbytes


def _newer(stamp: str, than: str | None) -> bool:
    """Whether build stamp `stamp` (search_meta.built_at, ISO time) is newer than `than`."""
    return than is None or stamp > than


def _forget(state: _Kept, cs_pk: int, stamp: str) -> None:
    """Under _LOCK: `stamp` is the current build of `cs_pk`'s index; drop the bits of any
    other."""
    state.stamps[cs_pk] = stamp
    for key in [k for k in state.bits if k[0] == cs_pk and k[1] != stamp]:
        state.size -= state.bits.pop(key).nbytes


def _stale(store: Store, cs_pk: int, stamp: str | None) -> None:
    """A read found build `stamp` (None: no index) current, not the bits' build: forget."""
    with _LOCK:
        state = _KEPT.get(store)
        if state is not None:
            _forget(state, cs_pk, stamp or "")


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


def rows(store: Store, cs_pk: int, stamp: str, bits: list[Bits], page: Wanting,
         rest: tuple[str, str, list[Any]]) -> Iterator[Any] | None:
    """Rows (id, code) of the texts set in every bitset (of build `stamp`) that meet the
    conditions `rest` (active, SQL on `t`, params), in id order while the page wants more;
    None when the first read finds another build current (then the walk answers)."""
    active, cond, cparams = rest
    term = f"search_term_{int(cs_pk)}"

    def chunk(after: int) -> tuple[list[Any] | None, int, bool]:
        # twice the codes still wanted (a concept may match by several texts), in chunks
        want = min(2 * (page.need - len(page.codes)) + _MARGIN, CHUNK)
        ids, done = first(bits, after, want)
        got = _by_id(store, cs_pk, stamp, term, ids, f"{active}{cond}", cparams)
        return got, ids[-1] if ids else after, done

    got, after, done = chunk(0)
    if got is None:
        return None

    def more(got: list[Any], after: int, done: bool) -> Iterator[Any]:
        page.complete = False
        while True:
            yield from got
            if done:
                page.complete = True
                return
            if page.full:
                return
            found, after, done = chunk(after)
            if found is None:  # the index was rebuilt meanwhile: as a walk would, stop
                return
            got = found

    return more(got, after, done)


#: The current build's stamp, as a row (-1, stamp) of a read by id (first, by id order).
_CHECK = " UNION ALL SELECT -1, m.built_at FROM search_meta m WHERE m.cs_pk = ? ORDER BY 1"


def _by_id(store: Store, cs_pk: int, stamp: str, term: str, ids: list[int], cond: str,
           params: list[Any]) -> list[Any] | None:
    """Rows (id, code) of the texts `ids` of table `term` that meet `cond` (`AND …` on
    `t`), in id order (SQLite: an IN list in few shapes, store/inlist; else an array), or
    None when, in the same statement, the current build of the index is not `stamp`."""
    if store.dialect != "sqlite":
        found = _query(store, _m(False, f"SELECT t.id, t.code FROM {term} t WHERE t.id = "
                                        f"ANY(?){cond}{_CHECK}"), (ids, *params, cs_pk))
    else:
        marks = inlist.padded(ids) if ids else [-1]
        found = _query(store, f"SELECT t.id, t.code FROM {term} t WHERE t.id IN "
                              f"({', '.join('?' * len(marks))}){cond}{_CHECK}",
                       (*marks, *params, cs_pk))
    return _checked(store, cs_pk, stamp, found)


def _checked(store: Store, cs_pk: int, stamp: str, found: list[Any]) -> list[Any] | None:
    """The rows of a read with _CHECK, without its stamp row, or None when the stamp is
    not `stamp` (the bits of the old build are forgotten then)."""
    if not found or int(found[0][0]) != -1 or found[0][1] != stamp:
        _stale(store, cs_pk, str(found[0][1]) if found and int(found[0][0]) == -1 else None)
        return None
    return found[1:]


def answer(store: Store, cs_pk: int, words: list[str], prefix: bool, token: str,
           share: float, begun: dict[str, list[str]], page: Wanting,
           rest: tuple[str, str, list[Any]]) -> Iterator[Any] | None:
    """The rows of one tier of `words` (whole, or as prefixes) below the ancestor `token`
    (its subtree holding `share` of the concepts) from bitsets, or None: the walk is cheap
    enough, a clause is not kept yet, or the bits are of an older build."""
    texts = subtree._meta(store, cs_pk)[1]
    freq = frequencies(store, cs_pk, words, prefix)
    lists = [freq.get(w, 0) for w in words] + [int(share * texts) + 1]
    if work(lists, texts, page.need) < MIN_WORK or texts > TEXTS_MAX:
        return None
    terms = _clauses(store, cs_pk, words, prefix, begun)
    if terms is None:
        return None
    got = kept(store, cs_pk, [*terms, token_clause(store, token)])
    if got is None:
        return None
    return rows(store, cs_pk, got[0], got[1], page, rest)


def _clauses(store: Store, cs_pk: int, words: list[str], prefix: bool,
             begun: dict[str, list[str]]) -> list[str] | None:
    """The clauses of `words` (whole, or as prefixes with the words they begin, `begun`):
    FTS5 expressions on SQLite; on PostgreSQL search_postings' names (None: a prefix begins
    more words than a clause holds)."""
    if store.dialect == "sqlite":
        return expanded(store, cs_pk, words, True, begun) if prefix else \
            [f'"{w}"' for w in words]
    if not prefix:
        return [f"w:{w}" for w in words]
    if any(p not in begun for p in words):
        begun = {**begun, **vocab_begun(store, cs_pk, words)}
    if any(not begun[p] or len(begun[p]) > postings.WORDS_MAX for p in words):
        return None
    return ["w:" + "|".join(begun[p]) for p in words]


def token_clause(store: Store, token: str) -> str:
    """The clause of an ancestor token (search_ancestors.token) in this store's dialect."""
    return f'"{token}"' if store.dialect == "sqlite" else "a:" + code_of(token)


#: Texts of one exact text read by id before the bitset tests them, at most (else the
#: hierarchy condition is tested in SQL).
EXACT_MAX = 1_000


def exact(store: Store, cs_pk: int, token: str, norm: str, cond: str, params: list[Any]
          ) -> list[Any] | None:
    """Rows (id, code) of the texts whose folded text is `norm` below the ancestor `token`
    that meet `cond` (`AND …` on `t`), in id order, when the token's bitset is kept (and of
    the current build, checked in the same statement); else None. The bitset stands for the
    per-text hierarchy test."""
    with _LOCK:
        state = _KEPT.get(store)
        stamp = None if state is None else state.stamps.get(cs_pk)
        bits = None if state is None or stamp is None else \
            state.bits.get((cs_pk, stamp, token_clause(store, token)))
    if bits is None or stamp is None:
        return None
    term = f"search_term_{int(cs_pk)}"
    found = _checked(store, cs_pk, stamp, _query(store, _m(
        store.dialect == "sqlite", f"SELECT t.id, t.code FROM {term} t WHERE t.norm = ?"
                                   f"{cond}{_CHECK} LIMIT ?"),
        (norm, *params, cs_pk, EXACT_MAX + 2)))
    if found is None or len(found) > EXACT_MAX:
        return None
    ids = np.array([int(r[0]) for r in found], dtype=np.int64)
    below = ids < len(bits) * 64
    below[below] = (bits[ids[below] >> 6] >> (ids[below] & 63).astype(np.uint64)) \
        & np.uint64(1) == 1
    return [row for row, keep in zip(found, below.tolist(), strict=True) if keep]
