"""A search page reads the codes a query may be (termserver/store/search_codes.py) only where
it can find one: a query with a letter is no code of a code system whose codes have none."""

from __future__ import annotations

from typing import Any

import pytest

from termserver.ingest import save_resource
from termserver.store import Store, search, search_codes
from termserver.store.pages import Selection


def _cs(url: str, codes: list[str]) -> dict[str, Any]:
    concepts = [{"code": c, "display": f"Heart finding {c}"} for c in codes]
    return {"resourceType": "CodeSystem", "id": url.rsplit("/", 1)[1], "url": url,
            "version": "1", "status": "active", "content": "complete", "concept": concepts}


def _pk(store: Store, url: str) -> int:
    cs = store.resolve_code_system(url)
    assert cs is not None
    return cs.pk


def test_codes_are_read_only_where_the_query_may_be_one(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SEARCH_MIN", 10)
    digits = [str(100000 + 7 * i) for i in range(30)]
    lettered = [f"E{i:02d}" for i in range(30)]
    with store.writer() as w:
        save_resource(w, _cs("http://example.org/cs/sctid-like", digits), mode="canonical")
        save_resource(w, _cs("http://example.org/cs/icd-like", lettered), mode="canonical")
    num, icd = _pk(store, "http://example.org/cs/sctid-like"), \
        _pk(store, "http://example.org/cs/icd-like")
    assert not search_codes.may_be_code(store, num, "heart")
    assert search_codes.may_be_code(store, num, "1000")  # digits: read
    assert search_codes.may_be_code(store, icd, "heart")  # its codes hold letters
    assert search_codes.may_be_code(store, icd, "e1")
    reads: list[list[str]] = []
    real = search_codes.read

    def spy(store: Store, sel: Selection, variants: list[str], *rest: Any) -> Any:
        reads.append(variants)
        return real(store, sel, variants, *rest)

    monkeypatch.setattr(search_codes, "read", spy)
    found, total = search.search_page(store, Selection(num), "heart", 0, 5)
    assert len(found) == 5 and total == 30 and reads[-1] == []  # no code read
    assert search.search_page(store, Selection(num), digits[3], 0, 5)[0] == [digits[3]]
    assert reads[-1] == [digits[3]]
    assert search.search_page(store, Selection(icd), "e0", 0, 20)[0][:3] == \
        ["E00", "E01", "E02"]  # codes the query begins, found by the code read
    assert reads[-1] == ["e0", "E0"]
