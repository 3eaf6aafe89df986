"""PostgreSQL: the texts of a clause of the kept bitsets (termserver.store.search_bitsets),
read without a scan of the text table.

The text table's rows hold their tsvectors (about 1 GB for the benchmark's 1.5 million
texts), so the texts of a frequent word, read through GIN, cost a sequential scan of it
(about 0.5 s). The index build therefore also stores ``search_bits_<cs_pk>`` (term, data):
the texts of each word in BITS_DF texts or more, as a bitset or as sorted ids, whichever is
smaller, computed by PostgreSQL's own parser (the lexemes GIN holds). A word in fewer texts
is read through GIN (a few thousand rows at most). The texts below a concept (an ancestor
token) are read through the closure table and the texts' code index, not the token's
posting list.

A clause is named as search_bitsets keys it: ``w:`` and the words it holds any of, joined
by ``|`` (a whole word, or the words a prefix begins), or ``a:`` and the concept's code.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine

logger = logging.getLogger(__name__)

#: Words in at least this many texts get their texts stored by the index build.
BITS_DF = 2_000
#: Texts a word clause reads through GIN, at most (else it has no bitset).
GIN_MAX = 20_000
#: Words of one clause, at most (a prefix's words: search_vocab.PREFIX_WORDS).
WORDS_MAX = 16

Flags = npt.NDArray[np.bool_]


def table(cs_pk: int) -> str:
    return f"search_bits_{int(cs_pk)}"


def drop(conn: Connection, cs_pk: int) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table(cs_pk)}")


def build(conn: Connection, cs_pk: int, texts: int) -> int:
    """Store the texts of every word in BITS_DF texts or more of the index `cs_pk` (just
    filled, ids 1..`texts`); returns the words stored. One pass over the texts."""
    name = table(cs_pk)
    term = f"search_term_{int(cs_pk)}"
    conn.exec_driver_sql(f'CREATE TABLE {name} (term TEXT COLLATE "C" PRIMARY KEY, '
                         "df INTEGER NOT NULL, ids BOOLEAN NOT NULL, data BYTEA NOT NULL)")
    rows = conn.exec_driver_sql(
        f"SELECT w, string_agg(t.id::text, ',') FROM {term} t, "
        "unnest(tsvector_to_array(to_tsvector('simple', t.norm))) w WHERE w IN "
        f"(SELECT term FROM search_vocab_{int(cs_pk)} WHERE df >= %s) GROUP BY w",
        (BITS_DF,), execution_options={"stream_results": True, "yield_per": 16})
    stored = 0
    insert = f"INSERT INTO {name} (term, df, ids, data) VALUES (%s, %s, %s, %s)"
    for word, joined in rows:
        found = np.unique(np.fromstring(joined, dtype=np.int64, sep=","))
        packed = np.packbits(flags(found, texts), bitorder="little").tobytes()
        as_ids = found.astype("<u4").tobytes()
        small = len(as_ids) < len(packed)
        conn.exec_driver_sql(insert, (word, len(found), small, as_ids if small else packed))
        stored += 1
    return stored


def settle(engine: Engine, pks: list[int]) -> None:
    """PostgreSQL, after the commit that built the text indexes of `pks`: VACUUM their text
    tables, so the visibility map lets the code index answer a subtree's texts without the
    tables' rows (index-only) from the start, not once autovacuum has come by. A failure (the
    table replaced meanwhile) is only logged."""
    if engine.dialect.name == "sqlite" or not pks:
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for pk in pks:
                conn.exec_driver_sql(f"VACUUM search_term_{int(pk)}")
    except Exception:  # noqa: BLE001 - an optimisation: the reads stay correct without it
        logger.warning("VACUUM of the new text tables failed", exc_info=True)


def flags(ids: npt.NDArray[np.int64], texts: int) -> Flags:
    """One flag per text id 0..`texts` (rounded up to whole words of 64 bits)."""
    return mark(np.zeros(-(-(texts + 1) // 64) * 64, dtype=bool), ids, texts)


def mark(out: Flags, ids: npt.NDArray[np.int64], texts: int) -> Flags:
    """`out` with the flags of `ids` set (ids outside 0..`texts` left out); returns `out`."""
    out[ids[(ids >= 0) & (ids <= texts)]] = True
    return out


def ids(joined: str | None) -> npt.NDArray[np.int64]:
    """The ids of a comma-separated text (parsed in C, not as a Python object per id)."""
    return np.fromstring(joined, dtype=np.int64, sep=",") if joined else \
        np.zeros(0, dtype=np.int64)


def read(raw: Any, cs_pk: int, clause: str) -> tuple[str, Flags] | None:
    """(build stamp, the flags of the texts holding `clause`, see the module) of the index
    build current when read, all in one snapshot, on the DB-API connection `raw` (in
    autocommit); None when it cannot be read cheaply (a word too frequent for GIN with no
    stored texts, or too many words) or there is no index."""
    cur = raw.cursor()
    cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    try:
        cur.execute("SELECT terms, built_at FROM search_meta WHERE cs_pk = %s", (cs_pk,))
        meta = cur.fetchone()
        if meta is None:
            return None
        got = _read(cur, cs_pk, int(meta[0]), clause)
        return None if got is None else (str(meta[1]), got)
    finally:
        cur.execute("COMMIT")
        cur.close()


def _read(cur: Any, cs_pk: int, texts: int, clause: str) -> Flags | None:
    kind, _, body = clause.partition(":")
    term = f"search_term_{int(cs_pk)}"
    if kind == "a":
        cur.execute(f"SELECT string_agg(t.id::text, ',') FROM {term} t WHERE t.code IN "
                    "(SELECT descendant FROM concept_closure WHERE cs_pk = %s AND "
                    "ancestor = %s UNION ALL SELECT %s)", (cs_pk, body, body))
        found = cur.fetchone()
        return flags(ids(found[0] if found else None), texts)
    words = body.split("|")
    if kind != "w" or not words or len(words) > WORDS_MAX:
        return None
    out = flags(ids(None), texts)
    cur.execute(f"SELECT term, ids, data FROM {table(cs_pk)} WHERE term = ANY(%s)", (words,))
    stored = set()
    for word, small, data in cur.fetchall():
        stored.add(word)
        if small:
            mark(out, np.frombuffer(bytes(data), dtype="<u4").astype(np.int64), texts)
        else:
            bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8),
                                 bitorder="little").astype(bool)
            n = min(len(bits), len(out))
            out[:n] |= bits[:n]
    rest = [w for w in words if w not in stored]
    if rest:
        cur.execute(f"SELECT SUM(df) FROM search_vocab_{int(cs_pk)} WHERE term = ANY(%s)",
                    (rest,))
        total = cur.fetchone()
        if total and total[0] is not None and int(total[0]) > GIN_MAX:
            return None  # too many texts to read through GIN
        cur.execute(f"SELECT string_agg(t.id::text, ',') FROM {term} t WHERE t.tsv @@ "
                    "to_tsquery('simple', %s)", (" | ".join(rest),))
        found = cur.fetchone()
        mark(out, ids(found[0] if found else None), texts)
    return out
