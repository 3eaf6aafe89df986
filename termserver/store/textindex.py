"""A full-text index over the displays and designations of stored code systems.

Candidate generation for mapping suggestions (mappings/textsearch.py): one document per active
concept holding its display and every designation (all languages), as text normalised by a
function the caller passes (so this layer needs no mappings import; the caller normalises the
query the same way, e.g. German ä → ae on both sides).

Tables live outside the versioned schema (schema.py / migrations.py) and are created lazily
and idempotently here, one set per code system version, so a rebuild is a DROP and a bulk
load:

- ``textindex_meta`` (cs_pk, fingerprint, docs, active, terms, built_at): what is built, for which
  content. The fingerprint is the code system's resource row (pk, meta.versionId,
  lastUpdated) and concept count, plus the normaliser's name and INDEX_FORMAT: every write
  that replaces or extends a code system (ingest, loinc-variant additions) changes it, and
  `build_text_index` then rebuilds. Index tables of code systems that no longer exist are
  dropped by the next build.
- ``textindex_vocab_<cs_pk>`` (term, df): document frequency of every token, for idf.
- ``textindex_doc_<cs_pk>``: SQLite FTS5 (code UNINDEXED, body; detail none), on PostgreSQL
  a table (id, code, body, tsv tsvector('simple') stored) with a GIN index. Either only
  finds the documents of a token; `search` scores them itself (idf of the matched words,
  ties to the shorter term), because FTS5's bm25 and ts_rank read every matching document
  and cost about 10 µs each: 200 ms for a word in a fifth of LOINC.
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Bump when the layout or the text that is indexed changes: every index then rebuilds.
INDEX_FORMAT = 2
#: Query tokens at least this long also match words they begin (minus the last two letters).
PREFIX_MIN = 7
#: A word found only through such a prefix counts this share of its idf.
PREFIX_WEIGHT = 0.8
#: A word in more than this share of a code system's documents (and more than FREQUENT_MIN)
#: is frequent: it only ranks the documents that hold a rarer word of the query.
FREQUENT_SHARE = 0.02
FREQUENT_MIN = 1_000
#: A word in more than this share (and more than COMMON_MIN) is left out, unless the query
#: has nothing else.
COMMON_SHARE = 0.25
COMMON_MIN = 1_000
_BATCH = 5_000
_TOKEN = re.compile(r"^[a-z0-9]+$")
_LOCKS: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()
_PG_LOCK = 0x7465787469  # pg_advisory_xact_lock key of index builds ("texti")

Normaliser = Callable[[str], str]


def _mark(store: Store, sql: str) -> str:
    return sql if store.engine.dialect.paramstyle == "qmark" else sql.replace("?", "%s")


def _doc(cs_pk: int) -> str:
    return f"textindex_doc_{int(cs_pk)}"


def _vocab(cs_pk: int) -> str:
    return f"textindex_vocab_{int(cs_pk)}"


def _lock(store: Store) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(store, threading.Lock())


def _ensure_meta(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS textindex_meta (cs_pk BIGINT PRIMARY KEY, "
        "fingerprint TEXT NOT NULL, docs INTEGER NOT NULL, active INTEGER NOT NULL, "
        "terms INTEGER NOT NULL, built_at VARCHAR(40) NOT NULL)")


def fingerprint(store: Store, cs_pk: int, normalise: Normaliser) -> str | None:
    """What the index of `cs_pk` must have been built from; None when `cs_pk` is not stored."""
    rows = store._hot_query(_mark(store, (
        "SELECT r.pk, r.version_id, r.last_updated, c.concept_count FROM code_system c "
        "JOIN resource r ON r.pk = c.resource_pk WHERE c.pk = ?")), (cs_pk,))
    if not rows:
        return None
    pk, version_id, updated, count = rows[0]
    name = f"{getattr(normalise, '__module__', '')}.{getattr(normalise, '__qualname__', '')}"
    return f"{INDEX_FORMAT}|{pk}|{version_id}|{updated}|{count}|{name}"


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """A built index: its fingerprint, documents (concepts), how many of them are active
    (ids 1..active; inactive concepts follow) and distinct terms."""

    fingerprint: str
    docs: int
    active: int
    terms: int


def index_info(store: Store, cs_pk: int) -> IndexInfo | None:
    """What the built index of `cs_pk` holds, or None when it has none."""
    try:
        rows = store._hot_query(_mark(store, (
            "SELECT fingerprint, docs, active, terms FROM textindex_meta WHERE cs_pk = ?")),
            (cs_pk,))
    except Exception as exc:  # no index was ever built in this database
        if "textindex_meta" not in str(exc):
            raise
        return None
    if not rows:
        return None
    fp, docs, active, terms = rows[0]
    return IndexInfo(str(fp), int(docs), int(active), int(terms))


def is_current(store: Store, cs_pk: int, normalise: Normaliser) -> bool:
    """True when the index of `cs_pk` exists and matches the stored content."""
    info = index_info(store, cs_pk)
    return info is not None and info.fingerprint == fingerprint(store, cs_pk, normalise)


def build_text_index(store: Store, cs_pk: int, normalise: Normaliser) -> bool:
    """Build (or rebuild) the text index of code system `cs_pk`; idempotent: does nothing and
    returns False when the index already matches the stored content, else True. One
    transaction; builders in other processes wait for it (SQLite: up to its busy timeout;
    PostgreSQL readers of the code system being rebuilt wait too)."""
    with _lock(store):
        wanted = fingerprint(store, cs_pk, normalise)
        if wanted is None:
            raise LookupError(f"no stored code system with pk {cs_pk}")
        info = index_info(store, cs_pk)
        if info is not None and info.fingerprint == wanted:
            return False
        with store.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # one builder at a time, tables included
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
            _ensure_meta(conn)  # a write first: SQLite holds the write lock from here on
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            if conn.exec_driver_sql(  # another process may have built it meanwhile
                    f"SELECT fingerprint FROM textindex_meta WHERE cs_pk = {mark}",
                    (cs_pk,)).scalar() == wanted:
                return False
            _drop_orphans(conn)
            _drop(conn, cs_pk)
            docs, active, terms = _fill(conn, cs_pk, normalise)
            conn.exec_driver_sql(_mark(store, (
                "INSERT INTO textindex_meta (cs_pk, fingerprint, docs, active, terms, built_at) "
                "VALUES (?, ?, ?, ?, ?, ?)")),
                (cs_pk, wanted, docs, active, terms,
                 datetime.now(UTC).isoformat(timespec="seconds")))
        return True


def _drop(conn: Connection, cs_pk: int) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_doc(cs_pk)}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_vocab(cs_pk)}")
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(f"DELETE FROM textindex_meta WHERE cs_pk = {mark}", (cs_pk,))


def _drop_orphans(conn: Connection) -> None:
    """Drop the index tables of code systems that are no longer stored."""
    _ensure_meta(conn)
    gone = conn.exec_driver_sql(
        "SELECT cs_pk FROM textindex_meta WHERE cs_pk NOT IN (SELECT pk FROM code_system)"
    ).all()
    for (pk,) in gone:
        _drop(conn, int(pk))


def _texts(conn: Connection, cs_pk: int) -> Iterator[tuple[str, bool, list[str]]]:
    """(code, inactive, [display, designation values…]) of every concept, streamed."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"SELECT code, display, 0, CASE WHEN inactive THEN 1 ELSE 0 END FROM concept "
           f"WHERE cs_pk = {mark} UNION ALL SELECT code, value, 1, 0 FROM designation "
           f"WHERE cs_pk = {mark} ORDER BY 1, 3")
    result = conn.exec_driver_sql(sql, (cs_pk, cs_pk), execution_options={
        "stream_results": True, "yield_per": _BATCH})
    code: str | None = None
    texts: list[str] = []
    known = inactive = False
    for row_code, text, kind, flag in result:
        if row_code != code:
            if code is not None and known:
                yield code, inactive, texts
            code, texts, known, inactive = row_code, [], False, False
        if kind == 0:
            known, inactive = True, bool(flag)
            texts.append(text or row_code)
        elif text:
            texts.append(text)
    if code is not None and known:
        yield code, inactive, texts


