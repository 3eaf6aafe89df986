"""The codes a text query may be: read first by a search page (store/search.py).

A query without spaces may be a code, exactly or as a prefix (`E11`, `2160-0`, `1234567`):
`read` finds the codes equal to it and the codes it begins. `may_be_code` spares that read
where it cannot find anything: a query holding a letter is no code (nor the beginning of one)
of a code system none of whose codes holds a letter (SNOMED CT's SCTIDs, LOINC's numbers),
which is known per code system version once (its concepts never change: a new load is a new
pk; additions add designations and properties only).
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from termserver.store.page_reads import paramstyled as _m
from termserver.store.page_reads import pk_fact
from termserver.store.page_reads import query as _query
from termserver.store.pages import Selection
from termserver.textfold import has_case

if TYPE_CHECKING:
    from termserver.store import Store

_LETTERS: weakref.WeakKeyDictionary[Store, dict[int, bool]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def may_be_code(store: Store, cs_pk: int, query: str) -> bool:
    """False when `query` cannot be a code of `cs_pk` or begin one (see the module's doc)."""
    return not has_case(query) or _codes_have_letters(store, cs_pk)


def _codes_have_letters(store: Store, cs_pk: int) -> bool:
    """Whether any code of `cs_pk` holds a letter (read once per pk: one scan of its codes,
    stopped at the first)."""
    return pk_fact(store, _LETTERS, _LOCK, cs_pk,
                   "SELECT 1 FROM concept WHERE cs_pk = ? AND LOWER(code) <> UPPER(code) LIMIT 1")


def read(store: Store, sel: Selection, variants: list[str], need: int,
         codes: tuple[str, str, list[Any]]) -> tuple[list[Any], list[Any]]:
    """(rows of the codes equal to a variant, rows of up to `need` codes each variant
    begins, in code order), in one query: each arm is read in its order, arm after arm."""
    if not variants:
        return [], []
    cactive, ccond, ccparams = codes
    arms: list[str] = []
    params: list[Any] = []
    for i, variant in enumerate(variants):
        arms.append(f"SELECT {i} AS arm, c.code FROM concept c WHERE c.cs_pk = ? AND "
                    f"c.code = ?{cactive}{ccond}")
        params += [sel.cs_pk, variant, *ccparams]
    for i, variant in enumerate(variants):
        arms.append(f"SELECT * FROM (SELECT {len(variants) + i} AS arm, c.code FROM concept c "
                    f"WHERE c.cs_pk = ? AND c.code > ? AND c.code < ?{cactive}{ccond} ORDER BY "
                    f"c.code LIMIT ?) b{i}")
        params += [sel.cs_pk, variant, variant + "\U0010ffff", *ccparams, need]
    rows = _query(store, _m(store.dialect == "sqlite", " UNION ALL ".join(arms)), tuple(params))
    ordered = sorted(rows, key=lambda r: int(r[0]))  # stable: each arm keeps its order
    return ([r for r in ordered if int(r[0]) < len(variants)],
            [r for r in ordered if int(r[0]) >= len(variants)])
