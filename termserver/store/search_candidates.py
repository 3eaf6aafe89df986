"""Weighted candidate retrieval for mapping suggestions over the ranked text index of
`$expand` (termserver.store.search): the same tables, read only, no index of its own.

The caller (mappings.textsearch) folds its query words like the index (termserver.textfold)
and passes them as groups of weighted alternatives (one group per word of the local name: the
word, its abbreviation expansions and other spellings). `candidates` reads the ids of the
texts holding each alternative from the full-text index (SQLite FTS5, PostgreSQL tsvector; all
in one query), scores each text by the sum over the groups of the best weighted idf,
log(1 + texts / df), of an alternative it holds, and returns the concepts of the best texts
(ties: the index's own rank: active, common, shorter). Frequent words (FREQUENT_SHARE of the
texts) only add to texts that also hold a rarer word of the query, very common ones
(COMMON_SHARE) are left out: the cost follows the rare words. `frequencies` and `near_words`
read the index's word table (term, df) by key or by range. Nothing is cached here but the
number of active texts per index stamp; callers key their caches by `IndexState.stamp`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.exc import IntegrityError

from termserver.errors import TerminologyError
from termserver.store import inlist, search
from termserver.store.search import _fts, _term, format_of
from termserver.store.search_vocab import vocab as _vocab

if TYPE_CHECKING:
    from termserver.store.read import Store

#: A word in more than this share of the texts (and more than FREQUENT_MIN) only ranks texts
#: that hold a rarer word of the query.
FREQUENT_SHARE = 0.02
FREQUENT_MIN = 1_000
#: A word in more than this share (and more than COMMON_MIN) is left out unless the query
#: has nothing else.
COMMON_SHARE = 0.25
COMMON_MIN = 1_000
#: Texts read at most to find `limit` allowed concepts.
TEXTS_MAX = 50_000
#: Words read at most per `near_words` range.
NEAR_MAX = 3_000
_WORD = re.compile(r"^[a-z0-9]+$")
_CHUNK = 500  # parameters per IN (...) list


class IndexNotReady(TerminologyError):
    """The text index of a code system is missing or being (re)built: a transient state,
    answered 503 so clients retry instead of waiting."""

    issue_type = "transient"
    http_status = 503

    def __init__(self, system: str, *, detail: str = "") -> None:
        super().__init__(
            f"the text index of {system} is being built (after a load, an upgrade or "
            "`termserver reindex`); suggestions and target search are available once it is "
            f"ready{': ' + detail if detail else ''}")
        self.system = system


@dataclass(frozen=True, slots=True)
class IndexState:
    """A built index: its number of texts, how many of them are of active concepts (ids
    1..active: the index numbers them first) and a stamp that changes with every rebuild."""

    cs_pk: int
    texts: int
    active: int
    stamp: tuple[Any, ...]


def _m(store: Store, sql: str) -> str:
    return sql if store.dialect == "sqlite" else sql.replace("?", "%s")


def state(store: Store, cs_pk: int) -> IndexState | None:
    """The current index of `cs_pk`, or None when it has none of the current format (missing, being
    built, or left by an older version)."""
    try:
        rows = store._hot_query(_m(store, "SELECT format, terms, built_at FROM search_meta "
                                          "WHERE cs_pk = ?"), (cs_pk,))
    except Exception as exc:  # no index was ever built in this database
        if "search_meta" not in str(exc):
            raise
        return None
    fmt = format_of(store.dialect)
    if not rows or int(rows[0][0]) != fmt:
        return None
    texts = int(rows[0][1])
    stamp = (cs_pk, fmt, texts, str(rows[0][2]))
    active = _ACTIVE.get(stamp)
    if active is None:
        active = _ACTIVE[stamp] = _active(store, cs_pk, texts)
    return IndexState(cs_pk, texts, active, stamp)


_ACTIVE: dict[tuple[Any, ...], int] = {}


def _stamp_text(index: IndexState) -> str:
    return "|".join(str(part) for part in index.stamp)[:200]


def derived(store: Store, index: IndexState, name: str) -> str | None:
    """What a reader derived from this index and kept under `name` (keep_derived), or None
    when nothing is kept for the index as it is now (rebuilt since, or never kept)."""
    try:
        rows = store._hot_query(_m(store, "SELECT stamp, data FROM search_derived WHERE "
                                          "cs_pk = ? AND name = ?"), (index.cs_pk, name))
    except Exception as exc:  # an index built before derived values were kept
        if "search_derived" not in str(exc):
            raise
        return None
    if not rows or str(rows[0][0]) != _stamp_text(index):
        return None
    return str(rows[0][1])


def keep_derived(store: Store, index: IndexState, name: str, data: str) -> None:
    """Keep `data` derived from this index under `name`, for every process (replacing what
    was kept for an older build); a concurrent keeper's row wins."""
    try:
        with store.engine.begin() as conn:
            search.ensure_derived(conn)
            conn.exec_driver_sql(_m(store, "DELETE FROM search_derived WHERE cs_pk = ? AND "
                                           "name = ?"), (index.cs_pk, name))
            conn.exec_driver_sql(_m(store, "INSERT INTO search_derived (cs_pk, name, stamp, "
                                           "data) VALUES (?, ?, ?, ?)"),
                                 (index.cs_pk, name, _stamp_text(index), data))
    except IntegrityError:  # another process kept it at the same moment
        pass