def _fill(conn: Connection, cs_pk: int, normalise: Normaliser) -> tuple[int, int, int]:
    """Create and fill the document and vocabulary tables; (documents, active ones, terms).
    Documents are numbered (rowid / id) active concepts first, then by the number of words
    of the display and of the document, shortest first: search keeps to the active ones by
    id and breaks ties by it (a shorter term) without reading the documents."""
    sqlite = conn.dialect.name == "sqlite"
    doc, vocab = _doc(cs_pk), _vocab(cs_pk)
    mark = "?" if sqlite else "%s"
    if sqlite:
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {doc} USING fts5(code UNINDEXED, body, "
            "tokenize = 'unicode61 remove_diacritics 2', detail = 'none')")
        insert = f"INSERT INTO {doc} (rowid, code, body) VALUES (?, ?, ?)"
    else:
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {doc} (id INTEGER PRIMARY KEY, code TEXT NOT NULL, "
            "body TEXT NOT NULL, "
            "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED)")
        insert = f"INSERT INTO {doc} (id, code, body) VALUES (%s, %s, %s)"
    collate = "" if sqlite else ' COLLATE "C"'  # prefix ranges in byte order
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {vocab} "
                         f"(term TEXT{collate} PRIMARY KEY, df INTEGER NOT NULL)")
    df: Counter[str] = Counter()
    docs: list[tuple[bool, int, int, str, str]] = []
    for code, inactive, texts in _texts(conn, cs_pk):
        norms = [normalise(t) for t in texts]
        body = " ".join(dict.fromkeys(n for n in norms if n))
        words = body.split()
        df.update(set(words))
        docs.append((inactive, len(norms[0].split()), len(words), code, body))
    docs.sort()
    for start in range(0, len(docs), _BATCH):
        conn.exec_driver_sql(insert, [(start + i + 1, d[3], d[4])
                                      for i, d in enumerate(docs[start:start + _BATCH])])
    if not sqlite:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {doc}_tsv ON {doc} USING gin (tsv)")
        conn.exec_driver_sql(f"ANALYZE {doc}")
    rows = list(df.items())
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(f"INSERT INTO {vocab} (term, df) VALUES ({mark}, {mark})",
                             rows[start:start + _BATCH])
    return len(docs), sum(1 for d in docs if not d[0]), len(rows)


