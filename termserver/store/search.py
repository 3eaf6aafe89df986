"""The ranked text index of `$expand`'s `filter`, one per stored code system of SEARCH_MIN
concepts or more, built when the code system is written (in the same transaction) and dropped
with it; `build_missing` builds those an upgrade (a new FORMAT) left missing.

Tables (outside the versioned schema, created idempotently):

- ``search_meta`` (cs_pk, format, terms, built_at): which code systems have a current index.
- ``search_term_<cs_pk>`` (id, code, kind, inactive, nwords, norm): one row per distinct
  folded text (termserver.textfold) of a concept: its display (kind 0) and each designation
  in any language (kind 1). Ids follow the ranking's tie-breaks: active first, then common
  concepts (COMMON), fewer words, the display before designations, shorter text, code.
- ``search_vocab_<cs_pk>`` (term, df): texts per folded word, to pick how a query is read.
- SQLite: ``search_fts_<cs_pk>``, FTS5 over `norm` (external content, prefix indexes);
  PostgreSQL: a stored ``tsv`` column (`to_tsvector('simple', norm)`) with a GIN index.

`search_page` answers one page: every query word must begin a word of one text of the
concept; concepts come tier by tier (the code itself, an exact text, codes the query begins,
all words whole, prefixes), each tier in id order, read only until the page is full: the
rarest word through the full-text index and the others tested on the folded text, or a scan
in id order when every word is frequent. Conditions of a `pages.Selection` (hierarchy,
property, code-set filters) join in the same SQL queries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from termserver.store.pages import Selection, where_sql
from termserver.textfold import code_query, fold, parse

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Bump when what is indexed or its layout changes: older indexes are then not used.
FORMAT = 6
#: Properties (with the value, or None for any) that mark commonly used concepts, most common
#: first: they rank before others of their tier. LOINC: the Universal Lab Orders value set
#: (loaded as ORDER_OBS), then quantitative terms.
COMMON: tuple[tuple[str, str | None], ...] = (("ORDER_OBS", None), ("SCALE_TYP", "Qn"))
COMMON_PROPERTIES = tuple(p for p, _ in COMMON)
#: Code systems with fewer concepts get no index (their expansions are small: in memory).
SEARCH_MIN = 1_000
_BATCH = 5_000

Progress = Callable[[int, int | None], None]


def _term(cs_pk: int) -> str:
    return f"search_term_{int(cs_pk)}"


def _fts(cs_pk: int) -> str:
    return f"search_fts_{int(cs_pk)}"


def _vocab(cs_pk: int) -> str:
    return f"search_vocab_{int(cs_pk)}"


def _m(conn_or_sqlite: Connection | bool, sql: str) -> str:
    sqlite = conn_or_sqlite if isinstance(conn_or_sqlite, bool) else \
        conn_or_sqlite.dialect.paramstyle == "qmark"
    return sql if sqlite else sql.replace("?", "%s")


def ensure_meta(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS search_meta (cs_pk BIGINT PRIMARY KEY, "
        "format INTEGER NOT NULL, terms INTEGER NOT NULL, built_at VARCHAR(40) NOT NULL)")


def drop(conn: Connection, cs_pk: int) -> None:
    """Drop the index of `cs_pk` (its code system is being replaced or removed)."""
    ensure_meta(conn)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_fts(cs_pk)}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_term(cs_pk)}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_vocab(cs_pk)}")
    conn.exec_driver_sql(_m(conn, "DELETE FROM search_meta WHERE cs_pk = ?"), (cs_pk,))


def build(conn: Connection, cs_pk: int, progress: Progress | None = None) -> int:
    """(Re)build the index of `cs_pk` inside the caller's transaction; returns the number of
    texts indexed (0 and no index below SEARCH_MIN concepts)."""
    drop(conn, cs_pk)
    count = conn.exec_driver_sql(_m(conn, "SELECT concept_count FROM code_system WHERE pk = ?"),
                                 (cs_pk,)).scalar()
    if count is None or int(count) < SEARCH_MIN:
        return 0
    sqlite = conn.dialect.name == "sqlite"
    term = _term(cs_pk)
    stage = f"search_stage_{int(cs_pk)}"
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {stage} (code TEXT NOT NULL, kind INTEGER "
                         "NOT NULL, inactive INTEGER NOT NULL, rare INTEGER NOT NULL, nwords "
                         "INTEGER NOT NULL, norm TEXT NOT NULL)")
    insert = _m(conn, f"INSERT INTO {stage} VALUES (?, ?, ?, ?, ?, ?)")
    batch: list[tuple[str, int, int, int, int, str]] = []
    done = 0
    df: Counter[str] = Counter()
    for row in _folded(conn, cs_pk):
        df.update(set(row[5].split()))
        batch.append(row)
        if len(batch) >= _BATCH:
            conn.exec_driver_sql(insert, batch)
            done += len(batch)
            batch = []
            if progress:
                progress(done, None)
    if batch:
        conn.exec_driver_sql(insert, batch)
        done += len(batch)
    tsv = "" if sqlite else \
        ", tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', norm)) STORED"
    conn.exec_driver_sql(f"CREATE TABLE {term} (id INTEGER PRIMARY KEY, code TEXT NOT NULL, "
                         "kind INTEGER NOT NULL, inactive INTEGER NOT NULL, nwords INTEGER "
                         f"NOT NULL, norm TEXT NOT NULL{tsv})")
    conn.exec_driver_sql(
        f"INSERT INTO {term} (id, code, kind, inactive, nwords, norm) SELECT ROW_NUMBER() "
        "OVER (ORDER BY inactive, rare, nwords, kind, LENGTH(norm), code, norm), code, kind, "
        f"inactive, nwords, norm FROM {stage}")
    conn.exec_driver_sql(f"DROP TABLE {stage}")
    conn.exec_driver_sql(f"CREATE INDEX {term}_norm ON {term} (norm)")
    collate = "" if sqlite else ' COLLATE "C"'  # prefix ranges in byte order
    conn.exec_driver_sql(f"CREATE TABLE {_vocab(cs_pk)} (term TEXT{collate} PRIMARY KEY, "
                         "df INTEGER NOT NULL)")
    rows = list(df.items())
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(_m(conn, f"INSERT INTO {_vocab(cs_pk)} VALUES (?, ?)"),
                             rows[start:start + _BATCH])
    if sqlite:
        fts = _fts(cs_pk)
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(norm, content='{term}', "
            "content_rowid='id', tokenize='unicode61 remove_diacritics 0', "
            "prefix='1 2 3', detail='none')")
        conn.exec_driver_sql(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")
    else:
        conn.exec_driver_sql(f"CREATE INDEX {term}_tsv ON {term} USING gin (tsv)")
        conn.exec_driver_sql(f"ANALYZE {term}")
    conn.exec_driver_sql(_m(conn, "INSERT INTO search_meta (cs_pk, format, terms, built_at) "
                                  "VALUES (?, ?, ?, ?)"),
                         (cs_pk, FORMAT, done, datetime.now(UTC).isoformat(timespec="seconds")))
    if progress:
        progress(done, done)
    return done


def _folded(conn: Connection, cs_pk: int) -> Iterator[tuple[str, int, int, int, int, str]]:
    """(code, kind, inactive, rare, words, folded text) per distinct text of each concept;
    `rare` is the concept's rank in COMMON (len(COMMON) when none)."""
    common: dict[str, int] = {}
    for rank, (prop, value) in reversed(list(enumerate(COMMON))):
        test = "" if value is None else " AND value = ?"
        for (found,) in conn.exec_driver_sql(_m(conn, (
                f"SELECT DISTINCT code FROM concept_property WHERE cs_pk = ? AND property = ?"
                f"{test}")), (cs_pk, prop, *(() if value is None else (value,)))):
            common[str(found)] = rank
    sql = _m(conn, "SELECT code, display, 0, CASE WHEN inactive THEN 1 ELSE 0 END FROM concept "
                   "WHERE cs_pk = ? UNION ALL SELECT code, value, 1, 0 FROM designation "
                   "WHERE cs_pk = ? ORDER BY 1, 3")
    result = conn.exec_driver_sql(sql, (cs_pk, cs_pk), execution_options={
        "stream_results": True, "yield_per": _BATCH})
    code: str | None = None
    seen: set[str] = set()
    pending: list[tuple[str, int]] = []
    inactive = rare = -1

    def flush() -> Iterator[tuple[str, int, int, int, int, str]]:
        if code is not None and inactive >= 0:  # designations of unknown codes are left out
            for norm, kind in pending:
                yield code, kind, inactive, rare, len(norm.split()), norm

    for row_code, text, kind, flag in result:
        if row_code != code:
            yield from flush()
            code, seen, pending, inactive = row_code, set(), [], -1
        if kind == 0:
            inactive, rare = int(flag), common.get(row_code, len(COMMON))
        norm = fold(text or "")
        if norm and norm not in seen:
            seen.add(norm)
            pending.append((norm, int(kind)))
    yield from flush()


