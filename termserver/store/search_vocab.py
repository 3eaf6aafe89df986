"""The vocabulary of a text index (``search_vocab_<cs_pk>``: folded word, texts holding it):
how a query's words and prefixes are read (termserver.store.search).

Word frequencies only steer the plan (which word drives a read, whether counting the total
is cheap), never which texts match, so they are remembered per store (until its next write)
instead of read for every query: on PostgreSQL each lookup is a round trip. The words a
prefix begins decide what matches, so they are read every time.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from termserver.store.page_reads import paramstyled as _m
from termserver.store.page_reads import query as _query

if TYPE_CHECKING:
    from termserver.store.read import Store

#: A prefix that begins at most this many indexed words is searched as those words: FTS5
#: reads a longer prefix than its prefix indexes (1–3 letters) by merging every matching
#: word's whole list first, where the words themselves are read lazily, in rowid order.
PREFIX_WORDS = 16
#: Word frequencies remembered per store, at most.
FREQ_CACHE = 20_000
_FREQ: weakref.WeakKeyDictionary[Store, tuple[int, dict[tuple[int, str, bool], int | None]]] \
    = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def vocab(cs_pk: int) -> str:
    return f"search_vocab_{int(cs_pk)}"


def begun(store: Store, cs_pk: int, prefixes: list[str]) -> dict[str, list[str]]:
    """The indexed words each prefix begins, in order, at most PREFIX_WORDS + 1 of them (one
    query; a page reads them once for `only_themselves` and `expanded`)."""
    found: dict[str, list[str]] = {p: [] for p in prefixes}
    todo = list(found)
    if not todo:
        return found
    arms = " UNION ALL ".join(
        f"SELECT * FROM (SELECT ?, term FROM {vocab(cs_pk)} WHERE term >= ? AND term < ? "
        f"ORDER BY term LIMIT ?) x{i}" for i, _ in enumerate(todo))
    params = [x for p in todo for x in (p, p, p + "\U0010ffff", PREFIX_WORDS + 1)]
    for p, term in _query(store, _m(store.dialect == "sqlite", arms), tuple(params)):
        found[str(p)].append(str(term))
    return found


def looked_up(prefixes: list[str], sqlite: bool) -> list[str]:
    """The prefixes `expanded` reads the words of: all on PostgreSQL; on SQLite those longer
    than its prefix indexes (1–3 letters)."""
    return [p for p in prefixes if len(p) > 3 or not sqlite]


def expanded(store: Store, cs_pk: int, prefixes: list[str], sqlite: bool = True,
             words: dict[str, list[str]] | None = None) -> list[str]:
    """Full-text query terms for words beginning with each prefix (`words`: `begun`, if
    read). SQLite: `("w1" OR "w2")`, or `"p"*` for a prefix of more than PREFIX_WORDS words
    (or one its prefix index holds). PostgreSQL (`sqlite` False): `(w1 | w2)`, or `p:*` for
    more than PREFIX_WORDS words (a prefix entry GIN reads whole: search_bands)."""
    long = looked_up(prefixes, sqlite)
    if words is None or any(p not in words for p in long):
        words = begun(store, cs_pk, long)
    out = []
    for p in prefixes:
        found = words.get(p) if p in long else None
        if found and len(found) <= PREFIX_WORDS:
            out.append("(" + " OR ".join(f'"{w}"' for w in found) + ")" if sqlite else
                       "(" + " | ".join(found) + ")")
        else:
            out.append(f'"{p}"*' if sqlite else f"{p}:*")
    return out


def only_themselves(store: Store, cs_pk: int, qwords: list[str], prefixes: list[str],
                    words: dict[str, list[str]] | None = None) -> bool:
    """Whether each prefix is its query word and begins no other indexed word: texts matching
    the prefixes are then exactly those holding the whole words."""
    if prefixes != qwords or not prefixes:
        return False
    if words is None or any(p not in words for p in prefixes):
        words = begun(store, cs_pk, prefixes)
    return all(words[p][:2] == [p] for p in prefixes)


def frequencies(store: Store, cs_pk: int, qwords: list[str], prefix: bool) -> dict[str, int]:
    """Texts holding each word (prefix: the sum over the words it begins, an upper bound);
    words not indexed are left out."""
    with _LOCK:
        gen, cache = _FREQ.get(store, (-1, {}))
        if gen != store.generation:
            cache = {}
            _FREQ[store] = (store.generation, cache)
        known = {w: cache[(cs_pk, w, prefix)] for w in qwords if (cs_pk, w, prefix) in cache}
    missing = [w for w in qwords if w not in known]
    if missing:
        parts, params = [], []
        for w in missing:
            if prefix:
                parts.append(f"SELECT ?, SUM(df) FROM {vocab(cs_pk)} WHERE term >= ? AND "
                             "term < ?")
                params += [w, w, w + "\U0010ffff"]
            else:
                parts.append(f"SELECT ?, df FROM {vocab(cs_pk)} WHERE term = ?")
                params += [w, w]
        rows = _query(store, _m(store.dialect == "sqlite", " UNION ALL ".join(parts)),
                      tuple(params))
        read: dict[str, int | None] = dict.fromkeys(missing)
        read.update({str(w): None if n is None else int(n) for w, n in rows})
        known.update(read)
        with _LOCK:
            if len(cache) > FREQ_CACHE:
                cache.clear()
            cache.update({(cs_pk, w, prefix): n for w, n in read.items()})
    return {w: n for w, n in known.items() if n is not None}