def vocabulary(store: Store, cs_pk: int) -> dict[str, int]:
    """Every indexed token of `cs_pk` with its document frequency ({} when not built)."""
    if index_info(store, cs_pk) is None:
        return {}
    return {str(t): int(n) for t, n in store._hot_query(
        f"SELECT term, df FROM {_vocab(cs_pk)}", ())}


#: Query words: a token, or alternatives for one word, each a token or (token, weight 0..1).
Query = Sequence[str | Sequence[str | tuple[str, float]]]


def _groups(query_tokens: Query) -> list[dict[str, float]]:
    groups: list[dict[str, float]] = []
    for item in query_tokens:
        alts: dict[str, float] = {}
        for alt in ([item] if isinstance(item, str) else item):
            token, weight = (alt, 1.0) if isinstance(alt, str) else alt
            if _TOKEN.match(token) and weight > alts.get(token, 0.0):
                alts[token] = min(float(weight), 1.0)
        if alts:
            groups.append(alts)
    return groups


def search(store: Store, cs_pks: Sequence[int], query_tokens: Query, limit: int = 200, *,
           active_only: bool = True) -> list[tuple[int, str, float]]:
    """The best `limit` concepts of each code system for `query_tokens` (normalised like the
    index; an item may be a group of alternative spellings of one word, e.g. an abbreviation
    and its expansions, each optionally weighted), as (cs_pk, code, rank), best first.
    `active_only`: leave inactive concepts out.

    The full-text index finds the documents of each spelling (one of PREFIX_MIN letters or
    more also matches words beginning like it minus its last two letters, at PREFIX_WEIGHT);
    the rank is the sum over the query's words of the best weighted idf, log(1 + N /
    matches), of a spelling the document holds, plus less than 0.01 for a shorter term.
    Frequent words (FREQUENT_SHARE) only add to documents holding a rarer word (a query of
    frequent words only reads the `limit` shortest terms of its least frequent one), very
    common ones (COMMON_SHARE) are left out: the cost follows the rare words. Ranks of several
    code systems are comparable (idf sums). Code systems without a built index are skipped."""
    groups = _groups(query_tokens)
    found: list[tuple[int, str, float]] = []
    if not groups or limit <= 0:
        return found
    for cs_pk in cs_pks:
        info = index_info(store, cs_pk)
        if info is not None and info.docs > 0:
            found.extend(_search_one(store, cs_pk, info, groups, limit, active_only))
    found.sort(key=lambda r: -r[2])
    return found