def _active(store: Store, cs_pk: int, texts: int) -> int:
    """How many texts are of active concepts: a binary search over the ids (active first)."""
    lo, hi = 0, texts  # ids 1..lo are active, ids above hi are not
    sql = _m(store, f"SELECT inactive FROM {_term(cs_pk)} WHERE id = ?")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        rows = store._hot_query(sql, (mid,))
        if rows and not int(rows[0][0]):
            lo = mid
        else:
            hi = mid - 1
    return lo


def frequencies(store: Store, cs_pk: int, words: Sequence[str]) -> dict[str, int]:
    """Texts holding each of `words` (index words); words not in the index are left out."""
    wanted = list(dict.fromkeys(w for w in words if _WORD.match(w)))
    out: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        part = wanted[start:start + _CHUNK]
        rows = store._hot_query(_m(store, (
            f"SELECT term, df FROM {_vocab(cs_pk)} WHERE term IN ({', '.join('?' * len(part))})"
        )), tuple(part))
        out.update((str(t), int(n)) for t, n in rows)
    return out


def near_words(store: Store, cs_pk: int, heads: Sequence[tuple[str, int, int]]
               ) -> list[list[tuple[str, int]]]:
    """For each (head, shortest, longest): the index words beginning with `head` whose length
    is in that range, with their text counts (at most NEAR_MAX each), in one query."""
    parts: list[str] = []
    params: list[Any] = []
    for i, (head, lo, hi) in enumerate(heads):
        if not _WORD.match(head):
            continue
        parts.append(f"SELECT * FROM (SELECT {i} AS h, term, df FROM {_vocab(cs_pk)} "
                     f"WHERE term >= ? AND term < ? AND LENGTH(term) BETWEEN ? AND ? "
                     f"LIMIT {NEAR_MAX}) q{i}")
        params += [head, head + "{", int(lo), int(hi)]  # "{" sorts after every [a-z0-9]
    out: list[list[tuple[str, int]]] = [[] for _ in heads]
    if parts:
        for i, term, df in store._hot_query(_m(store, " UNION ALL ".join(parts)),
                                            tuple(params)):
            out[int(i)].append((str(term), int(df)))
    return out


def _match(store: Store, words: Sequence[str]) -> str:
    """A full-text expression matching any of `words`."""
    if store.dialect == "sqlite":
        return " OR ".join(f'"{w}"' for w in words)
    return " | ".join(words)


def _and(store: Store, a: str, b: str) -> str:
    return f"({a}) AND ({b})" if store.dialect == "sqlite" else f"({a}) & ({b})"


def _select(store: Store, cs_pk: int, probe: int) -> str:
    """Ids (at most a parameter) of the texts matching a full-text expression parameter."""
    if store.dialect == "sqlite":
        fts = _fts(cs_pk)
        return f"SELECT {int(probe)} AS p, rowid FROM {fts} WHERE {fts} MATCH ? AND rowid <= ?"
    return (f"SELECT {int(probe)} AS p, id FROM {_term(cs_pk)} "
            "WHERE tsv @@ to_tsquery('simple', ?) AND id <= ?")


Groups = Sequence[Mapping[str, float]]


