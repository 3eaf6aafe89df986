"""Text below a concept through the index's ancestor tokens (store/search_ancestors.py) answers
as the former path (per-row hierarchy test or the subtree-driven read) and the in-memory
expansion do, on SQLite and PostgreSQL: multiple parents, inactive concepts, codes that differ
only in case, `<` leaving X out, ECL over SNOMED CT, and after the code system is replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.store import Store, expand_subtree, search, search_ancestors, search_vocab
from tests.helpers import indexed_api
from tests.loaders.test_snomed import load_fixture
from tests.service.test_expand_paged import _both

CS = "http://example.org/cs/tokens"
SCT = "http://snomed.info/sct"
PROPS = [{"code": "inactive", "type": "boolean"}, {"code": "parent", "type": "code"}]


def _concept(code: str, display: str, *children: dict[str, Any], inactive: bool = False,
             parents: tuple[str, ...] = (), de: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"code": code, "display": display}
    props = [{"code": "parent", "valueCode": p} for p in parents]
    if inactive:
        props.append({"code": "inactive", "valueBoolean": True})
    if props:
        c["property"] = props
    if de:
        c["designation"] = [{"language": "de", "value": de}]
    if children:
        c["concept"] = list(children)
    return c


CONCEPTS = [
    _concept("100", "Disorder", _concept(
        "110", "Metabolic disorder",
        _concept("111", "Diabetes mellitus", _concept("E11.9", "Diabetes mellitus type 2"),
                 _concept("e11.9", "Diabetes insipidus nephrogenic"), de="Zuckerkrankheit"),
        _concept("112", "Old diabetes finding", inactive=True)),
        _concept("120", "Kidney disorder", _concept("121", "Diabetic kidney disease")),
        _concept("130", "Disorder of liver"),
        de="Störung"),
    _concept("200", "Finding", _concept("210", "Diabetes finding"),
             _concept("220", "Sodium level finding")),
    # several parents: under 110 and 200 (and, through 210's child, deeper)
    _concept("M1", "Diabetes with sodium imbalance", parents=("110", "210")),
    _concept("x", "Unrelated diabetes sodium x1"),
]


def _code_system(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "hierarchyMeaning": "is-a", "name": "Tokens",
            "caseSensitive": True, "property": PROPS, "concept": [*CONCEPTS, *(extra or [])]}


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        load_fixture(store)
        yield c


def _vs(system: str, *filters: dict[str, str]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": "http://example.org/vs/tokens",
            "status": "active", "compose": {"include": [{"system": system,
                                                         "filter": list(filters)}]}}


def _three(api: TestClient, monkeypatch: pytest.MonkeyPatch, vs: dict[str, Any],
           **params: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The token plan's answer, the former path's and the in-memory one (no `total` where
    the token answer leaves it out)."""
    used: list[object] = []
    real = search_ancestors.plan

    def spy(*args: Any) -> search_ancestors.Plan | None:
        found = real(*args)
        used.append(found)
        return found

    monkeypatch.setattr(search_ancestors, "plan", spy)
    tokens, memory = _both(api, monkeypatch, vs, **params)  # _both undoes the patches
    assert any(used), "the token plan was not used"
    monkeypatch.setattr(search_ancestors, "ENABLED", False)
    former, _ = _both(api, monkeypatch, vs, **params)
    if "total" not in tokens:
        memory.pop("total", None)
        former.pop("total", None)
    return tokens, former, memory


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("is-a", "100", {"count": 20, "filter": "diabetes"}),
    ("is-a", "100", {"count": 20, "filter": "diab", "activeOnly": True}),
    ("descendent-of", "100", {"count": 20, "filter": "disorder"}),
    ("is-a", "110", {"count": 20, "filter": "sodium"}),  # M1: a second parent
    ("is-a", "200", {"count": 20, "filter": "diab"}),
    ("descendent-of", "210", {"count": 20, "filter": "diabetes"}),
    ("is-a", "111", {"count": 20, "filter": "diabetes"}),  # E11.9 and e11.9 apart
    ("descendent-of", "e11.9", {"count": 20, "filter": "diabetes"}),
    ("is-a", "E11.9", {"count": 20, "filter": "type"}),
    ("is-a", "100", {"count": 2, "offset": 1, "filter": "dis"}),
    ("is-a", "100", {"count": 20, "filter": "zuckerkrankheit", "displayLanguage": "de"}),
    ("is-a", "100", {"count": 20, "filter": "x"}),  # no token is a word or prefix
    ("is-a", "100", {"count": 20, "filter": "1"}),
    ("is-a", "100", {"count": 20, "filter": "p"}),  # a bare "p": any text below 100
    ("is-a", "100", {"count": 20, "filter": "diabetes 111"}),
]


@pytest.mark.parametrize(("op", "value", "params"), CASES)
def test_tokens_answer_like_the_former_path(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                            op: str, value: str, params: dict[str, Any]
                                            ) -> None:
    vs = _vs(CS, {"property": "concept", "op": op, "value": value})
    tokens, former, memory = _three(api, monkeypatch, vs, **params)
    assert tokens == former == memory
    for entry in tokens.get("contains", []):
        assert "_" not in entry.get("display", "")


@pytest.mark.parametrize("cost", [0.0, 1e9])
def test_former_path_kept_when_tokens_are_off(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                              cost: float) -> None:
    monkeypatch.setattr(search_ancestors, "ENABLED", False)
    monkeypatch.setattr(expand_subtree, "SUBTREE_COST", cost)
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "100"})
    paged, memory = _both(api, monkeypatch, vs, count=20, filter="diabetes")
    assert paged == memory and "M1" in [c["code"] for c in paged["contains"]]


