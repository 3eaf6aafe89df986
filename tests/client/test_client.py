"""termserver.client against a live server (sync and async), its retries (a server that
answers 503 first, over real HTTP and through a MockTransport), its cache and batches, the
pandas round trip, and that it imports nothing of the server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pandas as pd
import pytest
from starlette.types import Receive, Scope, Send

from termserver.client import (
    AsyncClient,
    Client,
    RetryPolicy,
    TermserverError,
    TranslateResult,
)
from termserver.client._base import retry_after
from termserver.settings import Settings
from termserver.store import Store
from tests.client.conftest import CM, LAB, LOINC, VS, app_with_bulk, load
from tests.helpers import ROOT, serve_app

CODES = ["NA", "K", None, "CL", "CRP", "OLD", "NOPE", "NA", ""]


class Counting(httpx.HTTPTransport):
    """A transport that counts the requests per path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path.rsplit("/", 1)[-1])
        return super().handle_request(request)


@pytest.fixture
def counting() -> Counting:
    return Counting()


@pytest.fixture
def client(live: str, counting: Counting) -> Iterator[Client]:
    with Client(live, transport=counting, batch_size=4) as c:
        yield c


def test_single_operations(client: Client) -> None:
    t = client.translate("NA", LAB, conceptmap=CM)
    assert t.result and t.best is not None
    assert (t.best.system, t.best.code, t.best.relationship) == (LOINC, "2951-2", "equivalent")
    assert t.best.conceptmap is not None and t.best.conceptmap.startswith(CM)
    no = client.translate("CL", LAB, conceptmap=CM)
    assert not no.result and no.best is None and no.message
    lookup = client.lookup("K", LAB)
    assert (lookup.found, lookup.display, lookup.version) == (True, "Kalium", "2025")
    assert client.validate_code("K", LAB).result
    bad = client.validate_code("NOPE", LAB)
    assert not bad.result and bad.issues and bad.issues[0].code == "code-invalid"
    assert client.validate_code("K", valueset=VS).result
    assert not client.validate_code("CRP", LAB, valueset=VS).result
    assert client.subsumes("ELYT", "NA", LAB).outcome == "subsumes"
    assert client.subsumes("NA", "K", LAB).outcome == "not-subsumed"
    expansion = client.expand(VS)
    assert expansion.total == 3 and [c.code for c in expansion.contains] == ["NA", "K", "CL"]


def test_a_refusal_raises_with_the_outcome(client: Client, counting: Counting) -> None:
    with pytest.raises(TermserverError) as caught:
        client.lookup("NOPE", LAB)
    assert caught.value.status == 404 and caught.value.issues
    assert caught.value.issues[0]["code"] == "not-found"
    assert counting.paths == ["$lookup"]  # a 404 is not retried


def test_translate_many_is_aligned_and_equals_single(client: Client,
                                                     counting: Counting) -> None:
    got = client.translate_many(CODES, system=LAB, conceptmap=CM)
    assert len(got) == len(CODES)
    assert got[2] is None and got[8] is None  # no code: no request, None in its place
    # 7 codes, 6 unique, batches of 4 input items: 3 requests (the last: 1 item, "")
    assert counting.paths == ["$translate-bulk"] * 2
    for code, result in zip(CODES, got, strict=True):
        if code:
            assert isinstance(result, TranslateResult)
            single = client.translate(code, LAB, conceptmap=CM)
            assert (result.result, result.best) == (single.result, single.best), code
    assert [r.best.code if r and r.best else None for r in got] == [
        "2951-2", "2823-3", None, None, "1988-5", None, None, "2951-2", None]
    assert got[5] is not None and got[5].matches and got[5].best is None  # noMap


def test_per_line_errors_keep_their_place(client: Client) -> None:
    items = [{"system": LAB, "code": "NA"}, {"system": "http://unknown.example", "code": "X"},
             ("http://other.example", "Y"), {"system": LAB, "code": "K"}]
    got = client.lookup_many(items)
    assert got[0] is not None and got[0].display == "Natrium"
    assert got[1] is not None and got[1].error is not None and not got[1].found
    assert got[2] is not None and got[2].error is not None
    assert got[3] is not None and got[3].display == "Kalium"
    valid = client.validate_many(["NA", "NOPE", "CRP"], system=LAB, valueset=VS)
    assert [v.result if v else None for v in valid] == [True, False, False]


def test_the_cache_answers_without_a_request(client: Client, counting: Counting) -> None:
    first = client.translate_many(["NA", "K"], system=LAB, conceptmap=CM)
    assert counting.paths == ["$translate-bulk"]
    again = client.translate_many(["K", "NA", "NA"], system=LAB, conceptmap=CM)
    assert counting.paths == ["$translate-bulk"]  # all cached
    assert again == [first[1], first[0], first[0]]
    client.translate_many(["K"], system=LAB, targetsystem=LOINC)  # other parameters
    assert counting.paths == ["$translate-bulk"] * 2
    client.lookup("K", LAB)
    client.lookup("K", LAB)
    assert counting.paths.count("$lookup") == 1
    assert client.cache.hits >= 4


