"""Rank bands of the PostgreSQL text index: a page of frequent words read without decoding
their whole posting lists.

A GIN index returns every match of a tsquery at once, unordered: for frequent words (and the
ancestor token of a big subtree, termserver.store.search_ancestors) it walks the shortest
posting list entry by entry, tests each against the others, and fetches and sorts every match
before the page of 20 is cut. Texts are numbered in rank order (termserver.store.search), so
a page is almost always among the first ids. Each text's document therefore also holds the
lexeme of its *band*, a range of ids: band 0 the first ``total / 2**SPLITS`` ids, band j ≥ 1
the next ``total / 2**(SPLITS + 1 - j)`` (each as many as all before it; the last is half of
all ids). A tsquery ANDed with a band's lexeme walks at most that band's (short) list. The
texts of the first bands (0 … TOKEN_BANDS) also hold each ancestor token once more with the
band (``token.band``), so ECL ``<< X`` + filter there walks X's texts in the band only.
Bands are read in order, grouped so that the first group likely fills the page.

A band lexeme is ``_y`` and the band number: folded words are letters and digits, ancestor
tokens ``_`` + digits or ``_x`` + hex, so no query word, prefix or ancestor matches it.
SQLite's FTS5 reads matches lazily in rowid (= rank) order and needs no bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Read PostgreSQL text pages band by band (tests compare both ways).
ENABLED = True
#: Bands: SPLITS + 1, the first 1 / 2**SPLITS of the ids, then each as big as all before.
SPLITS = 10
#: Bands whose texts also hold banded ancestor tokens: the first half of the ids.
TOKEN_BANDS = SPLITS - 1
#: A group of bands is read when the matches expected in it (words taken as independent)
#: are at least MARGIN times the rows the page still wants; ranks are not independent of
#: the words (short texts come first and hold fewer words), hence the margin.
MARGIN = 3
#: Bands read per later group (each group then covers 2**STEP times the ids read before).
STEP = 2

Group = tuple[int, int, tuple[int, ...] | None]


def bounds(total: int) -> list[int]:
    """The last id of each band of an index of `total` texts (the last is `total`)."""
    first = max(1, -(-total // 2 ** SPLITS))
    out = [min(total, first << j) for j in range(SPLITS)]
    return [*out, max(total, out[-1])]


def lexeme(band: int) -> str:
    return f"_y{int(band)}"


def banded(token: str, band: int) -> str:
    """The ancestor token `token` as held by texts of band `band` (≤ TOKEN_BANDS)."""
    return f"{token}.{int(band)}"


def band_sql(id_expr: str, total: int) -> str:
    """SQL of the band number of the text numbered `id_expr`."""
    arms = " ".join(f"WHEN {id_expr} <= {b} THEN {i}"
                    for i, b in enumerate(bounds(total)[:-1]))
    return f"(CASE {arms} ELSE {SPLITS} END)"


def lexeme_sql(id_expr: str, total: int) -> str:
    """SQL of the band lexeme of the text numbered `id_expr`."""
    return f"('_y' || {band_sql(id_expr, total)})"


def document_sql(total: int, tokens: bool) -> str:
    """PostgreSQL: the indexed document of ranked row `x` (id, doc: words and ancestor tokens,
    toks: the text[] of those tokens when `tokens`) with its band lexeme and, in the first
    TOKEN_BANDS bands, its banded ancestor tokens."""
    out = f"x.doc || array_to_tsvector(ARRAY[{lexeme_sql('x.id', total)}])"
    if not tokens:
        return out
    last = bounds(total)[TOKEN_BANDS]
    return (f"{out} || CASE WHEN x.id <= {last} THEN array_to_tsvector(ARRAY(SELECT t || '.' "
            f"|| {band_sql('x.id', total)} FROM unnest(x.toks) t)) ELSE ''::tsvector END")


def groups(total: int, density: float, need: int, token: bool = False) -> list[Group]:
    """(first id, last id, bands or None for no band condition) of each group read in turn:
    the first holds the bands where about MARGIN × `need` matches are expected at `density`
    (matches per text), then STEP bands at a time (never across TOKEN_BANDS). Without an
    ancestor `token`, one group without a band condition when the first would hold most of
    the index; with one, its banded tokens (a walk of the subtree's texts in those bands
    only) are read before the rest, however sparse the matches."""
    ends = bounds(total)
    want = MARGIN * max(1, need)
    first = 0
    while first < SPLITS and ends[first] * density < want:
        first += 1
    if total <= 0 or (first >= SPLITS - 1 and not token):
        return [(1, total, None)]
    if token:
        first = min(first, TOKEN_BANDS)
    out: list[Group] = [(1, ends[first], tuple(range(first + 1)))]
    band = first + 1
    while band <= SPLITS:
        last = min(SPLITS, band + STEP - 1)
        if band <= TOKEN_BANDS < last:
            last = TOKEN_BANDS
        out.append((ends[band - 1] + 1, ends[last], tuple(range(band, last + 1))))
        band = last + 1
    return out


def raw_tsquery(token: str | None, group: tuple[int, ...] | None) -> str:
    """The lexeme part of a tsquery (quoted, for CAST(? AS tsquery)): the ancestor token, if
    any, and the group's bands ('' for neither)."""
    if group is None:
        return f"'{token}'" if token else ""
    if token and max(group) <= TOKEN_BANDS:
        return "(" + " | ".join(f"'{banded(token, b)}'" for b in group) + ")"
    lexemes = "(" + " | ".join(f"'{lexeme(b)}'" for b in group) + ")"
    return f"'{token}' & {lexemes}" if token else lexemes


@dataclass(frozen=True, slots=True)
class Source:
    """FROM … WHERE … of a text read and its parameters; `idcol`: the column its id range
    and order go on; `scan`: it filters every text (read in windows of ids); `gin`
    (PostgreSQL: table, words tsquery, ancestor token or ''): one GIN tsquery, whose SQL
    `where` builds for a group of bands; `density`: its expected matches per text, when
    bands can cut it."""

    sql: str
    params: list[Any]
    idcol: str
    scan: bool = False
    density: float | None = None
    gin: tuple[str, str, str] | None = None

    def where(self, band: tuple[int, ...] | None = None) -> tuple[str, list[Any]]:
        if self.gin is None:
            return self.sql, self.params
        table, words, token = self.gin
        raw = raw_tsquery(token or None, band)
        # `id + 0`: the planner must not walk the id index in order testing every text
        # (with a hierarchy condition or a word it misjudges, it would); the GIN bitmap
        # holds at most the words' intersection
        test = "t.tsv @@ (to_tsquery('simple', ?) && CAST(? AS tsquery))" if raw and \
            words else "t.tsv @@ CAST(? AS tsquery)" if raw else \
            "t.tsv @@ to_tsquery('simple', ?)"
        return f"{table} t WHERE {test}", ([words] if words else []) + ([raw] if raw else [])