def ready(store: Store, cs_pk: int) -> bool:
    """True when `cs_pk` has a current index."""
    try:
        rows = store._hot_query(_m(store.dialect == "sqlite",
                                   "SELECT format FROM search_meta WHERE cs_pk = ?"), (cs_pk,))
    except Exception as exc:  # no index was ever built in this database
        if "search_meta" not in str(exc):
            raise
        return False
    return bool(rows) and int(rows[0][0]) == FORMAT


def missing(store: Store) -> list[int]:
    """Code systems big enough for an index that have no current one (after an upgrade)."""
    with store.engine.begin() as conn:
        ensure_meta(conn)
        rows = conn.exec_driver_sql(_m(conn, (
            "SELECT c.pk FROM code_system c LEFT JOIN search_meta m ON m.cs_pk = c.pk "
            "WHERE c.concept_count >= ? AND (m.format IS NULL OR m.format <> ?) "
            "ORDER BY c.pk")), (SEARCH_MIN, FORMAT)).all()
    return [int(r[0]) for r in rows]


def search_page(store: Store, sel: Selection, query: str, offset: int, limit: int,
                total_cap: int | None = None) -> tuple[list[str], int | None]:
    """One page of the concepts of `sel` matching `query`, best first, and how many match
    (None when more than `total_cap` (TOTAL_ROWS) texts match: counting them would cost
    more than the page). Reads tier by tier in rank order (exact code, exact text, codes it
    begins, whole words, prefixes; in each, by id) and stops when the page is full."""
    sqlite = store.dialect == "sqlite"
    parsed = parse(query)
    qwords, prefixes = list(parsed.words), [p for p in parsed.prefixes if p]
    code = code_query(query)
    page = _Page(offset + limit)
    cond, cparams = where_sql(sel, "t.code", sqlite)
    ccond, ccparams = where_sql(sel, "c.code", sqlite)
    cactive = " AND NOT c.inactive" if sel.active_only else ""
    active = " AND t.inactive = 0" if sel.active_only else ""
    variants = list(dict.fromkeys((code, code.upper()))) if code is not None else []
    for variant in variants:  # the code itself
        page.add(store._hot_query(_m(sqlite, (
            f"SELECT c.code FROM concept c WHERE c.cs_pk = ? AND c.code = ?{cactive}{ccond}")),
            (sel.cs_pk, variant, *ccparams)))
    term = _term(sel.cs_pk)
    if qwords:
        page.add(_stream(store, (f"SELECT t.id, t.code FROM {term} t WHERE t.norm = ?"
                                 f"{active}{cond}"), [parsed.text, *cparams], page))
    if variants and not page.full:  # codes the query begins
        for variant in variants:
            page.add(store._hot_query(_m(sqlite, (
                f"SELECT c.code FROM concept c WHERE c.cs_pk = ? AND c.code > ? AND c.code < ?"
                f"{cactive}{ccond} ORDER BY c.code LIMIT ?")),
                (sel.cs_pk, variant, variant + "\U0010ffff", *ccparams, page.need + 1)))
    for words, prefix in ((qwords, False), (prefixes, True)):
        if page.full or not qwords:
            break
        if not words:  # every word is a bare "c" or "p": any text
            page.add(_stream(store, f"SELECT t.id, t.code FROM {term} t WHERE 1 = 1"
                                    f"{active}{cond}", list(cparams), page, sel.cs_pk))
            continue
        source, sparams, scan = _source(store, sel.cs_pk, words, prefix)
        page.add(_stream(store, f"SELECT t.id, t.code FROM {source}{active}{cond}",
                         [*sparams, *cparams], page, sel.cs_pk if scan else None))
    codes = page.codes[offset:offset + limit]
    if not page.full:  # every match was read
        return codes, len(page.codes)
    return codes, _total(store, sel, prefixes, variants, (active, cond, cparams),
                         (cactive, ccond, ccparams), total_cap or TOTAL_ROWS)


