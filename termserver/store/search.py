"""The ranked text index of `$expand`'s `filter`, one per stored code system of SEARCH_MIN
concepts or more, built when the code system is written (in the same transaction) and dropped
with it; `build_missing` builds those an upgrade (a new format) left missing.

Tables (outside the versioned schema, created idempotently):

- ``search_meta`` (cs_pk, format, terms, built_at): which code systems have a current index.
- ``search_term_<cs_pk>`` (id, code, kind, inactive, nwords, norm): one row per distinct
  folded text (termserver.textfold) of a concept: display (kind 0), designations in any
  language (1), keywords (2). Ids follow the ranking's tie-breaks: active first, then common
  concepts (COMMON), keywords last, fewer words, display first, shorter text, code.
- ``search_vocab_<cs_pk>`` (term, df): texts per folded word, to pick how a query is read.
- SQLite: ``search_fts_<cs_pk>``, FTS5 over `norm` (contentless, rowid = id, prefix
  indexes); PostgreSQL: a ``tsv`` column (`to_tsvector('simple', norm)`) with a GIN index.
  Both also hold the ancestor tokens of termserver.store.search_ancestors (hierarchies).
- PostgreSQL: ``search_bits_<cs_pk>``, the texts of frequent words (search_postings).

`search_page` answers one page: every query word must begin a word of one text of the
concept; concepts come tier by tier (the code itself, an exact text, codes the query begins,
all words whole, prefixes), each tier in id order, read only until the page is full.
Conditions of a `pages.Selection` (hierarchy, property, code-set filters) join in the SQL.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from termserver.store import expand_subtree as subtree
from termserver.store import search_ancestors as ancestors
from termserver.store import search_bands as bands
from termserver.store import search_bitsets as bitsets
from termserver.store import search_codes
from termserver.store import search_postings as postings
from termserver.store.page_reads import paramstyled as _m
from termserver.store.page_reads import query as _query
from termserver.store.pages import Selection, where_sql
from termserver.store.search_bands import Source
from termserver.store.search_vocab import begun as _begun
from termserver.store.search_vocab import expanded as _expanded
from termserver.store.search_vocab import frequencies as _frequencies
from termserver.store.search_vocab import only_themselves as _only_themselves
from termserver.store.search_vocab import vocab as _vocab
from termserver.textfold import DESIGNATION, KEYWORD, KEYWORD_USES, code_query, fold, parse

if TYPE_CHECKING:
    from termserver.store.read import Store

#: Bump when what is indexed or its layout changes: older indexes are then not used.
#: 7: ancestor tokens (store/search_ancestors.py), SQLite FTS5 contentless; 8: keywords
#: (textfold.KEYWORD) ranked after other texts.
FORMAT = 8
#: PostgreSQL's: also the rank-band lexemes (store/search_bands.py), since its format 8; 10:
#: the stored texts of frequent words (store/search_postings.py).
PG_FORMAT = 10
#: Properties (with the value, or None for any) that mark commonly used concepts, most common
#: first: they rank before others of their tier. LOINC: the Universal Lab Orders value set
#: (loaded as ORDER_OBS), then quantitative terms.
COMMON: tuple[tuple[str, str | None], ...] = (("ORDER_OBS", None), ("SCALE_TYP", "Qn"))
COMMON_PROPERTIES = tuple(p for p, _ in COMMON)
#: Code systems with fewer concepts get no index (their expansions are small: in memory).
SEARCH_MIN = 1_000
_BATCH = 5_000

Progress = Callable[[int, int | None], None]


def format_of(dialect: str) -> int:
    """The current index format of a database dialect."""
    return FORMAT if dialect == "sqlite" else PG_FORMAT


def _term(cs_pk: int) -> str:
    return f"search_term_{int(cs_pk)}"


def _fts(cs_pk: int) -> str:
    return f"search_fts_{int(cs_pk)}"


def ensure_meta(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS search_meta (cs_pk BIGINT PRIMARY KEY, "
        "format INTEGER NOT NULL, terms INTEGER NOT NULL, built_at VARCHAR(40) NOT NULL)")
    ensure_derived(conn)


def ensure_derived(conn: Connection) -> None:
    """`search_derived` (cs_pk, name, stamp, data): what a reader derived from an index (the
    workbench's learnt lexicon), kept for every process until the index is rebuilt."""
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS search_derived (cs_pk BIGINT NOT NULL, "
        "name VARCHAR(60) NOT NULL, stamp VARCHAR(200) NOT NULL, data TEXT NOT NULL, "
        "PRIMARY KEY (cs_pk, name))")


def drop(conn: Connection, cs_pk: int) -> None:
    """Drop the index of `cs_pk` (its code system is being replaced or removed)."""
    ensure_meta(conn)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_fts(cs_pk)}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_term(cs_pk)}")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_vocab(cs_pk)}")
    postings.drop(conn, cs_pk)
    conn.exec_driver_sql(_m(conn, "DELETE FROM search_meta WHERE cs_pk = ?"), (cs_pk,))
    conn.exec_driver_sql(_m(conn, "DELETE FROM search_derived WHERE cs_pk = ?"), (cs_pk,))


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
    anc = ancestors.stage(conn, cs_pk)
    join, document = ancestors.document_sql(anc, sqlite)
    tsv, tcol = ("", "") if sqlite else (", tsv tsvector NOT NULL", ", tsv")
    conn.exec_driver_sql(f"CREATE TABLE {term} (id INTEGER PRIMARY KEY, code TEXT NOT NULL, "
                         "kind INTEGER NOT NULL, inactive INTEGER NOT NULL, nwords INTEGER "
                         f"NOT NULL, norm TEXT NOT NULL{tsv})")
    extra = "" if sqlite else f", {document} AS doc" + (
        "" if anc is None else f", ARRAY[{ancestors.token_sql('s.code', False)}] || "
        "COALESCE(tsvector_to_array(a.tokens), ARRAY[]::text[]) AS toks")
    ranked = ("SELECT ROW_NUMBER() OVER (ORDER BY s.inactive, s.rare, CASE WHEN s.kind = "
              f"{KEYWORD} THEN 1 ELSE 0 END, s.nwords, s.kind, LENGTH(s.norm), s.code, s.norm) "
              f"AS id, s.code, s.kind, s.inactive, s.nwords, s.norm{extra} FROM {stage} s"
              f"{'' if sqlite else join}")
    band = "" if sqlite else f", {bands.document_sql(done, anc is not None)}"
    conn.exec_driver_sql(f"INSERT INTO {term} (id, code, kind, inactive, nwords, norm{tcol}) "
                         f"SELECT x.id, x.code, x.kind, x.inactive, x.nwords, x.norm{band} "
                         f"FROM ({ranked}) x")
    conn.exec_driver_sql(f"DROP TABLE {stage}")
    conn.exec_driver_sql(f"CREATE INDEX {term}_norm ON {term} (norm)")
    subtree.ensure_code_index(conn, cs_pk)
    collate = "" if sqlite else ' COLLATE "C"'  # prefix ranges in byte order
    conn.exec_driver_sql(f"CREATE TABLE {_vocab(cs_pk)} (term TEXT{collate} PRIMARY KEY, "
                         "df INTEGER NOT NULL)")
    rows = list(df.items())
    for start in range(0, len(rows), _BATCH):
        conn.exec_driver_sql(_m(conn, f"INSERT INTO {_vocab(cs_pk)} VALUES (?, ?)"),
                             rows[start:start + _BATCH])
    if sqlite:
        fts = _fts(cs_pk)
        conn.exec_driver_sql(  # contentless: the tokens are in no table's column
            f"CREATE VIRTUAL TABLE {fts} USING fts5(norm, content='', tokenize="
            "\"unicode61 remove_diacritics 0 tokenchars '_'\", prefix='1 2 3', detail='none')")
        conn.exec_driver_sql(f"INSERT INTO {fts} (rowid, norm) SELECT s.id, {document} FROM "
                             f"{term} s{join} ORDER BY s.id")
        conn.exec_driver_sql(f"INSERT INTO {fts} ({fts}) VALUES ('optimize')")
    else:
        conn.exec_driver_sql(f"CREATE INDEX {term}_tsv ON {term} USING gin (tsv)")
        conn.exec_driver_sql(f"ANALYZE {term}")
        postings.build(conn, cs_pk, done)
    if anc is not None:
        conn.exec_driver_sql(f"DROP TABLE {anc}")
    conn.exec_driver_sql(_m(conn, "INSERT INTO search_meta (cs_pk, format, terms, built_at) "
                                  "VALUES (?, ?, ?, ?)"),
                         (cs_pk, format_of(conn.dialect.name), done,
                          datetime.now(UTC).isoformat(timespec="microseconds")))
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
    keyword = ", ".join(f"'{u}'" for u in sorted(KEYWORD_USES))  # textfold.text_kind
    sql = _m(conn, "SELECT code, display, 0, CASE WHEN inactive THEN 1 ELSE 0 END FROM concept "
                   "WHERE cs_pk = ? UNION ALL SELECT code, value, CASE WHEN use_code IN "
                   f"({keyword}) THEN {KEYWORD} ELSE {DESIGNATION} END, 0 FROM designation "
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


#: Per store: (its write generation, format, code system pks known to have a current index).
#: An index lives and dies with its pk (a replace gives a new pk); a write through the store
#: forgets what was known; a pk another process replaced is found by the paged read that
#: fails or comes back empty (service/expand_paged.py, store/fresh.py).
_READY: weakref.WeakKeyDictionary[Store, tuple[int, int, set[int]]] = \
    weakref.WeakKeyDictionary()


def ready(store: Store, cs_pk: int) -> bool:
    """True when `cs_pk` has a current index (a positive answer is remembered)."""
    known = _READY.get(store)
    fmt = format_of(store.dialect)
    if known is not None and known[:2] == (store.generation, fmt) and cs_pk in known[2]:
        return True
    found = _ready(store, cs_pk)
    if found:
        if known is None or known[:2] != (store.generation, fmt) or len(known[2]) > 1_000:
            known = _READY[store] = (store.generation, fmt, set())
        known[2].add(cs_pk)
    return found


def _ready(store: Store, cs_pk: int) -> bool:
    try:
        rows = store._hot_query(_m(store.dialect == "sqlite",
                                   "SELECT format FROM search_meta WHERE cs_pk = ?"), (cs_pk,))
    except Exception as exc:  # no index was ever built in this database
        if "search_meta" not in str(exc):
            raise
        return False
    return bool(rows) and int(rows[0][0]) == format_of(store.dialect)


def missing(store: Store) -> list[int]:
    """Code systems big enough for an index that have no current one (after an upgrade)."""
    with store.engine.begin() as conn:
        ensure_meta(conn)
        rows = conn.exec_driver_sql(_m(conn, (
            "SELECT c.pk FROM code_system c LEFT JOIN search_meta m ON m.cs_pk = c.pk "
            "WHERE c.concept_count >= ? AND (m.format IS NULL OR m.format <> ?) "
            "ORDER BY c.pk")), (SEARCH_MIN, format_of(conn.dialect.name))).all()
    return [int(r[0]) for r in rows]


def search_page(store: Store, sel: Selection, query: str, offset: int, limit: int,
                total_cap: int | None = None) -> tuple[list[str], int | None]:
    """One page of the concepts of `sel` matching `query`, best first, and how many match
    (None when more than `total_cap` texts match, by default TOTAL_ROWS or TOTAL_FACTOR
    times the rows up to the page's end: counting them would cost more than the page),
    read tier by tier in rank order until the page is full."""
    sqlite = store.dialect == "sqlite"
    parsed = parse(query)
    qwords, prefixes = list(parsed.words), [p for p in parsed.prefixes if p]
    code = code_query(query)
    page = _Page(offset + limit)
    cond, cparams = where_sql(sel, "t.code", sqlite)
    ccond, ccparams = where_sql(sel, "c.code", sqlite)
    cactive = " AND NOT c.inactive" if sel.active_only else ""
    active = " AND t.inactive = 0" if sel.active_only else ""
    variants = list(dict.fromkeys((code, code.upper()))) if code is not None and \
        search_codes.may_be_code(store, sel.cs_pk, code) else []
    exact, begun = search_codes.read(store, sel, variants, page.need + 1,
                                     (cactive, ccond, ccparams))
    page.add(exact)  # the code itself
    term = _term(sel.cs_pk)
    plan = ancestors.plan(store, sel)
    token = plan.token if plan else None
    exact_cond, exact_params = cond, cparams
    if plan:  # the hierarchy condition is a token of the full-text query
        cond, cparams = where_sql(sel, "t.code", sqlite, plan.rest)
        if plan.exclude is not None:
            cond, cparams = cond + " AND t.code <> ?", [*cparams, plan.exclude]
        if not sqlite:  # the exact texts test the token in their own tsvector (no probe)
            exact_cond = cond + " AND t.tsv @@ CAST(? AS tsquery)"
            exact_params = [*cparams, f"'{plan.token}'"]
    # the exact texts below the token's concept by its kept bitset, when kept, not a closure
    # probe per text (or, PostgreSQL, the token in each text's own tsvector)
    by_bits = bitsets.exact(store, sel.cs_pk, token, parsed.text, f" AND t.kind <> {KEYWORD}"
                            f"{active}{cond}", cparams) if qwords and token else None
    if by_bits is not None:
        page.add(by_bits)
    elif qwords:  # the exact text: a display or designation, not a keyword (textfold)
        page.add(_stream(store, (f"SELECT t.id, t.code FROM {term} t WHERE t.norm = ? AND "
                                 f"t.kind <> {KEYWORD}{active}{exact_cond}"),
                         [parsed.text, *exact_params], page))
    page.add(begun)  # codes the query begins
    words_of: dict[str, list[str]] = {}  # the words each prefix begins, read once
    empty = {False: False, True: False}  # tiers (whole words, prefixes) no text can match
    if qwords and not page.full:  # also of each query word: which tiers no text can match
        words_of = _begun(store, sel.cs_pk, list(dict.fromkeys([*prefixes, *qwords])))
        empty = {False: not all(words_of[w][:1] == [w] for w in qwords),  # a word not indexed
                 True: not all(words_of[p] for p in prefixes)}  # a prefix beginning none
    for words, prefix in ((qwords, False), (prefixes, True)):
        if page.full or not qwords:
            break
        if prefix and page.complete and _only_themselves(store, sel.cs_pk, qwords, prefixes,
                                                         words_of):
            break  # every word of the whole-word tier, all read, is all its prefixes begin
        if empty[prefix]:
            page.complete = True  # the tier is empty
            continue
        page.complete = False
        if not words and not token:  # every word is a bare "c" or "p": any text
            page.add(_stream(store, f"SELECT t.id, t.code FROM {term} t WHERE 1 = 1"
                                    f"{active}{cond}", list(cparams), page, sel.cs_pk))
            continue
        if not token and subtree.drives(store, sel, words, prefix, page.need):
            page.add(subtree.rows(store, sel, words, prefix, active))
            continue
        share = subtree.share(store, sel)
        kept = bitsets.answer(store, sel.cs_pk, words, prefix, token, share, words_of, page,
                              (active, cond, list(cparams))) if token else None
        if kept is not None:  # a sparse intersection of dense clauses, from kept bitsets
            page.add(kept)
            continue
        src = _source(store, sel.cs_pk, words, prefix, page.need, share, token, words_of)
        page.add(_read(store, sel.cs_pk, src, page, (active, cond, list(cparams))))
    codes = page.codes[offset:offset + limit]
    if not page.full:  # every match was read
        return codes, len(page.codes)
    return codes, _total(store, sel, prefixes, variants, (active, cond, cparams),
                         (cactive, ccond, ccparams),
                         total_cap or max(TOTAL_ROWS, TOTAL_FACTOR * (offset + limit)), token,
                         words_of)


#: Texts counted at most for `total` (or TOTAL_FACTOR times the rows the page needs, if
#: more); beyond, the total is left out: counting would cost more than the page.
TOTAL_ROWS = 200
TOTAL_FACTOR = 3
_CHUNK = 50
#: Rows read beyond the codes a page still wants in a first full-text chunk (SQLite): a
#: concept may match by more than one text.
_MARGIN = 5


class _Page:
    """Codes in rank order, each once, up to `need`."""

    def __init__(self, need: int) -> None:
        self.need = need
        self.codes: list[str] = []
        self.seen: set[str] = set()
        #: Whether the last `_stream` read every row of its query (not stopped by a full page).
        self.complete = False

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


def _source(store: Store, cs_pk: int, qwords: list[str], prefix: bool, need: int = 0,
            share: float = 1.0, token: str | None = None,
            begun: dict[str, list[str]] | None = None) -> Source:
    """The texts holding every word (whole, or as a prefix) and `token` (an ancestor token,
    search_ancestors), if any. SQLite: one FTS5 query, read in rowid (= rank) order.
    PostgreSQL: one tsquery (GIN intersects them), read band by band (search_bands) when it
    has no prefix entry, when one word is rare enough, or when a scan would read more texts
    than their intersection holds (`need` rows, `share` passing a hierarchy condition); else
    (scan) all by LIKE (the token on `tsv`) over the texts in id order (dense matches)."""
    sqlite = store.dialect == "sqlite"
    if sqlite:
        fts = _fts(cs_pk)
        terms = _expanded(store, cs_pk, qwords, True, begun) if prefix else \
            [f'"{w}"' for w in qwords]
        match = " AND ".join([*terms, *([f'"{token}"'] if token else [])])
        return Source(f"{fts} f JOIN {_term(cs_pk)} t ON t.id = f.rowid WHERE {fts} MATCH ?",
                       [match], "f.rowid")
    freq = _frequencies(store, cs_pk, qwords, prefix) if qwords else {}
    freqs = [freq.get(w, 0) for w in qwords]
    if token:  # the subtree's texts, estimated; the share is in the token then
        freqs.append(_subtree_texts(store, cs_pk, share))
        share = 1.0
    terms = (_expanded(store, cs_pk, qwords, False, begun) if prefix else qwords) if qwords \
        else []
    # no prefix entry: GIN can skip within a band
    exact = bands.ENABLED and not any(t.endswith(":*") for t in terms)
    if exact or min(freqs) <= DRIVE_MAX or (need and _intersect(store, cs_pk, freqs, need,
                                                                 share)):
        texts = subtree._meta(store, cs_pk)[1]
        density = _density(freqs, texts) if texts else 1.0
        return Source("", [], "t.id + 0", density=density if exact else None,
                       gin=(_term(cs_pk), " & ".join(terms), token or ""))
    like = "(' ' || t.norm || ' ') LIKE ?" if not prefix else "(' ' || t.norm) LIKE ?"
    pattern = "% {} %" if not prefix else "% {}%"
    sql = f"{_term(cs_pk)} t WHERE 1 = 1" + "".join(f" AND {like}" for _ in qwords)
    if token:
        sql += " AND t.tsv @@ CAST(? AS tsquery)"
    return Source(sql, [pattern.format(w) for w in qwords] + ([f"'{token}'"] if token else []),
                   "t.id", scan=True)


def _read(store: Store, cs_pk: int, src: Source, page: _Page, rest: tuple[str, str, list[Any]]
          ) -> Iterator[Any]:
    """Rows (id, code) of `src` with the conditions `rest` (active, SQL, params), in id order
    while the page wants more: band group by band group when bands can cut it."""
    active, cond, cparams = rest
    groups: list[tuple[int, ...] | None] = [None] if src.density is None else [
        band for *_, band in bands.groups(subtree._meta(store, cs_pk)[1], src.density,
                                          page.need - len(page.codes),
                                          bool(src.gin and src.gin[2]))]
    after = 0  # the last id read: every match up to it is read once a group is done
    for band in groups:
        # the last group runs to the last id: `id > after` bounds it, and its band lexemes
        # (the biggest posting lists) would only cost GIN an OR of them
        tail = band is not None and bands.SPLITS in band and len(groups) > 1
        sql, params = src.where(None if tail else band)
        for row in _stream(store, f"SELECT t.id, t.code FROM {sql}{active}{cond}",
                           [*params, *cparams], page, cs_pk if src.scan else None, src.idcol,
                           after if tail else 0):
            after = int(row[0])
            yield row
        if page.full:
            return


def _subtree_texts(store: Store, cs_pk: int, share: float) -> int:
    """About how many texts a hierarchy condition keeping `share` of the concepts holds."""
    return int(share * subtree._meta(store, cs_pk)[1]) + 1


def _density(freqs: list[int], texts: int) -> float:
    """Share of the `texts` that hold every word of frequencies `freqs`, taken as
    independent."""
    density = 1.0
    for f in freqs:
        density *= min(1.0, f / texts)
    return density


def _intersect(store: Store, cs_pk: int, freqs: list[int], need: int, share: float) -> bool:
    """Whether the GIN intersection of frequent words reads fewer texts than a scan in id
    order would to fill `need` rows, words taken as independent: the scan reads about
    need / (share · density) texts, the intersection texts · density of them."""
    texts = subtree._meta(store, cs_pk)[1]
    if not texts:
        return False
    density = _density(freqs, texts)
    matches = texts * density
    return matches * share < need or need / (share * density) > matches


def _stream(store: Store, sql: str, params: list[Any], page: _Page, scan: int | None = None,
            idcol: str = "t.id", after: int = 0) -> Iterator[Any]:
    """Rows (id, code) of `sql` in id order after id `after`, read in chunks while the page
    wants more. `scan` (the cs_pk): `sql` filters every text, so it reads windows of ids (an
    index range the planner cannot mistake for a full scan). `idcol`: the column the id range
    and order go on (an FTS5 rowid: read in order, from where the last chunk ended)."""
    sqlite = store.dialect == "sqlite"
    last = after
    page.complete = False
    if scan is not None:
        top = int(_query(store, f"SELECT MAX(id) FROM {_term(scan)}", ())[0][0] or 0)
        window = SCAN_WINDOW
        while not page.full and last < top:
            yield from _query(store, _m(sqlite, f"{sql} AND t.id > ? AND t.id <= ? "
                                                   "ORDER BY t.id"), (*params, last, last + window))
            last += window
            window *= 2
        page.complete = last >= top
        return
    # SQLite reads rows lazily in id order: a first chunk of about the codes still wanted
    # costs the rows up to them (a sparse match costs in proportion); PostgreSQL ranks every
    # match of a GIN query whatever the LIMIT, so it reads more at once
    lazy = sqlite and idcol == "f.rowid"
    chunk = page.need - len(page.codes) + _MARGIN if lazy else max(_CHUNK, 2 * page.need)
    grow = 2
    while not page.full:
        rows = _query(store, _m(sqlite, f"{sql} AND {idcol} > ? ORDER BY {idcol} LIMIT ?"),
                                (*params, last, chunk))
        yield from rows
        if len(rows) < chunk:
            page.complete = True
            return
        last = int(rows[-1][0])
        # the next chunk: a multiple of the codes still wanted (rows repeat codes), growing
        chunk = grow * (page.need - len(page.codes)) + _MARGIN if lazy else chunk * 4
        grow *= 4


def _total(store: Store, sel: Selection, qwords: list[str], variants: list[str],
           text: tuple[str, str, list[Any]], codes: tuple[str, str, list[Any]], cap: int,
           token: str | None = None, begun: dict[str, list[str]] | None = None) -> int | None:
    """How many concepts match (None: more than `cap` texts and codes do); `token`: the
    ancestor token standing for the hierarchy condition `text` leaves out."""
    sqlite = store.dialect == "sqlite"
    freq = _frequencies(store, sel.cs_pk, qwords, True) if qwords else {}
    if qwords and min(freq.get(w, 0) for w in qwords) > cap:
        return None  # every word is in more than `cap` texts: counting costs more than a page
    arms: list[str] = []
    params: list[Any] = []
    if qwords:
        source, sparams = _source(store, sel.cs_pk, qwords, True,
                                  share=subtree.share(store, sel), token=token,
                                  begun=begun).where()
        active, cond, cparams = text
        arms.append(f"SELECT t.code AS code FROM {source}{active}{cond}")
        params += [*sparams, *cparams]
    cactive, ccond, ccparams = codes
    for variant in variants:
        arms.append(f"SELECT c.code AS code FROM concept c WHERE c.cs_pk = ? AND c.code >= ? "
                    f"AND c.code < ?{cactive}{ccond}")
        params += [sel.cs_pk, variant, variant + "\U0010ffff", *ccparams]
    if not arms:
        return 0
    rows = _query(store, _m(sqlite, (
        f"SELECT COUNT(DISTINCT code), COUNT(*) FROM (SELECT code FROM "
        f"({' UNION ALL '.join(arms)}) u LIMIT ?) z")), (*params, cap + 1))
    distinct, found = int(rows[0][0] or 0), int(rows[0][1] or 0)
    return None if found > cap else distinct


def build_missing(store: Store, progress: Callable[[str, int, int | None], None] | None = None
                  ) -> list[int]:
    """Build every index that is missing or of an older format (after an upgrade), each in
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
        postings.settle(store.engine, [cs_pk])
        built.append(cs_pk)
    with store.engine.begin() as conn:  # indexes built before the code index was added
        ensure_meta(conn)
        for (pk,) in conn.exec_driver_sql(_m(conn, "SELECT cs_pk FROM search_meta WHERE "
                                                   "format = ?"),
                                         (format_of(conn.dialect.name),)).all():
            subtree.ensure_code_index(conn, int(pk))
    return built


def _labelled(progress: Callable[[str, int, int | None], None], label: str) -> Progress:
    def report(done: int, total: int | None) -> None:
        progress(label, done, total)
    return report
