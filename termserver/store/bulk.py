"""ConceptMap element reads for `$translate`, single and set-based (bulk), as raw SQL.

One indexed query answers one code or a whole chunk of codes: the element index
(`ix_cme_source` / `ix_cme_target`) drives the join, the map's resource row is joined by its
primary key (SQLite is told the join order with CROSS JOIN: left to itself it starts from the
map's canonical index and walks every element of the map, so the cost grew with the map). Rows
come ordered by map url, map version, group and then insertion order, the same for one code
and for many, so a chunk's answer per code is exactly the single read's. Nothing is cached:
every read sees the latest commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from termserver.model import UNMAPPED_SOURCE, MapElement
from termserver.store import inlist

if TYPE_CHECKING:
    from termserver.store import Store

#: (map pk, map url, map version, row): a stored element with the map it belongs to.
MapRow = tuple[int, str | None, str | None, MapElement]

_COLUMNS = ("e.resource_pk, r.url, r.version, e.grp, e.source_system, e.source_version, "
            "e.source_code, e.source_display, e.target_system, e.target_version, "
            "e.target_code, e.target_display, e.relationship, e.equivalence, e.comment, "
            "e.depends_on, e.product")


def map_rows_many(store: Store, codes: Sequence[str], system: str | None, *,
                  reverse: bool = False, other_system: str | None = None,
                  url: str | None = None, version: str | None = None) -> list[MapRow]:
    """Stored rows for every code of `codes` in one query (forward: rows whose source is
    `system#code`, plus the `unmapped` rows of groups from `system`; reverse: rows whose
    target is `system#code`); `other_system` restricts the other side, `url`/`version` the
    map. Callers split the rows by code (`rows_by_code`)."""
    codes = list(dict.fromkeys(codes))
    if not codes:
        return []
    sqlite = store.dialect == "sqlite"
    side, other = ("target", "source") if reverse else ("source", "target")
    wanted = inlist.padded(codes if reverse or system is None else [*codes, UNMAPPED_SOURCE])
    cond = [f"e.{side}_code IN ({inlist.marks(len(wanted))})"]
    params: list[Any] = list(wanted)
    for column, value in ((f"e.{side}_system", system), (f"e.{other}_system", other_system),
                          ("r.url", url), ("r.version", version)):
        if value is not None:
            cond.append(f"{column} = ?")
            params.append(value)
    join = "CROSS JOIN" if sqlite else "JOIN"
    order = "e.rowid" if sqlite else "e.ctid"
    sql = (f"SELECT {_COLUMNS} FROM concept_map_element e {join} resource r "
           f"ON r.pk = e.resource_pk WHERE r.resource_type = 'ConceptMap' AND "
           f"{' AND '.join(cond)} ORDER BY r.url, r.version, e.grp, {order}")
    if not sqlite:
        sql = sql.replace("?", "%s")
    return [_row(r) for r in store._hot_query(sql, tuple(params))]


def rows_by_code(rows: Sequence[MapRow], codes: Sequence[str], system: str | None,
                 reverse: bool) -> dict[str, list[MapRow]]:
    """A `map_rows_many` answer split by code: for each of `codes`, the rows (in order) that
    a single read of that code returns."""
    out: dict[str, list[MapRow]] = {code: [] for code in codes}
    for r in rows:
        e = r[3]
        if reverse:
            key = e.target_code
        elif e.source_code == UNMAPPED_SOURCE and system is not None:
            for bucket in out.values():  # a group's `unmapped` rule: every code of the system
                bucket.append(r)
            continue
        else:
            key = e.source_code
        found = out.get(key) if key is not None else None
        if found is not None:
            found.append(r)
    return out


def concept_maps_present(store: Store, url: str) -> set[str | None]:
    """The versions stored of the ConceptMap `url` (empty: none)."""
    sql = "SELECT version FROM resource WHERE resource_type = 'ConceptMap' AND url = ?"
    if store.dialect != "sqlite":
        sql = sql.replace("?", "%s")
    return {r[0] for r in store._hot_query(sql, (url,))}


def codes_folded(store: Store, cs_pk: int, codes: Sequence[str]) -> dict[str, str]:
    """For each of `codes`, compared case-insensitively (SQL lower() = the code lowered, as
    Store.code_folded): lowered code → the stored spelling first in load order. One query
    for all of them (a scan of the code system's codes, as each single one is)."""
    wanted = sorted({c.lower() for c in codes})
    if not wanted:
        return {}
    wanted = inlist.padded(wanted)
    sql = (f"SELECT lower(code), code FROM concept WHERE cs_pk = ? AND lower(code) IN "
           f"({inlist.marks(len(wanted))}) ORDER BY seq")
    if store.dialect != "sqlite":
        sql = sql.replace("?", "%s")
    out: dict[str, str] = {}
    for folded, code in store._hot_query(sql, (cs_pk, *wanted)):
        out.setdefault(str(folded), str(code))
    return out


def terminology_stamp(store: Store) -> tuple[tuple[Any, ...], ...]:
    """(pk, versionId, lastUpdated) of every stored CodeSystem, ValueSet and ConceptMap:
    changes with any write of one of them (create, update, delete, replace by a load), in
    any process. What a bulk answer reads is in these resources or derived from them."""
    sql = ("SELECT pk, version_id, last_updated FROM resource WHERE resource_type IN "
           "('CodeSystem', 'ValueSet', 'ConceptMap') ORDER BY pk")
    return tuple(tuple(r) for r in store._hot_query(sql, ()))


def _row(r: Sequence[Any]) -> MapRow:
    (pk, url, version, grp, ss, sv, sc, sd, ts, tv, tc, td, rel, eq, comment, dep, prod) = r
    return (int(pk), url, version, MapElement(
        group=grp, source_system=ss, source_version=sv, source_code=sc, source_display=sd,
        target_system=ts, target_version=tv, target_code=tc, target_display=td,
        relationship=rel, equivalence=eq, comment=comment,
        depends_on=tuple(orjson.loads(dep)) if dep else (),
        product=tuple(orjson.loads(prod)) if prod else ()))