#: Texts counted at most for `total`; beyond, the total is left out.
TOTAL_ROWS = 1_000
_CHUNK = 50


class _Page:
    """Codes in rank order, each once, up to `need`."""

    def __init__(self, need: int) -> None:
        self.need = need
        self.codes: list[str] = []
        self.seen: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.codes) >= self.need

    def add(self, rows: Iterator[Any] | list[Any]) -> None:
        for row in rows:
            if self.full:
                return
            code = str(row[-1])
            if code not in self.seen:
                self.seen.add(code)
                self.codes.append(code)


#: A word in at most this many texts drives a read through the full-text index; when every
#: word of a query is more frequent, the texts are scanned in rank order instead (matches are
#: dense then, so a page is found after a few thousand rows).
DRIVE_MAX = 3_000
#: Ids a scan reads first (then twice as many each time).
SCAN_WINDOW = 2_000


def _source(store: Store, cs_pk: int, qwords: list[str], prefix: bool
            ) -> tuple[str, list[Any], bool]:
    """(FROM … WHERE …, params, scan) of the texts holding every word (whole, or as a
    prefix): the rarest word through the full-text index and the others by LIKE on the folded
    text, or (scan) all by LIKE over the texts in id order when every word is frequent."""
    sqlite = store.dialect == "sqlite"
    freq = _frequencies(store, cs_pk, qwords, prefix)
    driver = min(qwords, key=lambda w: freq.get(w, 0))
    like = "(' ' || t.norm || ' ') LIKE ?" if not prefix else "(' ' || t.norm) LIKE ?"
    pattern = "% {} %" if not prefix else "% {}%"
    others = [w for w in qwords if w != driver]
    if freq.get(driver, 0) > DRIVE_MAX:
        others = qwords
        sql = f"{_term(cs_pk)} t WHERE 1 = 1"
        params: list[Any] = []
    elif sqlite:
        fts = _fts(cs_pk)
        sql = f"{fts} f JOIN {_term(cs_pk)} t ON t.id = f.rowid WHERE {fts} MATCH ?"
        params = [f'"{driver}"' + ("*" if prefix else "")]
    else:
        sql = f"{_term(cs_pk)} t WHERE t.tsv @@ to_tsquery('simple', ?)"
        params = [driver + (":*" if prefix else "")]
    for w in others:
        sql += f" AND {like}"
        params.append(pattern.format(w))
    return sql, params, others is qwords


