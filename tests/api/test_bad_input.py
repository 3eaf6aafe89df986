"""Bad input gets a 4xx OperationOutcome, never a 500, on SQLite and PostgreSQL (issue 12):
control characters, integers out of range or in the wrong form, repeated parameters, wrong JSON
types, deep nesting, oversized bodies, concurrent writes; and an unexpected error leaves the
keep-alive connection usable."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import code_system, serve_app, value_set

CS_URL = "http://example.org/cs"
VS_URL = "http://example.org/vs"
JSON_H = {"Content-Type": "application/fhir+json"}
LOOKUP = f"/fhir/CodeSystem/$lookup?system={CS_URL}"
EXPAND = f"/fhir/ValueSet/$expand?url={VS_URL}"


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _params(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


INLINE_VS = {"resourceType": "ValueSet", "url": "http://example.org/inline",
             "compose": {"include": [{"system": CS_URL}]}}

# (id, method, path, body, status, issue code, expression or None)
CASES: list[tuple[str, str, str, Any, int, str, str | None]] = [
    ("nul in query", "GET", f"{LOOKUP}&code=a%00b", None, 400, "invalid", None),
    ("control in query", "GET", f"{LOOKUP}&code=a%1Fb", None, 400, "invalid", None),
    ("nul in path", "GET", "/fhir/CodeSystem/a%00b", None, 400, "invalid", None),
    ("nul in body", "POST", "/fhir/CodeSystem/$lookup",
     _params({"name": "system", "valueUri": CS_URL}, {"name": "code", "valueCode": "a\x00b"}),
     400, "structure", None),
    ("nul in stored resource", "POST", "/fhir/CodeSystem",
     code_system("http://example.org/nul", codes=("a\x00",)), 400, "structure", None),
    ("offset beyond 64 bits", "GET", "/fhir/CodeSystem?_offset=9223372036854775808", None,
     400, "invalid", "_offset"),
    ("count beyond 32 bits", "GET", f"{EXPAND}&count=2147483648", None, 400, "invalid",
     "count"),
    ("count written out", "GET", f"{EXPAND}&count=1e30", None, 400, "invalid", "count"),
    ("count 31 digits", "GET", f"{EXPAND}&count={10**30}", None, 400, "invalid", "count"),
    ("unicode digit _count", "GET", f"/fhir/CodeSystem?_count={quote('²')}", None, 400,
     "invalid", "_count"),
    ("arabic digit offset", "GET", f"{EXPAND}&offset={quote('٣')}", None, 400, "invalid",
     "offset"),
    ("negative offset", "GET", f"{EXPAND}&offset=-1", None, 400, "invalid", "offset"),
    ("count twice", "GET", f"{EXPAND}&count=1&count=abc", None, 400, "invalid", "count"),
    ("code twice", "GET", f"{LOOKUP}&code=a&code=b", None, 400, "invalid", "code"),
    ("_summary twice", "GET", "/fhir/ValueSet?_summary=true&_summary=false", None, 400,
     "invalid", "_summary"),
    ("boolean yes", "GET", f"{EXPAND}&activeOnly=yes", None, 400, "invalid", "activeOnly"),
    ("boolean TRUE", "GET", f"{EXPAND}&activeOnly=TRUE", None, 400, "invalid", "activeOnly"),
    ("count in body beyond 32 bits", "POST", "/fhir/ValueSet/$expand",
     _params({"name": "url", "valueUri": VS_URL}, {"name": "count", "valueInteger": 2**40}),
     400, "invalid", "count"),
    ("count in body as decimal", "POST", "/fhir/ValueSet/$expand",
     _params({"name": "url", "valueUri": VS_URL}, {"name": "count", "valueDecimal": 1.5}),
     400, "invalid", "count"),
    ("integer beyond 64 bits in body", "POST", "/fhir/ValueSet",
     value_set("http://example.org/big", extension=[
         {"url": "http://example.org/x", "valueInteger64": 2**63}]), 400, "structure", None),
    ("compose as a string (inline)", "POST", "/fhir/ValueSet/$expand",
     _params({"name": "valueSet", "resource": {**INLINE_VS, "compose": "x"}}), 400,
     "structure", "Parameters.parameter[0].resource.compose"),
    ("compose as a string (stored)", "POST", "/fhir/ValueSet",
     value_set("http://example.org/bad", compose="x"), 400, "structure", "ValueSet.compose"),
    ("include system as a list", "POST", "/fhir/ValueSet",
     value_set("http://example.org/bad", compose={"include": [{"system": ["x"]}]}), 400,
     "structure", "ValueSet.compose.include[0].system"),
    ("url as a list", "POST", "/fhir/CodeSystem",
     {**code_system("http://example.org/x"), "url": ["x"]}, 400, "structure",
     "CodeSystem.url"),
    ("concept as an object", "POST", "/fhir/CodeSystem",
     {**code_system("http://example.org/x"), "concept": {"code": "a"}}, 400, "structure",
     "CodeSystem.concept"),
    ("display as a number", "PUT", "/fhir/CodeSystem/x1",
     {**code_system("http://example.org/x", id="x1"), "concept": [{"code": "a", "display": 1}]},
     400, "structure", "CodeSystem.concept[0].display"),
    ("map target code as an object", "POST", "/fhir/ConceptMap",
     {"resourceType": "ConceptMap", "url": "http://example.org/cm", "status": "active",
      "group": [{"source": CS_URL, "element": [{"code": "a", "target": [{"code": {}}]}]}]},
     400, "structure", "ConceptMap.group[0].element[0].target[0].code"),
    ("parameter list as an object", "POST", "/fhir/CodeSystem/$lookup",
     {"resourceType": "Parameters", "parameter": {"name": "code"}}, 400, "structure",
     "Parameters.parameter"),
    ("nested 200 deep", "POST", "/fhir/CodeSystem/$lookup",
     _params({"name": "code", "valueCode": "a"}, {"name": "x", "part": _nested(200)}), 400,
     "structure", None),
    ("stored nested 200 deep", "POST", "/fhir/ValueSet",
     value_set("http://example.org/deep", extension=[{"url": "http://x", "x": _nested(200)}]),
     400, "structure", None),
    ("parameter without a value", "POST", "/fhir/CodeSystem/$lookup",
     _params({"name": "system", "valueUri": CS_URL}, {"name": "coding", "valueCoding": None}),
     400, "invalid", "Parameters.parameter[1]"),
    ("value[x] as an array", "POST", "/fhir/ConceptMap/$translate",
     _params({"name": "system", "valueUri": CS_URL}, {"name": "code", "valueCode": "a"},
             {"name": "dependency", "valueString": ["x"]}),
     400, "invalid", "Parameters.parameter[2].valueString"),
    ("id that is no FHIR id", "GET", f"/fhir/CodeSystem/{'x' * 65}", None, 404, "not-found",
     None),
    ("if-match unicode digit", "PUT", "/fhir/CodeSystem/existing", "IF-MATCH", 400,
     "invalid", "If-Match"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "expression"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_4xx_operation_outcome(client: TestClient, store: Store, method: str,
                                              path: str, body: Any, status: int, code: str,
                                              expression: str | None) -> None:
    client.put("/fhir/CodeSystem/existing", json=code_system(CS_URL, id="existing"))
    client.put("/fhir/ValueSet/vs", json=value_set(
        VS_URL, id="vs", compose={"include": [{"system": CS_URL}]}))
    before = store.count_rows()
    headers: dict[str, Any] = dict(JSON_H)
    if body == "IF-MATCH":
        body, headers["If-Match"] = code_system(CS_URL, id="existing"), 'W/"²"'.encode("latin-1")
    content = json.dumps(body).encode() if body is not None else None
    r = client.request(method, path, content=content, headers=headers)
    assert r.status_code == status, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == code, issue
    if expression is not None:
        assert issue["expression"] == [expression], issue
    assert store.count_rows() == before
    assert client.get("/fhir/metadata").status_code == 200


def test_good_input_still_works(client: TestClient) -> None:
    """The checks refuse only bad input: typed, single and boolean parameters still work."""
    client.put("/fhir/CodeSystem/cs", json=code_system(CS_URL, id="cs"))
    client.put("/fhir/ValueSet/vs", json=value_set(
        VS_URL, id="vs", compose={"include": [{"system": CS_URL}]}))
    r = client.get(f"{EXPAND}&count=1&offset=1&activeOnly=false&property=a&property=b")
    assert r.status_code == 200, r.text
    assert [c["code"] for c in r.json()["expansion"]["contains"]] == ["b"]
    body = _params({"name": "url", "valueUri": VS_URL}, {"name": "count", "valueInteger": 1},
                   {"name": "activeOnly", "valueBoolean": True})
    assert client.post("/fhir/ValueSet/$expand", json=body).status_code == 200
    r = client.get(f"{LOOKUP}&code=a%09b")  # a tab is allowed in text
    assert r.status_code == 404
    r = client.get("/fhir/CodeSystem?_count=2147483647&_offset=0")
    assert r.status_code == 200 and r.json()["total"] == 1
    r = client.put("/fhir/CodeSystem/cs", json=code_system(CS_URL, id="cs", title=None),
                   headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200, r.text


def test_body_limit_413_by_content_length(db_url: str, store: Store) -> None:
    settings = Settings(db=db_url, max_body_mb=1)
    with TestClient(create_app(settings, store)) as c:
        r = c.post("/fhir/CodeSystem/$lookup", content=b" " * (1024 * 1024 + 1),
                   headers=JSON_H)
        assert r.status_code == 413
        assert r.json()["issue"][0]["code"] == "too-long"
        r = c.post("/workbench/api/projects", content=b" " * (1024 * 1024 + 1),
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        small = _params({"name": "system", "valueUri": CS_URL}, {"name": "code", "valueCode": "a"})
        assert c.post("/fhir/CodeSystem/$lookup", json=small).status_code == 404


def test_body_limit_counts_a_chunked_body_and_stops_reading(db_url: str, store: Store) -> None:
    """A body without Content-Length is refused once it passes the limit: the server reads
    no more than the limit plus one chunk (a 200 MB body is never buffered)."""
    app = create_app(Settings(db=db_url, max_body_mb=1), store)
    chunk = b" " * 65536
    consumed = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal consumed
        consumed += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": consumed < 200 * 2**20}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/fhir/CodeSystem/$lookup",
             "raw_path": b"/fhir/CodeSystem/$lookup", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/fhir+json"),
                         (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "state": {},
             "app": app}
    async def run() -> None:
        app.state.store = store
        await app(scope, receive, send)

    anyio.run(run)
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 413
    assert b"too-long" in b"".join(m.get("body", b"") for m in sent[1:])
    assert consumed <= 2**20 + len(chunk)


@pytest.mark.parametrize(("body", "code"), [
    (b'{"title": "a\\u0000b"}', "invalid"),
    (json.dumps({"title": _nested(200)}).encode(), "structure"),
    (b'{"title": 9223372036854775808}', "structure"),
], ids=["nul", "nested", "int64"])
def test_workbench_json_bad_input_is_refused(client: TestClient, body: bytes, code: str) -> None:
    r = client.post("/workbench/api/projects", content=body,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["issue"][0]["code"] == code
    r = client.get("/workbench/api/projects/p/worklist?offset=9223372036854775808")
    assert r.status_code == 400  # checked before the project is looked up


# -- concurrent writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", [False, True], ids=["plain", "if-match"])
def test_concurrent_puts_of_one_code_system_never_answer_500(db_url: str, store: Store,
                                                             if_match: bool) -> None:
    """Two servers (two stores on one database), threads PUTting the same CodeSystem: every
    answer is 200/201 or 409/412, and what is stored is one whole version."""
    other = Store(db_url)
    statuses: list[int] = []
    lock = threading.Lock()
    try:
        apps = [create_app(Settings(db=db_url), s) for s in (store, other)]
        with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
            clients = [a, b]

            def put(worker: int) -> None:
                for round_ in range(4):
                    codes = tuple(f"c{worker}-{round_}-{i}" for i in range(30))
                    headers = {"If-Match": 'W/"1"'} if if_match else {}
                    r = clients[worker % 2].put(
                        "/fhir/CodeSystem/shared", headers=headers,
                        json=code_system("http://example.org/shared", id="shared", codes=codes))
                    with lock:
                        statuses.append(r.status_code)
                    if r.status_code >= 500:
                        raise AssertionError(r.text)

            if if_match:
                a.put("/fhir/CodeSystem/shared",
                      json=code_system("http://example.org/shared", id="shared"))
            threads = [threading.Thread(target=put, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            final = a.get("/fhir/CodeSystem/shared")
            assert final.status_code == 200
            codes = [c["code"] for c in final.json()["concept"]]
            for code in codes[:3]:
                r = a.get(f"/fhir/CodeSystem/$lookup?system=http://example.org/shared"
                          f"&code={code}")
                assert r.status_code == 200, r.text
    finally:
        other.close()
    assert len(statuses) == 24
    allowed = {200, 201, 409, 412}
    assert set(statuses) <= allowed, statuses
    if if_match:
        assert statuses.count(200) <= 1  # one If-Match: W/"1" can win, never two


# -- the connection survives an internal error ------------------------------------------------


@pytest.fixture
def live(settings: Settings, store: Store) -> Iterator[str]:
    """A real uvicorn server (in a thread) over the test store."""
    with serve_app(create_app(settings, store)) as url:
        yield url


def _local_address(r: httpx.Response) -> Any:
    return r.extensions["network_stream"].get_extra_info("client_addr")


def test_an_internal_error_keeps_the_connection_usable(live: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Store, "search", boom)
    with httpx.Client(base_url=live, timeout=30) as http:
        first = http.get("/fhir/metadata")
        assert first.status_code == 200
        failed = http.get("/fhir/ValueSet")
        assert failed.status_code == 500
        assert failed.json()["issue"][0]["code"] == "exception"
        assert "secret" not in failed.text
        assert failed.headers.get("connection") != "close"
        refused = http.get(f"{LOOKUP}&code=a%00b")
        assert refused.status_code == 400
        after = http.get("/fhir/metadata")
        assert after.status_code == 200
        assert _local_address(first) == _local_address(failed) == _local_address(after)