def candidates(store: Store, index: IndexState, groups: Groups, limit: int, *,
               active_only: bool = True, allowed: Callable[[str], bool] | None = None,
               df: Mapping[str, int] | None = None) -> list[tuple[str, float]]:
    """The best `limit` concepts (code, score) for `groups` (index word → weight 0..1 per word
    of the query), best first; `allowed(code)` keeps a concept in (e.g. a ValueSet scope);
    `df`: the words' text counts when the caller has them (else read). A text scores the sum
    over the groups of the best weighted idf of a word it holds, a concept its best text;
    ties go to the text the index ranks first (active, common, shorter)."""
    groups = [{w: min(float(x), 1.0) for w, x in g.items() if _WORD.match(w) and x > 0}
              for g in groups]
    groups = [g for g in groups if g]
    if not groups or limit <= 0 or index.texts <= 0:
        return []
    words = list(dict.fromkeys(w for g in groups for w in g))
    counts = dict(df) if df is not None else frequencies(store, index.cs_pk, words)
    n_texts = index.texts
    last = index.active if active_only else n_texts
    frequent = max(FREQUENT_MIN, FREQUENT_SHARE * n_texts)
    common = max(COMMON_MIN, COMMON_SHARE * n_texts)
    rare: list[tuple[int, str, float]] = []  # (group, word, weighted idf)
    often: list[tuple[int, str, float, int]] = []
    for g, alts in enumerate(groups):
        for w, weight in alts.items():
            n = counts.get(w, 0)
            if n <= 0:
                continue
            idf = weight * math.log(1 + n_texts / n)
            if n <= frequent:
                rare.append((g, w, idf))
            elif n <= common:
                often.append((g, w, idf, n))
    cap: int | None = None
    if not rare:  # only frequent words: the best-ranked texts of the least frequent one
        every = [(g, w, weight * math.log(1 + n_texts / counts[w]), counts[w])
                 for g, alts in enumerate(groups) for w, weight in alts.items()
                 if counts.get(w, 0) > 0]
        if not every:
            return []
        often, cap = [min(every, key=lambda x: x[3])], max(limit * 20, 1_000)
    arms: list[str] = []
    params: list[Any] = []
    probes: list[tuple[int, float]] = []
    for g, w, idf in rare:
        arms.append(_select(store, index.cs_pk, len(probes)))
        params += [_match(store, [w]), last]
        probes.append((g, idf))
    any_rare = _match(store, sorted({w for _, w, _ in rare})) if rare else None
    for g, w, idf, _ in often:
        sql = _select(store, index.cs_pk, len(probes))
        arms.append(sql if cap is None else
                    f"SELECT * FROM ({sql} ORDER BY 2 LIMIT {cap}) o{len(probes)}")
        params += [_match(store, [w]) if any_rare is None else
                   _and(store, _match(store, [w]), any_rare), last]
        probes.append((g, idf))
    rows = store._hot_query(_m(store, " UNION ALL ".join(arms)), tuple(params))
    if not rows:
        return []
    hits = np.array(rows, dtype=np.int64)
    group_of = np.array([g for g, _ in probes], dtype=np.int64)[hits[:, 0]]
    value = np.array([v for _, v in probes], dtype=np.float32)[hits[:, 0]]
    ids = hits[:, 1]
    total = np.zeros(last + 1, dtype=np.float32)
    for g in np.unique(group_of).tolist():
        best = np.zeros(last + 1, dtype=np.float32)
        mask = group_of == g
        np.maximum.at(best, ids[mask], value[mask])
        total += best
    hit = np.flatnonzero(total)
    score = total[hit] + np.float32(0.01) * (1 - hit.astype(np.float32) / (n_texts + 1))
    order = hit[np.argsort(-score, kind="stable")]
    return _concepts(store, index.cs_pk, order, total, n_texts, limit, allowed)


def _concepts(store: Store, cs_pk: int, order: np.ndarray, total: np.ndarray, n_texts: int,
              limit: int, allowed: Callable[[str], bool] | None) -> list[tuple[str, float]]:
    """The first `limit` allowed concepts of the texts `order` (best first), in chunks."""
    out: dict[str, float] = {}
    start, chunk = 0, max(4 * limit, 200)
    while len(out) < limit and start < len(order) and start < TEXTS_MAX:
        part = order[start:start + chunk].tolist()
        start += chunk
        chunk = min(chunk * 4, 5_000)
        codes = dict(store._hot_query(_m(store, (
            f"SELECT id, code FROM {_term(cs_pk)} WHERE id IN ({', '.join('?' * len(part))})"
        )), tuple(part)))
        for i in part:
            code = codes.get(i)
            if code is None or code in out or (allowed is not None and not allowed(str(code))):
                continue
            out[str(code)] = float(total[i]) + 0.01 * (1 - i / (n_texts + 1))
            if len(out) >= limit:
                break
    return sorted(out.items(), key=lambda r: -r[1])