def _search_one(store: Store, cs_pk: int, info: IndexInfo, groups: list[dict[str, float]],
                limit: int, active_only: bool) -> list[tuple[int, str, float]]:
    docs = info.docs
    last = info.active if active_only else docs
    if last <= 0:
        return []
    tokens = list(dict.fromkeys(t for g in groups for t in g))
    stems = list(dict.fromkeys(s for t in tokens if (s := _prefix(t))))
    df = _frequencies(store, cs_pk, tokens, stems)
    frequent = max(FREQUENT_MIN, FREQUENT_SHARE * docs)
    common = max(COMMON_MIN, COMMON_SHARE * docs)
    # probes: (group, match expression) → (weight, document frequency, at most)
    probes: dict[tuple[int, str], tuple[float, int]] = {}
    for g, alts in enumerate(groups):
        for t, w in alts.items():
            if df.get(t, 0) > 0:
                probes[g, _term(store, t)] = (w, df[t])
            stem = _prefix(t)
            n = df.get(f"{stem}*", 0) if stem else 0
            key = (g, _term(store, stem, True)) if stem else None
            if key and n > df.get(t, 0) and w * PREFIX_WEIGHT > probes.get(key, (0.0, 0))[0]:
                probes[key] = (w * PREFIX_WEIGHT, n)
    rare = [(g, e, w) for (g, e), (w, n) in probes.items() if n <= frequent]
    often = [(g, e, w, n) for (g, e), (w, n) in probes.items() if frequent < n <= common]
    cap: int | None = None
    if not rare and probes:  # only frequent words: the shortest terms of the least frequent
        (g, e), (w, n) = min(probes.items(), key=lambda p: p[1][1])
        often, cap = [(g, e, w, n)], limit
    best: dict[int, np.ndarray] = {}  # group → best weighted idf per document id

    def add(g: int, ids: np.ndarray, value: float) -> None:
        row = best.get(g)
        if row is None:
            row = best[g] = np.zeros(docs + 1, dtype=np.float32)
        row[ids] = np.maximum(row[ids], np.float32(value))

    for g, expr, weight in rare:
        ids = _matches(store, cs_pk, expr, last)
        if ids.size:
            add(g, ids, weight * math.log(1 + docs / ids.size))
    any_rare = _or(store, sorted({e for _, e, _ in rare})) if rare else None
    if any_rare is None or best:
        for g, expr, weight, n in often:  # a frequent word only ranks the rare ones' hits
            ids = _matches(store, cs_pk,
                           expr if any_rare is None else _and(store, expr, any_rare), last,
                           cap)
            if ids.size:
                add(g, ids, weight * math.log(1 + docs / max(n, ids.size)))
    if not best:
        return []
    total = np.sum(list(best.values()), axis=0)
    hit = np.flatnonzero(total)
    if not hit.size:
        return []
    score = total[hit] + np.float32(0.01) * (1 - hit.astype(np.float32) / (docs + 1))
    if hit.size > limit:
        top = np.argpartition(-score, limit - 1)[:limit]
        hit, score = hit[top], score[top]
    codes = _codes(store, cs_pk, hit.tolist())
    return [(cs_pk, codes[i], float(s)) for i, s in zip(hit.tolist(), score.tolist(), strict=True)
            if i in codes]


def _term(store: Store, token: str, prefix: bool = False) -> str:
    if store.dialect == "sqlite":
        return f'"{token}"*' if prefix else f'"{token}"'
    return f"{token}:*" if prefix else token


def _or(store: Store, exprs: list[str]) -> str:
    return "(" + (" OR " if store.dialect == "sqlite" else " | ").join(exprs) + ")"


def _and(store: Store, a: str, b: str) -> str:
    return f"{a} AND {b}" if store.dialect == "sqlite" else f"{a} & {b}"


