"""The NDJSON bulk operations ($translate-bulk, $lookup-bulk, $validate-code-bulk): one result
line per input line, in order, ids echoed, per-line errors that never end the stream, chunk
boundaries that change nothing, answers equal to the single operations', on both backends."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from termserver.api.app import create_app
from termserver.api.bulk_memo import memo_for
from termserver.api.routes import bulk as rb
from termserver.api.tx import context_from
from termserver.errors import TerminologyError
from termserver.fhir import params as p
from termserver.fhir.translation import request_concept_maps, translate_request
from termserver.service.translate import translate
from termserver.settings import Settings
from termserver.store import Store
from tests.api.test_translate_fastpath import SRC, TGT, TGT2, A, B, C, _maps
from tests.helpers import chunk_counter, serve_app

CS = "http://example.org/cs/bulk"
NDJSON = {"Content-Type": "application/x-ndjson"}


def with_bulk(app: FastAPI) -> FastAPI:
    """The app with the bulk routes (added when the app does not have them yet)."""
    if not any(getattr(r, "path", "") == "/fhir/$translate-bulk" for r in app.routes):
        app.include_router(rb.router, prefix="/fhir")
    return app


def _code_system() -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "id": "bulk", "url": CS, "version": "1",
            "status": "active", "content": "complete", "language": "en",
            "property": [{"code": "unit", "type": "string"}],
            "concept": [
                {"code": "k1", "display": "Potassium", "designation": [
                    {"language": "de", "value": "Kalium"}],
                 "property": [{"code": "unit", "valueString": "mmol/L"}]},
                {"code": "k2", "display": "Sodium"},
                {"code": "k3", "display": "Chloride"}]}


def _value_set() -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": "bulk-vs", "url": "http://example.org/vs/bulk",
            "status": "active", "compose": {"include": [
                {"system": CS, "concept": [{"code": "k1"}, {"code": "k2"}]}]}}


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    with TestClient(with_bulk(create_app(settings, store))) as c:
        for cm in _maps():
            assert c.put(f"/fhir/ConceptMap/{cm['id']}", json=cm).status_code == 201
        assert c.put("/fhir/CodeSystem/bulk", json=_code_system()).status_code == 201
        assert c.put("/fhir/ValueSet/bulk-vs", json=_value_set()).status_code == 201
        yield c


def _post(client: TestClient, op: str, lines: list[Any], **query: str) -> list[dict[str, Any]]:
    body = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    r = client.post(f"/fhir/${op}", params=query, content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-ndjson"
    return [json.loads(x) for x in r.text.splitlines()]


def _translate_lines() -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for i, (code, url, target) in enumerate(
            (code, url, target) for code in ("a", "b", "c", "d", "e", "n", "zz")
            for url in (None, A, B, C, "http://nope/cm") for target in (None, TGT, TGT2)):
        line: dict[str, Any] = {"id": f"l{i}", "code": code}
        if url:
            line["url"] = url
        if target:
            line["targetsystem"] = target
        lines.append(line)
    lines.append({"id": "rev", "code": "A", "system": TGT, "reverse": True})
    lines.append({"id": "ver", "code": "a", "version": "2024"})
    lines.append({"id": "pin", "code": "a", "conceptmap": A, "conceptMapVersion": "2.0"})
    return lines + [{**line, "id": f"again-{line['id']}"} for line in lines[::3]]  # repeats


def _expected_translate(store: Store, line: dict[str, Any], query: dict[str, str]) -> Any:
    """What the single $translate answers for the line, in the bulk line shape."""
    own = {k: ("true" if v is True else v) for k, v in line.items() if k != "id"}
    if "conceptmap" in own:
        own["url"] = own.pop("conceptmap")
    pairs = p.pairs_from_query([*((k, v) for k, v in query.items() if k not in own),
                                *own.items()])
    try:
        result = translate(context_from(store, pairs), translate_request(pairs),
                           request_concept_maps(pairs))
    except TerminologyError as exc:
        return {"error": rb.error_json(exc)}
    return rb.translate_line(result)


def test_translate_bulk_equals_the_single_operation(client: TestClient, store: Store) -> None:
    lines = _translate_lines()
    got = _post(client, "translate-bulk", lines, system=SRC)
    assert len(got) == len(lines)
    for n, (line, answer) in enumerate(zip(lines, got, strict=True), 1):
        assert answer == {"line": n, "id": line["id"],
                          **_expected_translate(store, line, {"system": SRC})}, line
    by_id = {a["id"]: a for a in got}
    assert by_id["l0"]["matches"][0]["code"] == "A"  # a → A (map a, R5 relationship)
    assert any(a.get("error", {}).get("code") == "not-found" for a in got)  # unknown map


def test_chunk_boundaries_change_nothing(client: TestClient,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _translate_lines()
    whole = _post(client, "translate-bulk", lines, system=SRC)
    monkeypatch.setattr(rb, "CHUNK_LINES", 4)
    assert _post(client, "translate-bulk", lines, system=SRC) == whole
    monkeypatch.setattr(rb, "CHUNK_LINES", 1)
    assert _post(client, "translate-bulk", lines, system=SRC) == whole


def test_bad_lines_get_their_own_error_and_the_stream_goes_on(client: TestClient) -> None:
    lines: list[Any] = [
        {"id": 1, "code": "a"}, "not json", "[1, 2]", {"id": "no-code", "system": SRC},
        {"id": "bool", "code": "a", "reverse": "maybe"}, {"id": {"x": 1}, "code": "a"},
        {"id": "nested", "code": {"c": 1}}, {"id": "twice", "code": ["a", "b"]},
        {"code": "b"}, {"id": "map", "code": "a", "url": "http://nope/cm"}, {"id": 2.5,
                                                                            "code": "zz",
                                                                            "system": "http://n"}]
    got = _post(client, "translate-bulk", ["", *lines[:3], "   ", *lines[3:]], system=SRC)
    assert [a["line"] for a in got] == list(range(1, len(lines) + 1))  # blank lines skipped
    assert got[0]["id"] == 1 and got[0]["result"] is True
    assert got[1]["error"]["code"] == "invalid" and "not JSON" in got[1]["error"]["message"]
    assert got[2]["error"] == {"code": "invalid", "message": "the line is not a JSON object"}
    assert got[3]["id"] == "no-code" and got[3]["error"]["expression"] == ["code"]
    assert got[4]["error"]["code"] == "invalid" and got[4]["error"]["expression"] == ["reverse"]
    assert "id" not in got[5] and "'id'" in got[5]["error"]["message"]
    assert got[6]["error"]["code"] == "not-supported"
    assert "only once" in got[7]["error"]["message"]
    assert "id" not in got[8] and got[8]["result"] is True
    assert got[9]["error"]["code"] == "not-found"
    assert got[10] == {"line": 11, "id": 2.5, "result": False, "matches": [],
                       "message": "No translations found for 'zz' in the system 'http://n'"}


def test_lookup_bulk_equals_the_single_lookup(client: TestClient) -> None:
    lines = [{"id": "x", "code": "k1", "property": "unit"}, {"code": "k2"},
             {"code": "nope"}, {"code": "k1", "system": "http://nope/cs"},
             {"code": "k3", "displayLanguage": "de"}]
    got = _post(client, "lookup-bulk", lines, system=CS)
    for n, (line, answer) in enumerate(zip(lines, got, strict=True), 1):
        query = {"system": CS, **{k: v for k, v in line.items() if k != "id"}}
        single = client.get("/fhir/CodeSystem/$lookup", params=query)
        head = {"line": n, **({"id": line["id"]} if "id" in line else {})}
        if single.status_code == 200:
            assert answer == {**head, **rb._flat(single.json())}
        else:
            issue = single.json()["issue"][0]
            assert answer["error"]["code"] == issue["code"]
            assert answer["error"]["message"] == issue["details"]["text"]
    assert got[0]["display"] == "Potassium"
    assert {"code": "unit", "value": "mmol/L"} in got[0]["properties"]


def test_case_insensitive_codes_read_ahead_equal_the_single_operations(
        client: TestClient) -> None:
    """A code not stored as given is matched case-insensitively once per chunk for all such
    lines (one scan), with the single operations' answers."""
    ci = "http://example.org/cs/ci"
    assert client.put("/fhir/CodeSystem/ci", json={
        "resourceType": "CodeSystem", "id": "ci", "url": ci, "status": "active",
        "content": "complete", "caseSensitive": False, "concept": [
            {"code": "Abc", "display": "First"}, {"code": "xY", "display": "Second"},
            {"code": "1-2", "display": "Third"}]}
    ).status_code == 201
    codes = ["abc", "ABC", "Abc", "xy", "nope", "XY", "1-2", "9-9"]
    for op, path in (("lookup-bulk", "CodeSystem/$lookup"),
                     ("validate-code-bulk", "CodeSystem/$validate-code")):
        got = _post(client, op, [{"code": c} for c in codes], system=ci)
        for n, (code, answer) in enumerate(zip(codes, got, strict=True), 1):
            single = client.get(f"/fhir/{path}", params={"system": ci, "code": code})
            if single.status_code == 200:
                assert answer == {"line": n, **rb._flat(single.json())}, code
            else:
                assert answer["error"]["message"] == \
                    single.json()["issue"][0]["details"]["text"], code
        assert [a.get("display") for a in got] == [
            "First", "First", "First", "Second", None, "Second", "Third", None]


