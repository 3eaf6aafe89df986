"""No pattern matching or parsing in a request can freeze the server (issue 12, items 1, 5
and deeply nested ECL): `wild:` globs without backtracking, one deadline per request for
regex filters and ECL (TERMSERVER_REQUEST_TIMEOUT), nesting limits in the ECL parser, and
CPU-heavy requests in worker threads so a concurrent $lookup is still answered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import regex
from fastapi.testclient import TestClient

from termserver.api.app import create_app
from termserver.errors import InvalidRequest
from termserver.service import filters
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import serve_app
from tests.loaders.test_snomed import load_fixture

SCT = "http://snomed.info/sct"
CS = "http://example.org/fhir/CodeSystem/hardening"
VS = "http://example.org/fhir/ValueSet/hardening-regex"
#: Backreferences: the `regex` engine needs O(n^3) or more steps per display.
HOSTILE_REGEX = r"(.*)(.*)(.*)\1\2\3"


def _code_system(n: int = 0, long_display: bool = False) -> dict[str, Any]:
    """`square` (display "abcabc", matched by HOSTILE_REGEX) and `plain` ("abcab", not),
    plus `n` concepts with 80-character displays and optionally one with 400."""
    concepts = [{"code": "square", "display": "abcabc"}, {"code": "plain", "display": "abcab"}]
    text = "Glucose [Mass/volume] in Serum or Plasma " * 10
    concepts += [{"code": f"c{i}", "display": f"{i} {text}"[:80] + "!"} for i in range(n)]
    if long_display:
        concepts.append({"code": "long", "display": text[:400] + "!"})
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "concept": concepts}


def _regex_vs(pattern: str = HOSTILE_REGEX, url: str | None = None) -> dict[str, Any]:
    vs: dict[str, Any] = {"resourceType": "ValueSet", "status": "active", "compose": {
        "include": [{"system": CS, "filter": [
            {"property": "display", "op": "regex", "value": pattern}]}]}}
    if url:
        vs["url"] = url
    return vs


def _params(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": resource}]}


def _codes(body: dict[str, Any]) -> set[str]:
    return {c["code"] for c in body["expansion"].get("contains", [])}


def _assert_outcome(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code, body
    return body


def _ecl_url(ecl: str) -> str:
    return f"{SCT}?fhir_vs=ecl/{quote(ecl)}"


# -- ECL wild: terms (item 1) ---------------------------------------------------------------
def test_wild_with_many_stars_answers_correctly(client: TestClient, store: Store) -> None:
    load_fixture(store)
    r = client.get("/fhir/ValueSet/$expand", params={
        "count": "5", "url": _ecl_url('<< 404684003 {{ term = wild:"**********#" }}')})
    assert r.status_code == 200, r.text
    assert _codes(r.json()) == set()
    r = client.get("/fhir/ValueSet/$expand", params={
        "url": _ecl_url('<< 404684003 {{ term = wild:"**DI***r**" }}')})
    assert r.status_code == 200, r.text
    assert _codes(r.json()) == {"64572001", "235856003"}  # Disease (disorder), Disorder of…


# -- nesting (item 6, ECL part) ---------------------------------------------------------------
def test_deeply_nested_ecl_is_a_400(client: TestClient, store: Store) -> None:
    load_fixture(store)
    deep = "(" * 2000 + "404684003" + ")" * 2000
    r = client.get("/fhir/ValueSet/$expand", params={"url": _ecl_url(deep)})
    body = _assert_outcome(r, 400, "invalid")
    assert "levels of nesting" in body["issue"][0]["details"]["text"]
    r = client.get("/fhir/ValueSet/$validate-code", params={
        "url": _ecl_url(deep), "system": SCT, "code": "404684003"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:  # validate-code may answer result=false with the issue
        assert "levels of nesting" in r.text
    else:
        _assert_outcome(r, 400, "invalid")
    vs = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [{
        "system": SCT, "filter": [{"property": "constraint", "op": "=",
                                   "value": "<< 404684003 : " + "(" * 2000}]}]}}
    r = client.post("/fhir/ValueSet/$expand", json=_params(vs))
    _assert_outcome(r, 400, "invalid")


# -- regex filters and the request deadline (item 5) ----------------------------------------
def test_hostile_regex_on_small_content_gives_the_right_answer(client: TestClient) -> None:
    assert client.post("/fhir/CodeSystem", json=_code_system()).status_code == 201
    r = client.post("/fhir/ValueSet/$expand", json=_params(_regex_vs()))
    assert r.status_code == 200, r.text
    assert _codes(r.json()) == {"square"}
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": _regex_vs()},
        {"name": "coding", "valueCoding": {"system": CS, "code": "square"}}]}
    r = client.post("/fhir/ValueSet/$validate-code", json=body)
    assert r.status_code == 200, r.text
    assert {"name": "result", "valueBoolean": True} in r.json()["parameter"]


@pytest.fixture
def impatient(db_url: str, store: Store) -> Iterator[TestClient]:
    """A client whose server gives each request one microsecond (TERMSERVER_REQUEST_TIMEOUT):
    whatever reaches a deadline check runs out of time."""
    settings = Settings(db=db_url, base_url="http://testserver/fhir", request_timeout=1e-6)
    with TestClient(create_app(settings, store)) as c:
        yield c


def _too_costly(r: httpx.Response) -> None:
    body = _assert_outcome(r, 422, "too-costly")
    assert "TERMSERVER_REQUEST_TIMEOUT" in str(body)


def test_the_request_deadline_reaches_every_kind_of_handler(impatient: TestClient,
                                                           store: Store) -> None:
    """The deadline is set once per request and reaches sync handlers (threadpool), routes
    that hand work to `run_in_threadpool`, and the fast path."""
    c = impatient
    assert c.post("/fhir/CodeSystem", json=_code_system(n=300)).status_code == 201
    assert c.post("/fhir/ValueSet", json=_regex_vs(url=VS)).status_code == 201
    _too_costly(c.get("/fhir/ValueSet/$expand", params={"url": VS}))  # sync route
    _too_costly(c.post("/fhir/ValueSet/$expand", json=_params(_regex_vs())))
    _too_costly(c.get("/fhir/ValueSet/$validate-code",  # fast path
                      params={"url": VS, "system": CS, "code": "square"}))
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": VS},
        {"name": "coding", "valueCoding": {"system": CS, "code": "square"}}]}
    _too_costly(c.post("/fhir/ValueSet/$validate-code", json=body))
    r = c.post("/fhir/ValueSet/$batch-validate-code", json={
        "resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": VS},
            {"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "coding", "valueCoding": {"system": CS, "code": "square"}}]}}]})
    assert r.status_code == 200, r.text
    assert r.json()["parameter"][0]["resource"]["issue"][0]["code"] == "too-costly"
    load_fixture(store)
    _too_costly(c.get("/fhir/ValueSet/$expand", params={"url": _ecl_url(
        '<< 138875005 {{ term = wild:"*liver*" }}')}))
    # bounded single reads do not check the deadline
    r = c.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "square"})
    assert r.status_code == 200, r.text


def test_regex_match_timeout_is_capped_by_the_request_deadline(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[float | None] = []

    class Spy:
        pattern = "x"

        def fullmatch(self, text: str, *, timeout: float | None = None,
                      concurrent: bool | None = None) -> None:
            assert concurrent is True  # the GIL is released while matching
            seen.append(timeout)

    from termserver.service import deadline

    spy: Any = Spy()
    filters._full_match(spy, "abc")
    with deadline.limit(0.2):
        filters._full_match(spy, "abc")
    assert seen[0] == filters.REGEX_TIMEOUT
    assert seen[1] is not None and 0 < seen[1] <= 0.2


def test_request_timeout_setting() -> None:
    assert Settings.from_env({}).request_timeout == 30.0
    assert Settings.from_env({"TERMSERVER_REQUEST_TIMEOUT": "2.5"}).request_timeout == 2.5
    assert Settings.from_env({"TERMSERVER_REQUEST_TIMEOUT": "0"}).request_timeout == 0.0
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(InvalidRequest, match="TERMSERVER_REQUEST_TIMEOUT has value"):
            Settings.from_env({"TERMSERVER_REQUEST_TIMEOUT": bad})


# -- a concurrent $lookup while a hostile request runs (items 3 and 5) ----------------------
@pytest.fixture
def live(db_url: str, store: Store) -> Iterator[str]:
    """A uvicorn server (in a thread) over `store`, with a 3 s request deadline."""
    with serve_app(create_app(Settings(db=db_url, request_timeout=3.0), store)) as url:
        yield f"{url}/fhir"


class _Matching:
    """Wraps filters._full_match: whether a regex match is running, and how many ended."""

    def __init__(self) -> None:
        self.active = 0
        self.finished = 0
        self.started = threading.Event()
        self.lock = threading.Lock()
        self.original = filters._full_match

    def __call__(self, pattern: regex.Pattern[str], text: str) -> bool:
        with self.lock:
            self.active += 1
        self.started.set()
        try:
            return self.original(pattern, text)
        finally:
            with self.lock:
                self.active -= 1
                self.finished += 1

    def state(self) -> tuple[bool, int]:
        with self.lock:
            return self.active > 0, self.finished


@pytest.mark.parametrize("kind", ["expand-post", "validate-get", "expand-get"])
def test_lookup_is_answered_while_a_hostile_request_runs(
        live: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with httpx.Client(base_url=live, timeout=120) as http:
        assert http.post("/CodeSystem", json=_code_system(n=300, long_display=True)
                         ).status_code == 201
        assert http.post("/ValueSet", json=_regex_vs(url=VS)).status_code == 201
    matching = _Matching()
    monkeypatch.setattr(filters, "_full_match", matching)
    answers: list[httpx.Response] = []

    def hostile() -> None:
        with httpx.Client(base_url=live, timeout=120) as http:
            if kind == "expand-post":
                answers.append(http.post("/ValueSet/$expand", json=_params(_regex_vs())))
            elif kind == "expand-get":
                answers.append(http.get("/ValueSet/$expand", params={"url": VS}))
            else:  # one 400-character display: a single match of up to REGEX_TIMEOUT
                answers.append(http.get("/ValueSet/$validate-code", params={
                    "url": VS, "system": CS, "code": "long"}))

    worker = threading.Thread(target=hostile, daemon=True)
    worker.start()
    assert matching.started.wait(60), "the hostile request never started matching"
    during: list[tuple[bool, int]] = []  # the matcher's state as each $lookup came back
    with httpx.Client(base_url=live, timeout=120) as http:
        for _ in range(5000):
            if not worker.is_alive():
                break
            r = http.get("/CodeSystem/$lookup", params={"system": CS, "code": "square"})
            assert r.status_code == 200, r.text
            during.append(matching.state())
    worker.join(timeout=120)
    assert not worker.is_alive() and len(answers) == 1
    assert answers[0].status_code in (200, 422), answers[0].text
    if answers[0].status_code == 422:
        assert answers[0].json()["issue"][0]["code"] == "too-costly"
    _, total = matching.state()
    # some $lookup was answered while a match was running or before the last one ended
    assert any(active or finished < total for active, finished in during), during[:5]
