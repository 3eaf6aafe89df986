"""Paged $expand read from the database (service/expand_paged.py) answers exactly as the
in-memory expansion does, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.service import expand_paged
from termserver.store import search
from tests.helpers import indexed_api

CS = "http://example.org/cs/lab"
VS = "http://example.org/vs/lab"

CONCEPTS: list[dict[str, Any]] = [
    {"code": "D", "display": "Diseases", "concept": [
        {"code": "E11", "display": "Diabetes mellitus type 2", "concept": [
            {"code": "E11.9", "display": "Diabetes mellitus type 2 without complications"}]},
        {"code": "E10", "display": "Diabetes mellitus type 1",
         "designation": [{"language": "de", "value": "Diabetes mellitus, Typ 1"}]},
        {"code": "H1", "display": "Haemoglobin measurement",
         "designation": [{"language": "de", "value": "Hämoglobin-Messung"}]},
        {"code": "X1", "display": "Old diabetes code",
         "property": [{"code": "status", "valueCode": "retired"}]}]},
    {"code": "S", "display": "Sodium", "property": [{"code": "CLASS", "valueString": "CHEM"}],
     "designation": [{"language": "de", "value": "Natrium"}]},
    {"code": "S2", "display": "Sodium serum", "property": [
        {"code": "CLASS", "valueString": "CHEM"}, {"code": "SCALE_TYP", "valueString": "Qn"}],
     "designation": [{"language": "de", "value": "Natrium im Serum"}]},
    {"code": "U", "display": "Urine sodium",
     "property": [{"code": "CLASS", "valueString": "UA"}]},
]


def _code_system() -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "hierarchyMeaning": "is-a", "name": "Lab",
            "property": [{"code": "status", "type": "code"},
                         {"code": "CLASS", "type": "string"},
                         {"code": "SCALE_TYP", "type": "string"},
                         {"code": "inactive", "type": "boolean"}],
            "concept": CONCEPTS}


@pytest.fixture
def api(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with indexed_api(db_url, monkeypatch, _code_system()) as (c, store):
        yield c


def _vs(*include: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "url": VS, "status": "active",
            "compose": {"include": list(include) or [{"system": CS}]}}


def _expand(api: TestClient, vs: dict[str, Any], **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"resourceType": "Parameters",
                            "parameter": [{"name": "valueSet", "resource": vs}]}
    for name, value in params.items():
        key = "valueInteger" if isinstance(value, int) and not isinstance(value, bool) else \
            "valueBoolean" if isinstance(value, bool) else "valueString"
        body["parameter"].append({"name": name, key: value})
    r = api.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 200, r.text
    expansion: dict[str, Any] = r.json()["expansion"]
    expansion.pop("identifier")
    expansion.pop("timestamp")
    return expansion


def _both(api: TestClient, monkeypatch: pytest.MonkeyPatch, vs: dict[str, Any],
          **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    calls: list[object] = []
    real = expand_paged.answer

    def spy(*args: Any, **kwargs: Any) -> expand_paged.Answer:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(expand_paged, "answer", spy)
    paged = _expand(api, vs, **params)
    assert calls, "the paged path did not answer"
    monkeypatch.setattr(expand_paged, "plan", lambda run, vs: None)
    memory = _expand(api, vs, **params)
    monkeypatch.undo()
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    return paged, memory


def _codes(expansion: dict[str, Any]) -> list[str]:
    return [c["code"] for c in expansion.get("contains", [])]


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"system": CS}, {"count": 3}),
    ({"system": CS}, {"count": 3, "offset": 4}),
    ({"system": CS}, {"count": 5, "offset": 50}),
    ({"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "D"}]},
     {"count": 4, "offset": 1}),
    ({"system": CS, "filter": [{"property": "concept", "op": "descendent-of", "value": "D"}]},
     {"count": 10}),
    ({"system": CS, "filter": [{"property": "CLASS", "op": "=", "value": "CHEM"}]},
     {"count": 10}),
    ({"system": CS, "filter": [{"property": "CLASS", "op": "in", "value": "CHEM,UA"},
                               {"property": "SCALE_TYP", "op": "not-in", "value": "Qn"}]},
     {"count": 10}),
    ({"system": CS, "filter": [{"property": "concept", "op": "in", "value": "S,U,E10"}]},
     {"count": 2, "displayLanguage": "de"}),
    ({"system": CS, "filter": [{"property": "concept", "op": "is-not-a", "value": "D"}]},
     {"count": 10, "includeDesignations": True}),
    ({"system": CS}, {"count": 10, "filter": "diab mell"}),
    ({"system": CS}, {"count": 10, "filter": "sodium"}),
    ({"system": CS}, {"count": 10, "filter": "natrium serum"}),
    ({"system": CS}, {"count": 10, "filter": "hamoglobin"}),
    ({"system": CS}, {"count": 10, "filter": "E11"}),
    ({"system": CS}, {"count": 10, "filter": "e11"}),  # as typed, then upper case
    ({"system": CS}, {"count": 1, "offset": 1, "filter": "e1"}),
    ({"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "D"}]},
     {"count": 10, "filter": "diabetes"}),
    ({"system": CS, "filter": [{"property": "CLASS", "op": "=", "value": "CHEM"}]},
     {"count": 10, "filter": "sod"}),
]


@pytest.mark.parametrize(("include", "params"), CASES)
def test_paged_answers_like_the_in_memory_path(api: TestClient, monkeypatch: pytest.MonkeyPatch,
                                               include: dict[str, Any],
                                               params: dict[str, Any]) -> None:
    paged, memory = _both(api, monkeypatch, _vs(include), **params)
    if "total" not in paged:  # left out where counting costs more: then the page agrees
        memory.pop("total")
    assert paged == memory


def test_text_filter_semantics(api: TestClient) -> None:
    def codes(text: str, **params: Any) -> list[str]:
        return _codes(_expand(api, _vs(), count=20, filter=text, **params))

    assert codes("diab mell")[:2] == ["E10", "E11"]  # shorter display first
    assert codes("mell diab") == codes("diab mell")  # any order
    assert codes("sodium") == ["S", "S2", "U"]  # exact, then shorter
    assert codes("sodium serum") == ["S2"]
    assert codes("Natrium") == ["S", "S2"]  # German designations are searched
    for spelling in ("hamoglobin", "Hämoglobin", "Haemoglobin", "HAEMO"):
        assert codes(spelling) == ["H1"], spelling
    assert codes("E11") == ["E11", "E11.9"]  # code, then codes it begins
    assert codes("e11") == ["E11", "E11.9"]  # the upper-case code and the codes it begins
    assert codes("E1")[:3] == ["E10", "E11", "E11.9"]  # codes it begins, in code order
    assert codes("Typ 1") == ["E10"]
    assert codes("nothing-like-it") == []


def test_display_language_chooses_the_display(api: TestClient) -> None:
    found = _expand(api, _vs(), count=5, filter="natrium", displayLanguage="de")
    assert [c.get("display") for c in found["contains"]] == ["Natrium", "Natrium im Serum"]
    assert found["total"] == 2


def test_unpaged_too_costly_still_refused(api: TestClient) -> None:
    body: dict[str, Any] = {"resourceType": "Parameters",
                            "parameter": [{"name": "valueSet", "resource": _vs()}]}
    r = api.post("/fhir/ValueSet/$expand", json=body, headers={"x-too-costly-threshold": "3"})
    assert r.status_code in (400, 422), r.text
    assert r.json()["issue"][0]["code"] == "too-costly"
    body["parameter"].append({"name": "count", "valueInteger": 2})
    r = api.post("/fhir/ValueSet/$expand", json=body, headers={"x-too-costly-threshold": "3"})
    assert r.status_code == 200 and len(r.json()["expansion"]["contains"]) == 2


def test_unpaged_small_filtered_expansion_from_the_index(api: TestClient) -> None:
    found = _expand(api, _vs(), filter="sodium")
    assert _codes(found) == ["S", "S2", "U"] and found["total"] == 3


def test_the_index_follows_the_code_system(api: TestClient) -> None:
    changed = _code_system()
    changed["id"] = api.get(f"/fhir/CodeSystem?url={CS}").json()["entry"][0]["resource"]["id"]
    changed["concept"] = [*CONCEPTS, {"code": "K", "display": "Kalium"}]
    assert api.put(f"/fhir/CodeSystem/{changed['id']}", json=changed).status_code == 200
    assert _codes(_expand(api, _vs(), count=5, filter="kal")) == ["K"]