@pytest.mark.parametrize(("ecl", "words"), [
    ("<< 404684003", "disorder"), ("< 64572001", "liver"), ("<< 64572001", "dis"),
    ("<< 138875005", "structure"), ("< 138875005", "finding site"),
    ("<< 307530000", "appendicitis"),  # inactive, no parents: itself only
])
def test_ecl_over_snomed_like_the_former_path(api: TestClient,
                                              monkeypatch: pytest.MonkeyPatch,
                                              ecl: str, words: str) -> None:
    vs = _vs(SCT, {"property": "constraint", "op": "=", "value": ecl})
    tokens, former, memory = _three(api, monkeypatch, vs, count=20, filter=words)
    assert tokens == former == memory


def test_tokens_follow_a_replaced_code_system(api: TestClient,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    changed = _code_system([_concept("N1", "Diabetes new finding", parents=("220",))])
    changed["id"] = api.get(f"/fhir/CodeSystem?url={CS}").json()["entry"][0]["resource"]["id"]
    assert api.put(f"/fhir/CodeSystem/{changed['id']}", json=changed).status_code == 200
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": "200"})
    tokens, former, memory = _three(api, monkeypatch, vs, count=20, filter="diabetes")
    assert tokens == former == memory
    assert sorted(c["code"] for c in tokens["contains"]) == ["210", "M1", "N1"]


@pytest.mark.parametrize("code", ["138875005", "E11.9", "e11.9", "", "Ä-1 x", "0"])
def test_token_sql_matches_python(store: Store, code: str) -> None:
    sqlite = store.dialect == "sqlite"
    mark = "?" if sqlite else "%s"
    with store.engine.connect() as conn:
        found = conn.exec_driver_sql(
            f"SELECT {search_ancestors.token_sql('c', sqlite)} FROM "
            f"(SELECT CAST({mark} AS TEXT) AS c) s",
            (code,)).scalar()
        assert found == search_ancestors.token(code)
    assert search_ancestors.token(code).startswith("_")


@pytest.mark.parametrize("intersect", [True, False])
@pytest.mark.parametrize(("op", "value", "params"), CASES[:6])
def test_frequent_words_with_a_token_alike(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                           intersect: bool, op: str, value: str,
                                           params: dict[str, Any]) -> None:
    """Every word and the token count as frequent: PostgreSQL intersects them in the GIN index
    or scans the texts in id order testing the token on `tsv`, to the same answer."""
    monkeypatch.setattr(search, "DRIVE_MAX", -1)
    monkeypatch.setattr(search, "_intersect", lambda *args: intersect)
    vs = _vs(CS, {"property": "concept", "op": op, "value": value})
    paged, memory = _both(api, monkeypatch, vs, **params)
    if "total" not in paged:
        memory.pop("total", None)
    assert paged == memory


@pytest.mark.parametrize("margin", [0, 1])
@pytest.mark.parametrize(("op", "value", "params"), CASES)
def test_small_chunks_answer_alike(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                   margin: int, op: str, value: str, params: dict[str, Any]
                                   ) -> None:
    """SQLite reads a full-text match in chunks of about the codes still wanted (search.
    _MARGIN more), then again from where it stopped: with no margin at all, rows repeating a
    code (a display and its designations) make every page take further chunks."""
    monkeypatch.setattr(search, "_MARGIN", margin)
    vs = _vs(CS, {"property": "concept", "op": op, "value": value})
    tokens, former, memory = _three(api, monkeypatch, vs, **params)
    assert tokens == former == memory


@pytest.mark.parametrize(("value", "words"), [
    ("100", "disorder"),  # whole words only: the prefix tier would read the same texts
    ("100", "kidney disorder"),
    ("100", "diabetes"),  # folded, "diabetic" is "diabetik": not begun by "diabetes"
    ("100", "diabet"),  # a prefix of two words: the prefix tier reads them
    ("100", "sodium dis"),
])
def test_prefix_tier_skipped_only_when_it_adds_nothing(
        api: TestClient, monkeypatch: pytest.MonkeyPatch, value: str, words: str) -> None:
    skipped: list[bool] = []
    real = search_vocab.only_themselves

    def spy(*args: Any) -> bool:
        found = real(*args)
        skipped.append(found)
        return found

    monkeypatch.setattr(search, "_only_themselves", spy)
    vs = _vs(CS, {"property": "concept", "op": "is-a", "value": value})
    tokens, former, memory = _three(api, monkeypatch, vs, count=20, filter=words)
    assert tokens == former == memory
    assert any(skipped) == (words in ("disorder", "kidney disorder", "diabetes"))


def test_word_frequencies_read_once_per_write(db_url: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Frequencies only steer the plan: read once, then remembered until the store writes."""
    with indexed_api(db_url, monkeypatch, _code_system()) as (_, store):
        pk = int(store._hot_query(
            "SELECT pk FROM code_system WHERE url = " + ("?" if store.dialect == "sqlite"
                                                        else "%s"), (CS,))[0][0])
        reads: list[str] = []
        real = search_vocab._query

        def spy(*args: Any) -> list[Any]:
            reads.append(str(args[1]))
            return real(*args)

        monkeypatch.setattr(search_vocab, "_query", spy)
        first = search_vocab.frequencies(store, pk, ["diabetes", "nothing"], False)
        assert set(first) == {"diabetes"} and first["diabetes"] > 0 and len(reads) == 1
        assert search_vocab.frequencies(store, pk, ["nothing", "diabetes"], False) == first
        assert search_vocab.frequencies(store, pk, ["diab"], True)["diab"] > first["diabetes"]
        assert len(reads) == 2  # only "diab" as a prefix was read
        store.generation += 1  # what a write through the store does
        assert search_vocab.frequencies(store, pk, ["diabetes"], False) == first
        assert len(reads) == 3