def _frequencies(store: Store, cs_pk: int, qwords: list[str], prefix: bool) -> dict[str, int]:
    """Texts holding each word (prefix: the sum over the words it begins, an upper bound)."""
    sqlite = store.dialect == "sqlite"
    parts, params = [], []
    for w in qwords:
        if prefix:
            parts.append(f"SELECT ?, SUM(df) FROM {_vocab(cs_pk)} WHERE term >= ? AND term < ?")
            params += [w, w, w + "\U0010ffff"]
        else:
            parts.append(f"SELECT ?, df FROM {_vocab(cs_pk)} WHERE term = ?")
            params += [w, w]
    rows = store._hot_query(_m(sqlite, " UNION ALL ".join(parts)), tuple(params))
    return {str(w): int(n) for w, n in rows if n is not None}


def _stream(store: Store, sql: str, params: list[Any], page: _Page, scan: int | None = None
            ) -> Iterator[Any]:
    """Rows (id, code) of `sql` in id order, read in chunks while the page wants more. `scan`
    (the cs_pk): `sql` filters every text, so it reads windows of ids (an index range the
    planner cannot mistake for a full scan)."""
    sqlite = store.dialect == "sqlite"
    last = 0
    if scan is not None:
        top = int(store._hot_query(f"SELECT MAX(id) FROM {_term(scan)}", ())[0][0] or 0)
        window = SCAN_WINDOW
        while not page.full and last < top:
            yield from store._hot_query(_m(sqlite, f"{sql} AND t.id > ? AND t.id <= ? "
                                                   "ORDER BY t.id"), (*params, last, last + window))
            last += window
            window *= 2
        return
    chunk = max(_CHUNK, 2 * page.need)
    while not page.full:
        rows = store._hot_query(_m(sqlite, f"{sql} AND t.id > ? ORDER BY t.id LIMIT ?"),
                                (*params, last, chunk))
        yield from rows
        if len(rows) < chunk:
            return
        last = int(rows[-1][0])
        chunk *= 4


