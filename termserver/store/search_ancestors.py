"""Ancestor tokens of the text index: `is-a` / `descendent-of` (ECL `<< X` / `< X`) with
`filter` answered by one full-text query.

For a code system with a hierarchy, each text's indexed document holds, besides its folded
words, one token per ancestor-or-self of its concept (`token`): `_` and the code when it is
ASCII digits only (SNOMED CT), else `_x` and the hex of its UTF-8 bytes (any code; codes that
differ only in case stay apart). Folded words are runs of letters and digits
(termserver.textfold), never `_`, so no query word or prefix matches a token; the tokens live
only in the full-text index (SQLite: the contentless FTS5 table, `_` a token character;
PostgreSQL: lexemes of `tsv` added by array_to_tsvector), never in `norm`, the vocabulary or a
display. Text below X is then `words AND _X` (`< X` leaves X out by its code); a hierarchy
condition the tokens cannot answer (or an index without them) takes the former path
(termserver.store.expand_subtree and the per-row closure test).
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from termserver.store.page_reads import pk_fact
from termserver.store.pages import Cond, Selection

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Answer hierarchy conditions with the tokens when the index has them (tests compare both).
ENABLED = True
_DIGITS = re.compile(r"[0-9]+")
_HAS: weakref.WeakKeyDictionary[Store, dict[int, bool]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def token(code: str) -> str:
    """The index token of `code` as an ancestor (or self) of a concept."""
    return "_" + code if _DIGITS.fullmatch(code) else "_x" + code.encode().hex()


def code_of(tok: str) -> str:
    """The code whose `token` is `tok`."""
    return bytes.fromhex(tok[2:]).decode() if tok.startswith("_x") else tok[1:]


def token_sql(col: str, sqlite: bool) -> str:
    """SQL computing `token` of column `col`."""
    if sqlite:
        return (f"(CASE WHEN {col} <> '' AND {col} NOT GLOB '*[^0-9]*' THEN '_' || {col} "
                f"ELSE '_x' || lower(hex({col})) END)")
    return (f"(CASE WHEN {col} ~ '^[0-9]+$' THEN '_' || {col} ELSE '_x' || "
            f"encode(convert_to({col}, 'UTF8'), 'hex') END)")


def stage(conn: Connection, cs_pk: int) -> str | None:
    """Fill a temporary table (code, tokens) with the ancestor tokens of each concept that has
    ancestors (SQLite: space-separated text; PostgreSQL: a tsvector), read in key order from
    concept_ancestor; returns its name, or None when the code system has no hierarchy (its
    index then gets no tokens)."""
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    if conn.exec_driver_sql(f"SELECT 1 FROM concept_ancestor WHERE cs_pk = {mark} LIMIT 1",
                            (cs_pk,)).first() is None:
        return None
    name = f"search_anc_{int(cs_pk)}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    tokens = "TEXT" if sqlite else "tsvector"
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} (code TEXT PRIMARY KEY, tokens "
                         f"{tokens} NOT NULL)")
    tok = token_sql("ancestor", sqlite)
    agg = f"group_concat({tok}, ' ')" if sqlite else f"array_to_tsvector(array_agg({tok}))"
    conn.exec_driver_sql(f"INSERT INTO {name} (code, tokens) SELECT descendant, {agg} FROM "
                         f"concept_ancestor WHERE cs_pk = {mark} GROUP BY descendant", (cs_pk,))
    return name


def document_sql(anc: str | None, sqlite: bool) -> tuple[str, str]:
    """(FROM addition, indexed-document expression) for a SELECT over stage `s` (code, norm):
    SQLite text (norm and tokens), PostgreSQL a tsvector."""
    if anc is None:
        return "", "s.norm" if sqlite else "to_tsvector('simple', s.norm)"
    own = token_sql("s.code", sqlite)
    join = f" LEFT JOIN {anc} a ON a.code = s.code"
    if sqlite:
        return join, f"s.norm || ' ' || {own} || COALESCE(' ' || a.tokens, '')"
    return join, (f"to_tsvector('simple', s.norm) || array_to_tsvector(ARRAY[{own}]) || "
                  "COALESCE(a.tokens, ''::tsvector)")


@dataclass(frozen=True, slots=True)
class Plan:
    """A hierarchy condition answered by `token`: `rest` are the conditions still tested in
    SQL, `exclude` the code left out (`descendent-of`: X itself), if any."""

    token: str
    name: str
    rest: tuple[Cond, ...]
    exclude: str | None


def plan(store: Store, sel: Selection) -> Plan | None:
    """The token plan of `sel`'s first `below`/`below-self` condition, or None (no such
    condition, tokens disabled, or the code system's index has none)."""
    if not ENABLED:
        return None
    for i, cond in enumerate(sel.conds):
        if cond.kind in ("below", "below-self"):
            if not _has_tokens(store, sel.cs_pk):
                return None
            return Plan(token(cond.name), cond.name, sel.conds[:i] + sel.conds[i + 1:],
                        cond.name if cond.kind == "below" else None)
    return None


def _has_tokens(store: Store, cs_pk: int) -> bool:
    """Whether the index of `cs_pk` was built with tokens: the code system has a hierarchy
    (cached: a pk's hierarchy never changes; the caller checked the index is current)."""
    return pk_fact(store, _HAS, _LOCK, cs_pk,
                   "SELECT 1 FROM concept_ancestor WHERE cs_pk = ? LIMIT 1")