def test_a_bounded_cache_forgets_the_oldest(live: str, counting: Counting) -> None:
    with Client(live, transport=counting, cache_size=1) as c:
        c.lookup("K", LAB)
        c.lookup("NA", LAB)
        c.lookup("K", LAB)
    assert counting.paths == ["$lookup"] * 3


def test_pandas_round_trip(client: Client) -> None:
    df = pd.DataFrame({"local": ["K", "CL", None, "NA", "CRP"], "value": [4.1, 101, 1, 140, 5]},
                      index=[10, 20, 30, 40, 50])
    df["loinc"] = client.translate_series(df["local"], system=LAB, conceptmap=CM)
    df["loinc_display"] = client.translate_series(df["local"], system=LAB, conceptmap=CM,
                                                  field="display")
    df["valid"] = client.validate_series(df["local"], system=LAB)
    df["name"] = client.lookup_series(df["local"], system=LAB)
    assert list(df.index) == [10, 20, 30, 40, 50]
    assert df["loinc"].tolist() == ["2823-3", pd.NA, pd.NA, "2951-2", "1988-5"]
    assert df.loc[40, "loinc_display"].startswith("Sodium")
    assert df["valid"].tolist() == [True, True, pd.NA, True, True]
    assert df["name"].tolist() == ["Kalium", "Chlorid", pd.NA, "Natrium", "C-reaktives Protein"]
    assert df["value"].tolist() == [4.1, 101, 1, 140, 5]


def test_async_client(live: str) -> None:
    async def run() -> None:
        async with AsyncClient(live, batch_size=2, concurrency=2) as c:
            t = await c.translate("K", LAB, conceptmap=CM)
            assert t.best is not None and t.best.code == "2823-3"
            assert (await c.lookup("NA", LAB)).display == "Natrium"
            assert (await c.validate_code("K", valueset=VS)).result
            assert (await c.subsumes("ELYT", "K", LAB)).outcome == "subsumes"
            assert (await c.expand(VS, count=2)).contains[0].code == "NA"
            many = await c.translate_many(CODES * 3, system=LAB, conceptmap=CM)
            codes = [r.best.code if r and r.best else None for r in many]
            assert codes == ["2951-2", "2823-3", None, None, "1988-5", None, None, "2951-2",
                             None] * 3
            series = pd.Series(["CL", "K"], index=["a", "b"])
            valid = await c.validate_series(series, system=LAB, valueset=VS)
            assert valid.to_dict() == {"a": True, "b": True}

    asyncio.run(run())


class FailFirst:
    """ASGI wrapper: answers the first `n` requests 503 (Retry-After: 0), then the app."""

    def __init__(self, app: Any, n: int) -> None:
        self.app, self.n, self.refused = app, n, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.refused < self.n:
            self.refused += 1
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"retry-after", b"0"), (b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"busy"})
            return
        await self.app(scope, receive, send)


def test_retries_against_a_server_that_answers_503_first(settings: Settings,
                                                         store: Store) -> None:
    wrapped = FailFirst(app_with_bulk(settings, store), 0)
    with serve_app(wrapped) as base:
        load(base)
        waits: list[float] = []
        wrapped.n, wrapped.refused = 2, 0
        with Client(base + "/fhir", sleep=waits.append) as c:
            got = c.translate_many(["NA", "K"], system=LAB, conceptmap=CM)
            assert [r.best.code for r in got if r and r.best] == ["2951-2", "2823-3"]
            assert waits == [0.0, 0.0] and wrapped.refused == 2  # Retry-After: 0 honoured
            wrapped.n, wrapped.refused = 3, 0
            with Client(base + "/fhir", sleep=waits.append,
                        retry=RetryPolicy(retries=2)) as few:
                with pytest.raises(TermserverError) as caught:
                    few.lookup("K", LAB)
            assert caught.value.status == 503


def _bulk_answer(request: httpx.Request) -> httpx.Response:
    lines = [json.loads(x) for x in request.content.splitlines()]
    out = [{"line": n, "id": x["id"], "result": True, "matches": [
        {"relationship": "equivalent", "system": LOINC, "code": x["code"] + "-0"}]}
        for n, x in enumerate(lines, 1)]
    return httpx.Response(200, content=b"".join(json.dumps(o).encode() + b"\n" for o in out),
                          headers={"content-type": "application/x-ndjson"})


def test_backoff_retry_after_and_connection_errors() -> None:
    answers: list[Any] = [httpx.ConnectError("refused"),
                          httpx.Response(429, headers={"Retry-After": "7"}),
                          httpx.Response(502), httpx.Response(503), "ok"]
    seen = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        answer = answers[seen]
        seen += 1
        if isinstance(answer, Exception):
            raise answer
        return _bulk_answer(request) if answer == "ok" else answer

    waits: list[float] = []
    with Client("http://mock/fhir", transport=httpx.MockTransport(handler), sleep=waits.append,
                retry=RetryPolicy(backoff=0.5, jitter=0.0)) as c:
        got = c.translate_many(["a", "b", "a"], system="s", conceptmap="m")
    assert [r.best.code for r in got if r and r.best] == ["a-0", "b-0", "a-0"]
    assert waits == [0.5, 7.0, 2.0, 4.0]  # backoff 0.5·2ⁿ, Retry-After wins when given
    assert seen == 5