def _frequencies(store: Store, cs_pk: int, tokens: list[str], stems: list[str]
                 ) -> dict[str, int]:
    """Document frequency of each token, and for each stem ("stem*") the sum over the
    words it begins (an upper bound of its documents), in one query."""
    parts: list[str] = []
    params: list[str] = []
    if tokens:
        parts.append(f"SELECT term, df FROM {_vocab(cs_pk)} "
                     f"WHERE term IN ({', '.join('?' * len(tokens))})")
        params += tokens
    for stem in stems:
        parts.append(f"SELECT ?, SUM(df) FROM {_vocab(cs_pk)} WHERE term >= ? AND term < ?")
        params += [stem + "*", stem, stem + "{"]  # "{" sorts after every [a-z0-9]
    if not parts:
        return {}
    rows = store._hot_query(_mark(store, " UNION ALL ".join(parts)), tuple(params))
    return {str(t): int(n) for t, n in rows if n is not None}


def _prefix(token: str) -> str | None:
    return token[:max(5, len(token) - 2)] if len(token) >= PREFIX_MIN else None


def _matches(store: Store, cs_pk: int, expr: str, last: int, cap: int | None = None
             ) -> np.ndarray:
    """Ids (at most `last`) of the documents matching the full-text query `expr`; with
    `cap`, only the `cap` lowest ids (the shortest terms)."""
    key = "rowid" if store.dialect == "sqlite" else "id"
    match = f"{_doc(cs_pk)} MATCH ?" if store.dialect == "sqlite" else \
        "tsv @@ to_tsquery('simple', ?)"
    sql = f"SELECT {key} FROM {_doc(cs_pk)} WHERE {match} AND {key} <= ?"
    params: tuple[str | int, ...] = (expr, last)
    if cap is not None:
        sql += f" ORDER BY {key} LIMIT ?"
        params += (cap,)
    rows = store._hot_query(_mark(store, sql), params)
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def _codes(store: Store, cs_pk: int, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    key = "rowid" if store.dialect == "sqlite" else "id"
    marks = ", ".join("?" * len(ids))
    rows = store._hot_query(_mark(store, f"SELECT {key}, code FROM {_doc(cs_pk)} "
                                         f"WHERE {key} IN ({marks})"), tuple(ids))
    return {int(i): str(c) for i, c in rows}


def term_texts(store: Store, cs_pk: int, codes: Sequence[str],
               properties: Sequence[str] | None = None
               ) -> dict[str, tuple[str, list[tuple[str, str]], dict[str, str]]]:
    """code → (display, [(text, label)], {property: value}) for `codes` in one query. Texts
    are the display (label "display") then each designation (label "<language> <use code>");
    properties are limited to `properties` when given (first value of each)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    marks = ", ".join("?" * len(codes))
    # properties are filtered here, not in SQL: a planner with stale statistics would
    # otherwise read a property's rows of the whole code system (ix_property_value)
    wanted = None if properties is None else frozenset(properties)
    sql = _mark(store, (
        f"SELECT 0, code, display, NULL, NULL FROM concept WHERE cs_pk = ? AND code IN ({marks}) "
        f"UNION ALL SELECT 1, code, value, language, use_code FROM designation "
        f"WHERE cs_pk = ? AND code IN ({marks}) "
        f"UNION ALL SELECT 2, code, property, value, NULL FROM concept_property "
        f"WHERE cs_pk = ? AND code IN ({marks})"))
    rows = store._hot_query(sql, (cs_pk, *codes, cs_pk, *codes, cs_pk, *codes))
    displays: dict[str, str] = {}
    texts: dict[str, list[tuple[str, str]]] = {}
    props: dict[str, dict[str, str]] = {}
    for kind, code, a, b, c in rows:
        if kind == 0:
            displays[code] = a or code
        elif kind == 1:
            label = " ".join(x for x in (b, c) if x) or "designation"
            texts.setdefault(code, []).append((a, label))
        elif wanted is None or a in wanted:
            props.setdefault(code, {}).setdefault(a, "" if b is None else str(b))
    return {code: (display, [(display, "display"), *texts.get(code, [])], props.get(code, {}))
            for code in codes if (display := displays.get(code)) is not None}
