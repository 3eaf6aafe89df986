"""Batch Bundles answer their $translate / $lookup / $validate-code entries set-based
(termserver.api.batch_sets): the answers are exactly those of entry-by-entry dispatch, for
good and bad entries, GET and POST, R4 and R5; the sets really are used; a set that fails is
dispatched one by one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from termserver.api import batch_sets
from termserver.service import bulk
from tests.helpers import chunk_counter, code_system, value_set

CS = "http://example.org/cs/lab"
OTHER = "http://example.org/cs/other"
VS = "http://example.org/vs/lab"
CM = "http://example.org/cm/lab"
CODES = tuple(f"L{i}" for i in range(12))


def _get(path: str, **query: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "url": f"{path}?{urlencode(query)}"}}


def _post(path: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"request": {"method": "POST", "url": path},
            "resource": {"resourceType": "Parameters", "parameter": list(params)}}


def _entries() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code in (*CODES[:6], "nope", "l1"):  # known, unknown, wrong case
        out += [
            _get("ConceptMap/$translate", url=CM, system=CS, code=code),
            _get("ConceptMap/$translate", system=CS, code=code, targetsystem=OTHER),
            _get("CodeSystem/$lookup", system=CS, code=code),
            _get("CodeSystem/$lookup", system=CS, code=code, displayLanguage="de"),
            _get("CodeSystem/$validate-code", url=CS, code=code, display=f"Display {code}"),
            _get("ValueSet/$validate-code", url=VS, system=CS, code=code),
            _post("ValueSet/$validate-code", {"name": "url", "valueUri": VS},
                  {"name": "coding", "valueCoding": {"system": CS, "code": code}}),
            _post("CodeSystem/$lookup", {"name": "system", "valueUri": CS},
                  {"name": "code", "valueCode": code}, {"name": "property", "valueCode": "*"}),
        ]
    out += [  # bad requests, unknown systems and maps, and entries that are never in a set
        _get("ConceptMap/$translate", url="http://example.org/cm/none", system=CS, code="L1"),
        _get("ConceptMap/$translate", system=CS),
        _get("CodeSystem/$lookup", code="L1"),
        _get("CodeSystem/$lookup", system="http://example.org/none", code="L1"),
        _get("CodeSystem/$validate-code", code="L1"),
        _get("ValueSet/$validate-code", url="http://example.org/vs/none", system=CS, code="L1"),
        _get("ValueSet/$validate-code", url=VS, code="L1"),
        _post("CodeSystem/$lookup", {"name": "system"}),
        {"request": {"method": "POST", "url": "CodeSystem/$lookup"},
         "resource": {"resourceType": "Bundle"}},
        _get("CodeSystem/$lookup", system=CS, code="L1", **{"system-version": f"{CS}|1.0"}),
        _get("CodeSystem/lab"),
        _get("CodeSystem/lab/$lookup", code="L1"),
    ]
    return out


@pytest.fixture
def loaded(client: TestClient) -> Iterator[TestClient]:
    cs = code_system(CS, id="lab", codes=CODES)
    for c in cs["concept"]:
        c["designation"] = [{"language": "de", "value": f"Anzeige {c['code']}"}]
    other = code_system(OTHER, id="other", codes=tuple(f"O{i}" for i in range(12)))
    vs = value_set(VS, id="vs-lab", compose={"include": [
        {"system": CS, "concept": [{"code": c} for c in CODES[:4]]}]})
    cm = {"resourceType": "ConceptMap", "id": "cm-lab", "url": CM, "version": "1",
          "status": "active", "group": [{"source": CS, "target": OTHER, "element": [
              {"code": c, "target": [{"code": f"O{i}", "equivalence": "equivalent"}]}
              for i, c in enumerate(CODES[:5])]}]}
    for path, body in (("CodeSystem/lab", cs), ("CodeSystem/other", other),
                       ("ValueSet/vs-lab", vs), ("ConceptMap/cm-lab", cm)):
        assert client.put(f"/fhir/{path}", json=body).status_code in (200, 201)
    yield client


def _answers(client: TestClient, entries: list[dict[str, Any]],
             headers: dict[str, str] | None = None) -> list[Any]:
    got = client.post("/fhir", json={"resourceType": "Bundle", "type": "batch",
                                     "entry": entries}, headers=headers or {})
    assert got.status_code == 200, got.text
    return [(e["response"], e.get("resource")) for e in got.json()["entry"]]


@pytest.mark.parametrize("headers", [{}, {"Accept": "application/fhir+json; fhirVersion=5.0"},
                                     {"Accept-Language": "de"}])
def test_set_answers_equal_entry_by_entry_answers(loaded: TestClient,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  headers: dict[str, str]) -> None:
    entries = _entries()
    calls: list[tuple[str, int]] = []
    answer = batch_sets.answer

    def spy(store: Any, kind: Any, members: Any, *rest: Any) -> Any:
        calls.append((kind, len(members)))
        return answer(store, kind, members, *rest)

    monkeypatch.setattr(batch_sets, "answer", spy)
    together = _answers(loaded, entries, headers)
    assert dict(calls) == {"translate": 18, "lookup": 26, "cs-validate": 9, "vs-validate": 18}
    monkeypatch.setattr(batch_sets, "KINDS", {})  # every entry dispatched on its own
    alone = _answers(loaded, entries, headers)
    assert len(together) == len(alone) == len(entries)
    for i, (a, b) in enumerate(zip(together, alone, strict=True)):
        assert a == b, (i, entries[i]["request"])


def test_a_set_reads_ahead_once_per_chunk(loaded: TestClient,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    chunks: list[int] = []
    build, _, shape = batch_sets._PLANS["translate"]
    monkeypatch.setitem(batch_sets._PLANS, "translate",
                        (build, chunk_counter(bulk.translate_chunk, chunks), shape))
    monkeypatch.setattr(batch_sets, "CHUNK", 40)
    entries = [_get("ConceptMap/$translate", url=CM, system=CS, code=CODES[i % 6])
               for i in range(100)]
    answers = _answers(loaded, entries)
    assert chunks == [40, 40, 20]
    assert [r["parameter"][0]["valueBoolean"] for _, r in answers] == \
        [i % 6 != 5 for i in range(100)]


def test_a_failing_set_is_dispatched_entry_by_entry(loaded: TestClient,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    entries = _entries()
    expected = _answers(loaded, entries)

    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch_sets, "answer", broken)
    assert _answers(loaded, entries) == expected


def test_a_batch_with_a_cache_id_header_forms_no_set(loaded: TestClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(batch_sets, "answer", lambda *a: calls.append(a))
    cache = loaded.post("/fhir/$cache-control", json={"resourceType": "Parameters",
                                                      "parameter": [{"name": "mode",
                                                                     "valueCode": "start"}]})
    headers = {}
    if cache.status_code == 200:
        found = [x for x in cache.json().get("parameter", []) if x.get("name") == "cache-id"]
        if found:
            headers = {"X-Cache-Id": next(iter(v for k, v in found[0].items()
                                               if k.startswith("value")))}
    headers = headers or {"X-Cache-Id": "abc"}
    _answers(loaded, [_get("CodeSystem/$lookup", system=CS, code="L1")], headers)
    assert calls == []