def test_a_truncated_bulk_answer_is_retried_and_a_400_is_not() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the stream broke off after one line
            full = _bulk_answer(request)
            return httpx.Response(200, content=full.content.splitlines(keepends=True)[0])
        return _bulk_answer(request)

    with Client("http://mock/fhir", transport=httpx.MockTransport(handler),
                sleep=lambda _: None) as c:
        assert len(c.translate_many(["a", "b"], system="s", targetsystem="t")) == 2
    assert len(calls) == 2
    refused = httpx.MockTransport(lambda r: httpx.Response(
        400, json={"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "invalid", "details": {"text": "bad system"}}]}))
    with Client("http://mock/fhir", transport=refused, sleep=lambda _: 1 / 0) as c:
        with pytest.raises(TermserverError, match="bad system"):
            c.translate_many(["a"], system="s", targetsystem="t")


def test_bearer_token_is_sent() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"resourceType": "Parameters", "parameter": [
            {"name": "outcome", "valueCode": "equivalent"}]})

    with Client("http://mock/fhir", token="s3cret",
                transport=httpx.MockTransport(handler)) as c:
        assert c.subsumes("a", "a", "s").outcome == "equivalent"
    assert seen == ["Bearer s3cret"]


def test_retry_after_as_an_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    response = httpx.Response(503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    wait = retry_after(response)
    assert wait is not None and 25 < wait <= 30
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None


def test_the_client_imports_nothing_of_the_server() -> None:
    # orjson is optional (used when installed, see termserver.client._base)
    code = ("import sys, termserver.client; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('fastapi', 'starlette', 'sqlalchemy', 'pandas', 'uvicorn') or "
            "m.startswith(('termserver.api', 'termserver.store', 'termserver.service', "
            "'termserver.fhir'))]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_result_lines_parse_alike_with_and_without_orjson(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """The fast parse of `{"line":N,"id":I,…` lines (reused for repeated answers) equals a
    full parse, and the body is the same with the standard library's json."""
    from termserver.client import _base

    ok = b'{"line":1,"id":0,"result":true,"matches":[{"relationship":"equivalent",' \
         b'"system":"http://loinc.org","code":"2951-2","display":"Na \\u00e9"}]}'
    error = b'{"line":2,"id":1,"error":{"code":"not-found","message":"no map"}}'
    other_order = b'{"id":2,"line":3,"result":false}'
    answer = _base.Answer("translate", 4)
    answer.feed(ok + b"\n" + error[:20])
    answer.feed(error[20:] + b"\n" + other_order + b"\n" + ok.replace(b'"id":0', b'"id":3'))
    got = answer.results()
    assert got[0] == got[3] == TranslateResult.from_json(json.loads(ok))
    assert got[0].best is not None and got[0].best.display == "Na \u00e9"
    assert got[1].error is not None and got[1].error.code == "not-found"
    assert got[2] == TranslateResult(False)
    with pytest.raises(httpx.RemoteProtocolError):
        _base.Answer("translate", 5).results()
    with pytest.raises(TermserverError, match="more than"):
        _base.parse_answer("translate", [b'{"line":9,"error":{"message":"more than 8"}}'], 9)
    lines = [(0, "a\u00e9"), (1, {"code": "b", "system": "s"})]
    fast = _base.body_of(lines)
    monkeypatch.setattr(_base, "_orjson_dumps", None)
    assert _base.body_of(lines) == fast
    assert [json.loads(x) for x in fast.splitlines()] == [
        {"id": 0, "code": "a\u00e9"}, {"id": 1, "code": "b", "system": "s"}]


def test_failed_lines_are_not_kept_in_the_parse_cache() -> None:
    """An unknown code's error line (or `result: false`) names the code and rarely repeats:
    kept, it filled the cache the longer a stream ran; an answer that succeeded is kept."""
    from termserver.client import _base

    _base._PARSED.clear()
    ident, found = _base.parse_line(
        "lookup", b'{"line":1,"id":7,"error":{"code":"not-found","message":"no code x"}}')
    assert ident == 7 and found.error is not None and not _base._PARSED
    ident, found = _base.parse_line("lookup", b'{"line":2,"id":8,"name":"L","display":"X"}')
    assert ident == 8 and found.error is None and len(_base._PARSED) == 1
    ident, found = _base.parse_line(
        "translate", b'{"line":3,"id":9,"result":false,"matches":[],"message":"no map of x"}')
    assert ident == 9 and found.result is False and len(_base._PARSED) == 1