def _total(store: Store, sel: Selection, qwords: list[str], variants: list[str],
           text: tuple[str, str, list[Any]], codes: tuple[str, str, list[Any]], cap: int
           ) -> int | None:
    """How many concepts match (None: more than `cap` texts and codes do)."""
    sqlite = store.dialect == "sqlite"
    arms: list[str] = []
    params: list[Any] = []
    if qwords:
        source, sparams, _ = _source(store, sel.cs_pk, qwords, True)
        active, cond, cparams = text
        arms.append(f"SELECT t.code AS code FROM {source}{active}{cond}")
        params += [*sparams, *cparams]
    freq = _frequencies(store, sel.cs_pk, qwords, True) if qwords else {}
    if qwords and min(freq.get(w, 0) for w in qwords) > cap:
        return None  # every word is in more than `cap` texts: counting costs more than a page
    cactive, ccond, ccparams = codes
    for variant in variants:
        arms.append(f"SELECT c.code AS code FROM concept c WHERE c.cs_pk = ? AND c.code >= ? "
                    f"AND c.code < ?{cactive}{ccond}")
        params += [sel.cs_pk, variant, variant + "\U0010ffff", *ccparams]
    if not arms:
        return 0
    rows = store._hot_query(_m(sqlite, (
        f"SELECT COUNT(DISTINCT code), COUNT(*) FROM (SELECT code FROM "
        f"({' UNION ALL '.join(arms)}) u LIMIT ?) z")), (*params, cap + 1))
    distinct, found = int(rows[0][0] or 0), int(rows[0][1] or 0)
    return None if found > cap else distinct


def build_missing(store: Store, progress: Callable[[str, int, int | None], None] | None = None
                  ) -> list[int]:
    """Build every index that is missing or of an older FORMAT (after an upgrade), each in
    its own transaction; `progress(label, done, total)` reports texts indexed. Returns the
    code systems built."""
    built = []
    for cs_pk in missing(store):
        label = f"code system {cs_pk}"
        with store.engine.begin() as conn:
            url = conn.exec_driver_sql(_m(conn, "SELECT url, version FROM code_system "
                                                "WHERE pk = ?"), (cs_pk,)).first()
            if url is not None:
                label = f"{url[0]}|{url[1] or ''}"
            build(conn, cs_pk, None if progress is None else _labelled(progress, label))
        built.append(cs_pk)
    return built


def _labelled(progress: Callable[[str, int, int | None], None], label: str) -> Progress:
    def report(done: int, total: int | None) -> None:
        progress(label, done, total)
    return report
