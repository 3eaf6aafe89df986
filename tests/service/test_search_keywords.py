"""Keywords (designations used as search aids, LOINC's RELATEDNAMES2) match like any text but
never as the exact text, and rank after every other text of their tier: "TSH" finds the term
whose names say TSH before the many whose related names merely list it. The index and the
in-memory filter answer alike, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.textfold import KEYWORD, text_kind
from tests.helpers import indexed_api
from tests.service.test_expand_paged import _both

CS = "http://example.org/cs/keywords"
RELATED = {"system": "http://loinc.org", "code": "RELATEDNAMES2"}


def _concept(code: str, display: str, *related: str, short: str | None = None
             ) -> dict[str, Any]:
    designations = [{"language": "en", "use": RELATED, "value": r} for r in related]
    if short:
        designations.append({"language": "en", "value": short})
    return {"code": code, "display": display, "designation": designations}


def _code_system() -> dict[str, Any]:
    concepts = [_concept(f"1{i:03d}-0", f"Thyrotropin receptor variant {i} [Units] in Serum",
                         "TSH", "Thyroid stimulating hormone") for i in range(30)]
    concepts.append(_concept("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma",
                             "TSH", short="TSH SerPl-aCnc"))
    concepts.append(_concept("2000-0", "TSH", "Thyrotropin"))
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "name": "Keywords", "concept": concepts}


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        yield c


def test_text_kind_by_use() -> None:
    assert text_kind("RELATEDNAMES2") == KEYWORD
    assert text_kind(None) != KEYWORD and text_kind("900000000000013009") != KEYWORD


@pytest.mark.parametrize("text", ["TSH", "tsh", "thyroid stim", "Thyrotropin"])
def test_keywords_rank_after_names_and_never_as_the_exact_text(
        api: TestClient, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/kw", "status": "active",
          "compose": {"include": [{"system": CS}]}}
    paged, memory = _both(api, monkeypatch, vs, filter=text, count=5)
    memory.pop("total", None)
    paged.pop("total", None)
    assert paged == memory
    codes = [c["code"] for c in paged["contains"]]
    if text.lower() == "tsh":  # the display "TSH", then a name holding the word, then keywords
        assert codes[:2] == ["2000-0", "3016-3"], codes
    if text == "thyroid stim":  # a keyword-only match still matches
        assert codes and all(c.startswith("1") for c in codes), codes