def test_validate_bulk_equals_the_single_validate(client: TestClient) -> None:
    vs = "http://example.org/vs/bulk"
    lines = [{"id": 1, "code": "k1", "display": "Potassium"},
             {"id": 2, "code": "k1", "display": "Natrium"},
             {"id": 3, "code": "k3"}, {"id": 4, "code": "nope"},
             {"id": 5, "code": "k3", "valueSet": vs}, {"id": 6, "code": "k2", "url": vs},
             {"id": 7, "code": "k1", "system": "http://nope/cs"}]
    got = _post(client, "validate-code-bulk", lines, system=CS)
    for line, answer in zip(lines, got, strict=True):
        query = {"system": CS, **{k: v for k, v in line.items() if k != "id"}}
        if "valueSet" in query:
            query["url"] = query.pop("valueSet")
        path = "ValueSet" if "url" in query else "CodeSystem"
        single = client.get(f"/fhir/{path}/$validate-code", params=query)
        assert single.status_code == 200, single.text
        assert answer == {"line": line["id"], "id": line["id"], **rb._flat(single.json())}
    assert [a["result"] for a in got] == [True, False, True, False, False, True, False]


def test_query_parameters_apply_to_every_line_unless_a_line_says_otherwise(
        client: TestClient) -> None:
    got = _post(client, "translate-bulk", [{"code": "a"}, {"code": "a", "url": B}],
                system=SRC, url=A, conceptMapVersion="1.0")
    assert [m["code"] for m in got[0]["matches"]] == ["A"]
    assert got[1]["error"]["code"] == "not-found"  # B has no version 1.0
    bad = client.post("/fhir/$translate-bulk", params={"reverse": "maybe"},
                      content=b'{"code":"a"}\n', headers=NDJSON)
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"


