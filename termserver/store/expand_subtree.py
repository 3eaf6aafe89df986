"""Text search below one concept (`is-a`, `descendent-of`, ECL `<< X` / `< X` with `filter`),
driven from the hierarchy when that reads fewer rows than the text index.

The text index streams its matches in rank order and tests each against the hierarchy: cheap
when the subtree holds many of them, but a small subtree may hold few or none, and then every
match of the words is read. So when the subtree's texts are fewer than the index rows the
page would cost (estimated from the words' frequencies, the subtree's share of the texts and
the page size), one query reads the subtree from the closure table, joins its texts by code
(`search_term_<cs_pk>_bycode`) and tests the words on the folded text, in rank (id) order.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from termserver.store.page_reads import query as _query
from termserver.store.pages import Selection, where_sql
from termserver.store.search_vocab import frequencies

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Subtrees of more concepts are never driven from the hierarchy (counting stops here).
SUBTREE_MAX = 50_000
#: A text tested on the subtree side costs about this fraction of an index row read.
SUBTREE_COST = 0.5
_SIZES: weakref.WeakKeyDictionary[Store, dict[tuple[int, str], int]] = \
    weakref.WeakKeyDictionary()
_META: weakref.WeakKeyDictionary[Store, dict[int, tuple[bool, int, int]]] = \
    weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def ensure_code_index(conn: Connection, cs_pk: int) -> None:
    """The index of the texts by concept code (idempotent); it covers what the subtree read
    tests, and the text ids (SQLite's rowid; PostgreSQL's INCLUDE: the texts of a subtree
    for search_postings), so those reads do not visit the table's rows."""
    term = f"search_term_{int(cs_pk)}"
    include = "" if conn.dialect.name == "sqlite" else " INCLUDE (id)"
    conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {term}_bycode ON {term} "
                         f"(code, inactive, norm){include}")


def drives(store: Store, sel: Selection, words: list[str], prefix: bool, need: int) -> bool:
    """Whether the subtree of `sel`'s leading hierarchy condition should drive the read."""
    lead = sel.conds[0] if sel.conds else None
    if lead is None or lead.kind not in ("below", "below-self"):
        return False
    indexed, texts, concepts = _meta(store, sel.cs_pk)
    if not indexed or not concepts:
        return False
    size = _size(store, sel.cs_pk, lead.name)
    if size > SUBTREE_MAX:
        return False
    freq = frequencies(store, sel.cs_pk, words, prefix)
    matches = min(freq.get(w, 0) for w in words)  # index rows holding every word, at most
    per_concept = texts / concepts
    share = min(1.0, size / concepts)
    index_rows = matches if matches * share < need else need / share
    return size * per_concept * SUBTREE_COST < index_rows


def share(store: Store, sel: Selection) -> float:
    """The fraction of the code system's concepts `sel`'s leading hierarchy condition keeps
    (1.0 without one; a subtree larger than SUBTREE_MAX counts as SUBTREE_MAX + 1)."""
    lead = sel.conds[0] if sel.conds else None
    if lead is None or lead.kind not in ("below", "below-self"):
        return 1.0
    _, _, concepts = _meta(store, sel.cs_pk)
    if not concepts:
        return 1.0
    return min(1.0, (_size(store, sel.cs_pk, lead.name) + 1) / concepts)


def rows(store: Store, sel: Selection, words: list[str], prefix: bool, active: str
         ) -> list[Any]:
    """(id, code) of the subtree's texts holding every word, in id order."""
    sqlite = store.dialect == "sqlite"
    lead = sel.conds[0]
    term = f"search_term_{int(sel.cs_pk)}"
    like = "(' ' || t.norm || ' ') LIKE ?" if not prefix else "(' ' || t.norm) LIKE ?"
    pattern = "% {} %" if not prefix else "% {}%"
    test = "".join(f" AND {like}" for _ in words) + active
    tparams = [pattern.format(w) for w in words]
    rest, rparams = where_sql(sel, "t.code", sqlite, sel.conds[1:])
    join = "CROSS JOIN" if sqlite else "JOIN"  # SQLite: the closure first, then by code
    sql = (f"SELECT t.id, t.code FROM concept_closure d {join} {term} t ON t.code = "
           f"d.descendant WHERE d.cs_pk = ? AND d.ancestor = ?{test}{rest}")
    params: list[Any] = [sel.cs_pk, lead.name, *tparams, *rparams]
    if lead.kind == "below-self":
        sql += f" UNION ALL SELECT t.id, t.code FROM {term} t WHERE t.code = ?{test}{rest}"
        params += [lead.name, *tparams, *rparams]
    sql = f"SELECT id, code FROM ({sql}) s ORDER BY id"
    return _query(store, sql if sqlite else sql.replace("?", "%s"), tuple(params))


def _size(store: Store, cs_pk: int, ancestor: str) -> int:
    """Descendants of `ancestor` (counted up to SUBTREE_MAX + 1; cached: a pk's hierarchy
    never changes)."""
    with _LOCK:
        sizes = _SIZES.setdefault(store, {})
        found = sizes.get((cs_pk, ancestor))
    if found is not None:
        return found
    sql = ("SELECT COUNT(*) FROM (SELECT 1 FROM concept_closure WHERE cs_pk = ? AND "
           "ancestor = ? LIMIT ?) x")
    n = int(_query(store, sql if store.dialect == "sqlite" else sql.replace("?", "%s"),
                   (cs_pk, ancestor, SUBTREE_MAX + 1))[0][0])
    with _LOCK:
        if len(sizes) > 10_000:
            sizes.clear()
        sizes[(cs_pk, ancestor)] = n
    return n


def _meta(store: Store, cs_pk: int) -> tuple[bool, int, int]:
    """(the code index exists, texts indexed, concepts) of `cs_pk`'s index; cached once the
    code index is found (it goes only with the pk)."""
    with _LOCK:
        found = _META.setdefault(store, {}).get(cs_pk)
    if found is not None:
        return found
    name = f"search_term_{int(cs_pk)}_bycode"
    sqlite = store.dialect == "sqlite"
    sql = ("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?" if sqlite
           else "SELECT COUNT(*) FROM pg_indexes WHERE indexname = %s")
    indexed = int(_query(store, sql, (name,))[0][0]) > 0
    sql = ("SELECT m.terms, c.concept_count FROM search_meta m JOIN code_system c ON "
           "c.pk = m.cs_pk WHERE m.cs_pk = ?")
    got = _query(store, sql if sqlite else sql.replace("?", "%s"), (cs_pk,))
    meta = (indexed, int(got[0][0]), int(got[0][1])) if got else (False, 0, 0)
    if indexed:
        with _LOCK:
            _META[store][cs_pk] = meta
    return meta
