"""Every error path answers an OperationOutcome with the right issue code and HTTP status, and
leaves the database as it was."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver import errors
from termserver.fhir.outcome import ISSUE_STATUS
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import code_system, value_set

CS = "/fhir/CodeSystem"
JSON_H = {"Content-Type": "application/fhir+json"}

# (method, path, body, headers, status, issue code)
CASES: list[tuple[str, str, Any, dict[str, str], int, str]] = [
    ("POST", CS, b"{not json", JSON_H, 400, "structure"),
    ("POST", CS, b"", JSON_H, 400, "structure"),
    ("POST", CS, b"[1, 2]", JSON_H, 400, "structure"),
    ("POST", CS, b'{"resourceType": "ValueSet", "url": "http://x"}', JSON_H, 400, "invalid"),
    ("POST", CS, b'{"resourceType": "Patient"}', JSON_H, 400, "invalid"),
    ("POST", CS, b"<CodeSystem/>", {"Content-Type": "application/xml"}, 415, "not-supported"),
    ("POST", CS, b'{"resourceType": "CodeSystem", "status": "active", "content": "complete"}',
     JSON_H, 422, "business-rule"),
    ("POST", CS, b'{"resourceType": "CodeSystem", "url": "http://x/d", "content": "complete",'
     b' "status": "active", "concept": [{"code": "a"}, {"code": "a"}]}', JSON_H, 422,
     "business-rule"),
    ("PUT", f"{CS}/abc", b'{"resourceType": "CodeSystem", "id": "other", "url": "http://x"}',
     JSON_H, 400, "invalid"),
    ("PUT", f"{CS}/existing", b'{"resourceType": "CodeSystem", "id": "existing",'
     b' "url": "http://example.org/existing", "version": "1", "status": "active",'
     b' "content": "complete"}', {**JSON_H, "If-Match": 'W/"7"'}, 412, "conflict"),
    ("PUT", f"{CS}/another", b'{"resourceType": "CodeSystem", "id": "another",'
     b' "url": "http://example.org/existing", "version": "1", "status": "active",'
     b' "content": "complete"}', JSON_H, 409, "conflict"),
    ("GET", f"{CS}/unknown-id", None, {}, 404, "not-found"),
    ("DELETE", f"{CS}/unknown-id", None, {}, 404, "not-found"),
    ("GET", "/fhir/Patient", None, {}, 404, "not-found"),
    ("PATCH", f"{CS}/existing", b"{}", JSON_H, 405, "not-supported"),
    ("DELETE", CS, None, {}, 405, "not-supported"),
    ("GET", f"{CS}?_count=lots", None, {}, 400, "invalid"),
    ("GET", f"{CS}?_summary=maybe", None, {}, 400, "invalid"),
    ("GET", f"{CS}?colour=red", None, {}, 400, "invalid"),
    ("GET", "/fhir/metadata?mode=weird", None, {}, 400, "invalid"),
    ("GET", f"{CS}/$lookup?code=a", None, {}, 400, "invalid"),
    ("GET", f"{CS}/$lookup?system=http://example.org/existing", None, {}, 400, "invalid"),
    ("GET", f"{CS}/$lookup?system=http://example.org/nope&code=a", None, {}, 404, "not-found"),
    ("GET", f"{CS}/$lookup?system=http://example.org/existing&code=zzz", None, {}, 404,
     "not-found"),
    ("GET", f"{CS}/$lookup?system=http://example.org/existing&code=a&version=9", None, {}, 404,
     "not-found"),
    ("POST", f"{CS}/$lookup", b'{"resourceType": "Bundle"}', JSON_H, 400, "invalid"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"), CASES,
                         ids=[f"{c[0]} {c[1][:60]} {c[4]}" for c in CASES])
def test_every_error_is_an_operation_outcome(client: TestClient, store: Store, method: str,
                                             path: str, body: Any, headers: dict[str, str],
                                             status: int, code: str) -> None:
    client.put(f"{CS}/existing", json=code_system("http://example.org/existing", "1",
                                                  id="existing"))
    before = store.count_rows()
    r = client.request(method, path, content=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["severity"] == "error"
    assert issue["code"] == code
    assert issue["details"]["text"]
    assert "Traceback" not in r.text
    assert store.count_rows() == before


def test_unexpected_errors_are_500_without_stack_trace(settings: Settings, store: Store,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.api.app import create_app

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Store, "search", boom)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        r = c.get("/fhir/ValueSet")
    assert r.status_code == 500
    issue = r.json()["issue"][0]
    assert issue["code"] == "exception"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert "reference" in issue["details"]["text"]


def test_unexpected_errors_are_never_re_raised(settings: Settings, store: Store,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """In a route or in a middleware (outside FastAPI's handlers): a 500 OperationOutcome,
    and nothing reaches the server (TestClient re-raises whatever escapes the app)."""
    from termserver.api import limits
    from termserver.api.app import create_app

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    with TestClient(create_app(settings, store)) as c:
        monkeypatch.setattr(Store, "search", boom)
        r = c.get("/fhir/ValueSet")
        assert r.status_code == 500, r.text
        monkeypatch.setattr(limits, "_header", boom)  # in the outermost middleware
        for method, path in (("GET", "/fhir/metadata"), ("POST", "/fhir/ValueSet")):
            r = c.request(method, path, json={})
            assert r.status_code == 500, r.text
            assert r.json()["issue"][0]["code"] == "exception"
            assert "secret" not in r.text


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_error_class_maps_to_a_known_issue_type() -> None:
    for cls in _subclasses(errors.TerminologyError):
        assert cls.issue_type in ISSUE_STATUS, cls
        assert 400 <= cls.http_status < 600, cls


@pytest.mark.parametrize("tokens", ["secret"])
def test_writes_need_a_token_when_configured(db_url: str, store: Store, tokens: str) -> None:
    from termserver.api.app import create_app

    settings = Settings(db=db_url, api_tokens=frozenset({tokens}))
    vs = value_set("http://example.org/protected")
    with TestClient(create_app(settings, store)) as c:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            r = c.post("/fhir/ValueSet", json=vs, headers=headers)
            assert r.status_code == 401
            assert r.json()["issue"][0]["code"] == "login"
            assert r.headers["www-authenticate"] == "Bearer"
        assert c.delete("/fhir/ValueSet/x").status_code == 401
        assert c.get("/fhir/ValueSet").json()["total"] == 0  # nothing written; reads open
        assert c.post("/fhir/CodeSystem/$lookup", json={"resourceType": "Parameters"}
                      ).status_code == 400  # operations are reads
        r = c.post("/fhir/ValueSet", json=vs, headers={"Authorization": "Bearer secret"})
        assert r.status_code == 201


def test_reads_need_a_token_when_configured(db_url: str, store: Store) -> None:
    from termserver.api.app import create_app

    settings = Settings(db=db_url, api_tokens=frozenset({"w"}), read_tokens=frozenset({"r"}))
    with TestClient(create_app(settings, store)) as c:
        assert c.get("/fhir/metadata").status_code == 401
        assert c.get("/fhir/metadata", headers={"Authorization": "Bearer r"}).status_code == 200
        assert c.get("/fhir/metadata", headers={"Authorization": "Bearer w"}).status_code == 200
        r = c.post("/fhir/ValueSet", json=value_set("http://example.org/p"),
                   headers={"Authorization": "Bearer r"})
        assert r.status_code == 401