def term_texts(store: Store, cs_pk: int, codes: Sequence[str],
               properties: Sequence[str] | None = None
               ) -> dict[str, tuple[str, list[tuple[str, str]], dict[str, str]]]:
    """code → (display, [(text, label)], {property: value}) for `codes` in one query. Texts
    are the display (label "display") then each designation (label "<language> <use code>");
    properties are limited to `properties` when given (first value of each)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    keys = inlist.padded(codes)  # few statement texts, whatever the number of codes
    marks = inlist.marks(len(keys))
    # properties are filtered here, not in SQL: a planner with stale statistics would
    # otherwise read a property's rows of the whole code system (ix_property_value)
    wanted = None if properties is None else frozenset(properties)
    sql = _m(store, (
        f"SELECT 0, code, display, NULL, NULL FROM concept WHERE cs_pk = ? AND code IN ({marks}) "
        f"UNION ALL SELECT 1, code, value, language, use_code FROM designation "
        f"WHERE cs_pk = ? AND code IN ({marks}) "
        f"UNION ALL SELECT 2, code, property, value, NULL FROM concept_property "
        f"WHERE cs_pk = ? AND code IN ({marks})"))
    rows = store._hot_query(sql, (cs_pk, *keys, cs_pk, *keys, cs_pk, *keys))
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


def active_codes(store: Store, cs_pk: int, having: tuple[str, str] | None = None
                 ) -> list[str]:
    """Codes of the active, selectable concepts of `cs_pk`, in the code system's order; with
    `having` (property, value) only those with that property value."""
    sql = "SELECT c.code FROM concept c"
    params: tuple[object, ...] = (cs_pk,)
    if having is not None:
        sql += (" JOIN concept_property p ON p.cs_pk = c.cs_pk AND p.code = c.code "
                "AND p.property = ? AND p.value = ?")
        params = (*having, cs_pk)
    sql += " WHERE c.cs_pk = ? AND NOT c.inactive AND NOT c.abstract ORDER BY c.seq"
    return [str(row[0]) for row in store._hot_query(_m(store, sql), params)]


#: Designation uses of LOINC's linguistic variants that name a term as a whole, and their
#: related names (short forms and synonyms).
VARIANT_USES = ("LONG_COMMON_NAME", "LinguisticVariantDisplayName", "RELATEDNAMES2")
#: The LOINC axes (properties) read with them.
AXIS_PROPERTIES = ("COMPONENT", "PROPERTY", "TIME_ASPCT", "SYSTEM", "SCALE_TYP", "METHOD_TYP")


def variant_names(store: Store, cs_pk: int
                  ) -> list[tuple[str, list[tuple[str, str]], dict[str, str]]]:
    """(display, [(German name, "<language> <use code>")], {axis: value}) of every concept of
    `cs_pk` with a German designation of a LOINC linguistic variant (VARIANT_USES), in two
    queries: what mappings.lexicon learns its German → English words from."""
    uses = ", ".join("?" * len(VARIANT_USES))
    rows = store._hot_query(_m(store, (
        "SELECT c.code, c.display, d.value, d.language, d.use_code FROM designation d "
        "JOIN concept c ON c.cs_pk = d.cs_pk AND c.code = d.code "
        f"WHERE d.cs_pk = ? AND d.language LIKE ? AND d.use_code IN ({uses})")),
        (cs_pk, "de%", *VARIANT_USES))
    names: dict[str, tuple[str, list[tuple[str, str]], dict[str, str]]] = {}
    for code, display, value, language, use in rows:
        entry = names.setdefault(code, (display or code, [], {}))
        entry[1].append((value, f"{language} {use}"))
    axes = ", ".join("?" * len(AXIS_PROPERTIES))
    for code, prop, value in store._hot_query(_m(store, (
            "SELECT code, property, value FROM concept_property "
            f"WHERE cs_pk = ? AND property IN ({axes}) AND code IN (SELECT code FROM designation "
            f"WHERE cs_pk = ? AND language LIKE ? AND use_code IN ({uses}))")),
            (cs_pk, *AXIS_PROPERTIES, cs_pk, "de%", *VARIANT_USES)):
        if code in names and value is not None:
            names[code][2].setdefault(prop, str(value))
    return list(names.values())
