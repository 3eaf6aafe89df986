"""Hand-written hostile GETs a schema fuzzer does not send: a 100 KB query string, 1,000
repeated parameters, invalid percent-encoding, invalid UTF-8, `..` in the path. Sent as raw
ASGI requests (no client re-encodes them), on SQLite and PostgreSQL: every answer is a 4xx
OperationOutcome or the correct answer, never a 5xx, and nothing outside the routes leaks."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any
from urllib.parse import unquote

import anyio
import orjson
import pytest
from fastapi import FastAPI

from tests.fuzz import openapi_extra as x
from tests.fuzz.conftest import WRITE_TOKEN


def get(app: FastAPI, raw_path: bytes, query: bytes = b"") -> tuple[int, bytes]:
    """GET `raw_path?query` as a server would hand it over (path percent-decoded, query raw)."""
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
        "root_path": "", "raw_path": raw_path,
        "path": unquote(raw_path.decode("latin-1"), errors="replace"), "query_string": query,
        "headers": [(b"host", b"testserver"),
                    (b"authorization", f"Bearer {WRITE_TOKEN}".encode())],
    }
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    async def call() -> None:
        await app(scope, receive, send)

    anyio.run(call)
    return status, bytes(body)


def refusals(app: FastAPI, requests: list[tuple[bytes, bytes]]) -> list[str]:
    """Every request whose answer is a 5xx, not an OperationOutcome, or leaks a file."""
    wrong = []
    for path, query in requests:
        status, body = get(app, path, query)
        shown = f"GET {path[:80]!r}?{query[:80]!r} ({len(query)} bytes) -> {status}"
        if status >= 500:
            wrong.append(f"{shown}: {body[:300]!r}")
        elif status >= 400 and body.startswith(b"{") and (
                orjson.loads(body).get("resourceType") != "OperationOutcome"):
            wrong.append(f"{shown}: not an OperationOutcome: {body[:300]!r}")
        elif b"root:" in body or b"create_app" in body:
            wrong.append(f"{shown}: a file outside the routes leaked")
    return wrong


CS = x.CS.encode()
VS = x.VS.encode()
LOOKUP = b"/fhir/CodeSystem/$lookup"
EXPAND = b"/fhir/ValueSet/$expand"
WORKLIST = b"/workbench/api/projects/fuzz/worklist"

LONG = [
    (LOOKUP, b"system=" + CS + b"&code=" + b"a" * 100_000),
    (LOOKUP, b"system=" + CS + b"&code=a&" + b"&".join(b"x%d=%d" % (i, i) for i in range(12_000))),
    (LOOKUP, b"system=" + CS + b"&code=a&property=" + b"%41" * 34_000),
    (EXPAND, b"url=" + VS + b"&filter=" + b"a" * 100_000),
    (b"/fhir/CodeSystem", b"name=" + b"%C3%BC" * 17_000),
]
REPEATED = [
    (LOOKUP, b"system=" + CS + b"&" + b"&".join([b"code=a"] * 1000)),
    (LOOKUP, b"code=a&" + b"&".join([b"system=" + CS] * 1000)),
    (EXPAND, b"url=" + VS + b"&" + b"&".join([b"count=1"] * 1000)),
    (EXPAND, b"url=" + VS + b"&" + b"&".join([b"filter=a"] * 1000)),
    (EXPAND, b"&".join([b"url=" + VS] * 1000)),
    (b"/fhir/CodeSystem", b"&".join([b"_count=1"] * 1000)),
    (WORKLIST, b"&".join([b"offset=1"] * 1000)),
]
PERCENT = [(LOOKUP, q) for q in (
    b"system=%ZZ&code=a", b"system=" + CS + b"&code=%", b"system=" + CS + b"&code=%E0%A4",
    b"system=" + CS + b"&code=%C3%28", b"system=" + CS + b"&code=%FF%FE%00",
    b"%=%&code=a", b"system=" + CS + b"&code=a%2", b"system=" + CS + b"&code=%ED%A0%80")]
BAD_UTF8 = [
    (LOOKUP, b"system=" + CS + b"&code=\xff\xfe"),
    (LOOKUP, b"system=\xc3\x28&code=a"),
    (LOOKUP, b"\xed\xa0\x80=a&system=" + CS + b"&code=a"),  # an encoded surrogate as a name
    (EXPAND, b"url=" + VS + b"&filter=\xe2\x82"),
    (b"/fhir/CodeSystem", b"name=\xc0\xaf"),
    (b"/workbench/api/projects/fuzz/search", b"text=\xff"),
]
DOT_DOT = [(p, b"") for p in (
    b"/fhir/CodeSystem/../ValueSet/fuzz-vs", b"/fhir/CodeSystem/..", b"/fhir/..",
    b"/fhir/CodeSystem/..%2F..%2F..%2Fetc%2Fpasswd", b"/fhir/CodeSystem/%2e%2e",
    b"/workbench/static/../../../../etc/passwd", b"/workbench/static/..%2F..%2Fapp.py",
    b"/workbench/static/%2e%2e/%2e%2e/api/app.py", b"/workbench/api/projects/..%2Ffuzz",
    b"/workbench/api/projects/fuzz/codes/..%2F..%2F..", b"/fhir/CodeSystem/%FF%FE")]


@pytest.mark.fuzz
def test_a_100_kb_query_string(fuzz_app: FastAPI) -> None:
    assert all(len(q) >= 100_000 for _, q in LONG)
    assert not refusals(fuzz_app, LONG)


@pytest.mark.fuzz
def test_a_parameter_repeated_1000_times(fuzz_app: FastAPI) -> None:
    assert not refusals(fuzz_app, REPEATED)


@pytest.mark.fuzz
def test_invalid_percent_encoding(fuzz_app: FastAPI) -> None:
    assert not refusals(fuzz_app, PERCENT)


@pytest.mark.fuzz
def test_invalid_utf8_in_the_query(fuzz_app: FastAPI) -> None:
    assert not refusals(fuzz_app, BAD_UTF8)


@pytest.mark.fuzz
def test_dot_dot_in_the_path(fuzz_app: FastAPI) -> None:
    assert not refusals(fuzz_app, DOT_DOT)
    status, body = get(fuzz_app, b"/fhir/CodeSystem/../ValueSet/fuzz-vs")
    assert status == 404 or orjson.loads(body)["id"] == "fuzz-vs"  # never another resource