def test_a_stream_never_answers_from_before_a_map_changed(client: TestClient,
                                                         store: Store) -> None:
    """Repeated lines reuse their first answer only while the stored maps are unchanged."""
    defaults = p.pairs_from_query([("system", SRC), ("url", A), ("conceptMapVersion", "1.0")])
    memo = memo_for(store, "translate", defaults, "4.0")
    assert memo is not None
    lines = [(1, b'{"code":"a"}'), (2, b'{"code":"a","display":"x"}')]

    def answer() -> list[dict[str, Any]]:
        text = rb.answer_chunk("translate", store, lines, defaults, "4.0", None, memo)
        return [json.loads(x) for x in text.splitlines()]

    first = answer()
    assert [m["code"] for m in first[0]["matches"]] == ["A"] and first[1]["matches"] == \
        first[0]["matches"]
    assert answer() == first and len(memo.lines) == 1
    changed = next(cm for cm in _maps() if cm["id"] == "a1")
    changed["group"][0]["element"][0]["target"][0]["code"] = "A-new"
    assert client.put("/fhir/ConceptMap/a1", json=changed).status_code == 200
    assert [m["code"] for m in answer()[0]["matches"]] == ["A-new"]


def test_repeated_lines_across_requests_follow_every_terminology_write(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A later request reuses the answers of an earlier one (no read) until a CodeSystem or
    ValueSet is written; then every line is read afresh."""
    from termserver.service import bulk as service_bulk

    calls: list[int] = []
    monkeypatch.setattr(service_bulk, "lookup_chunk",
                        chunk_counter(service_bulk.lookup_chunk, calls))
    lines = [{"id": 1, "code": "k2"}, {"code": "k2"}, {"code": "nope"}]
    first = _post(client, "lookup-bulk", lines, system=CS)
    assert first[0]["display"] == first[1]["display"] == "Sodium" and calls == [3]
    again = _post(client, "lookup-bulk", lines, system=CS)
    assert again == first and calls == [3, 1]  # only the error line is read again
    changed = _code_system()
    changed["concept"][1]["display"] = "Natrium"
    assert client.put("/fhir/CodeSystem/bulk", json=changed).status_code == 200
    after = _post(client, "lookup-bulk", lines, system=CS)
    assert after[0]["display"] == after[1]["display"] == "Natrium" and calls[-1] == 3
    vs_lines = [{"code": "k3", "valueSet": "http://example.org/vs/bulk"}]
    assert _post(client, "validate-code-bulk", vs_lines, system=CS)[0]["result"] is False
    wider = _value_set()
    wider["compose"]["include"][0]["concept"].append({"code": "k3"})
    assert client.put("/fhir/ValueSet/bulk-vs", json=wider).status_code == 200
    assert _post(client, "validate-code-bulk", vs_lines, system=CS)[0]["result"] is True


def _fake_receive(pieces: list[bytes]) -> Any:
    messages = [{"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
                for i, piece in enumerate(pieces)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


def _read_lines(pieces: list[bytes], limit: int = 100) -> list[tuple[int, Any]]:
    async def run() -> list[tuple[int, Any]]:
        return [x async for b in rb._blocks(_fake_receive(pieces), limit) for x in b]

    return asyncio.run(run())


def test_lines_split_across_messages_long_lines_and_the_line_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"code":"a"}\n{"code":"bb"}\r\n\n{"co' + b'de":"c"}'
    for size in (1, 3, 7, len(body)):
        pieces = [body[i:i + size] for i in range(0, len(body), size)]
        assert [(n, orjson.loads(x)["code"]) for n, x in _read_lines(pieces)] == \
            [(1, "a"), (2, "bb"), (3, "c")]
    monkeypatch.setattr(rb, "MAX_LINE_BYTES", 20)
    long = b'{"code":"' + b"x" * 50 + b'"}'
    got = _read_lines([b'{"code":"a"}\n', long[:30], long[30:] + b"\n", b'{"code":"b"}\n'])
    assert [n for n, _ in got] == [1, 2, 3]
    assert isinstance(got[1][1], TerminologyError) and orjson.loads(got[2][1])["code"] == "b"
    capped = _read_lines([b'{"code":"a"}\n' * 5], limit=3)
    assert len(capped) == 4 and capped[3][1].issue_type == "too-costly"


def test_line_cap_ends_the_stream_with_an_error_line(client: TestClient,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_BULK_LINES", "3")
    got = _post(client, "translate-bulk", [{"code": "a"}] * 6, system=SRC)
    assert [a["line"] for a in got] == [1, 2, 3, 4]
    assert got[3]["error"]["code"] == "too-costly"


def test_a_real_server_streams_a_chunked_body(settings: Settings, store: Store) -> None:
    """Over real HTTP (uvicorn): a chunked body of 5,000 lines, answered in order."""
    app = with_bulk(create_app(settings, store))
    with serve_app(app) as base:
        with httpx.Client(timeout=60) as c:
            for cm in _maps():
                assert c.put(f"{base}/fhir/ConceptMap/{cm['id']}", json=cm).status_code == 201

            def body() -> Iterator[bytes]:
                for i in range(0, 5000, 500):
                    yield b"".join(b'{"id":%d,"code":"%s"}\n' % (j, b"abcz"[j % 4:j % 4 + 1])
                                   for j in range(i, i + 500))

            with c.stream("POST", f"{base}/fhir/$translate-bulk", params={"system": SRC,
                                                                            "url": A},
                          content=body(), headers=NDJSON) as r:
                assert r.status_code == 200
                got = [json.loads(x) for x in r.iter_lines() if x]
    assert [a["id"] for a in got] == list(range(5000))
    assert [a["result"] for a in got[:4]] == [True, True, True, True]  # c, z: unmapped rule
    assert got[3]["matches"][0]["code"] == "UNK"


def test_a_full_memo_drops_its_older_half(monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.api import bulk_memo

    monkeypatch.setattr(bulk_memo, "MEMO_LINES", 4)
    memo = bulk_memo.Memo(ignored=frozenset({"display"}))
    lines = memo.fresh(lambda: 1)
    assert memo.key({"code": "a", "display": "x"}) == (("code", "a"),)
    assert memo.key({"code": "a", "reverse": True}) is None  # not all text: never memoised
    assert memo.key({"code": "a", "cache-id": "c"}) is None
    for i in range(5):
        memo.keep(lines, (("code", str(i)),), b"}")
        lines = memo.fresh(lambda: 1)
    assert sorted(k[0][1] for k in memo.lines) == ["2", "3", "4"]  # past 4: the newer half
    assert memo.fresh(lambda: 2) == {}  # a write: everything goes


def test_error_lines_leave_no_reference_cycles(client: TestClient, store: Store) -> None:
    """An error kept as a line's answer holds no traceback: with one, its frames held the
    lists it was kept in (a cycle), and a long stream's chunks waited for the cyclic
    collector (bench: the server's peak RSS grew with the stream's length)."""
    chunk: list[tuple[int, bytes | TerminologyError]] = [
        (i + 1, orjson.dumps({"id": i, "system": CS, "code": "k1" if i % 3 else f"nope-{i}"}))
        for i in range(200)]
    chunk += [(201, b"not json"), (202, orjson.dumps({"system": CS})),
              (203, orjson.dumps({"code": "k1", "system": CS, "version": {"x": 1}}))]
    vs = [("url", "http://example.org/vs/bulk")]
    for _ in range(2):  # the first calls warm up (imports, caches)
        gc.collect()
        gc.disable()
        try:
            rb.answer_chunk("lookup", store, chunk, [], "4.0", None)
            rb.answer_chunk("validate", store, chunk, vs, "4.0", None)
            rb.answer_chunk("translate", store, chunk, [("system", SRC)], "4.0", None)
            found = gc.collect()
        finally:
            gc.enable()
    assert found == 0


def test_bulk_chunks_run_on_a_bounded_set_of_threads(
        client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """However many chunks and streams, chunks are answered on at most bulk_threads()
    threads, so the SQLite read connections (one a thread) stay as few, and those do not map
    the database file (mapped pages count in the RSS once per connection)."""
    monkeypatch.setattr(rb, "CHUNK_LINES", 3)
    threads: set[int] = set()
    answer = rb.answer_chunk

    mmap_sizes: set[int] = set()

    def spy(*args: Any) -> bytes:
        threads.add(threading.get_ident())
        out = answer(*args)
        hot = getattr(store._local, "hot", None)  # SQLite: this thread's read connection
        if hot is not None:
            mmap_sizes.add(hot.conn.execute("PRAGMA mmap_size").fetchone()[0])
        return out

    monkeypatch.setattr(rb, "answer_chunk", spy)
    lines = [{"code": c} for c in ("k1", "k2", "k3", "nope") * 30]
    for _ in range(5):
        assert len(_post(client, "lookup-bulk", lines, system=CS)) == len(lines)
    connections = len(store._hot)
    for _ in range(5):
        assert len(_post(client, "lookup-bulk", lines, system=CS)) == len(lines)
    assert 1 <= len(threads) <= rb.bulk_threads()
    assert len(store._hot) == connections  # no new connection after the first streams
    assert mmap_sizes == ({0} if store.dialect == "sqlite" else set())  # file not mapped
