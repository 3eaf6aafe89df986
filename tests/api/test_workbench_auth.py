"""Tokens on the curator pages: a page view without a token goes to the sign-in page, the
sign-in (CSRF-protected, throttled) keeps a signed session naming the token's identity — never
the token — in an HttpOnly cookie for /workbench only, and a write with that cookie is accepted
only from htmx (a cross-site form cannot send HX-Request). Security headers on every page."""

from __future__ import annotations

import re
import time

import httpx
from fastapi.testclient import TestClient

from termserver.api.sessions import MAX_FAILURES, SESSION_COOKIE, Keys
from termserver.settings import Settings
from termserver.store import Store

HX = {"HX-Request": "true"}


def _settings(db_url: str, secret: str | None = None) -> Settings:
    return Settings(db=db_url, api_tokens=frozenset({"w-token"}),
                    read_tokens=frozenset({"r-token"}), token_names=(("w-token", "wanda"),),
                    secret=secret)


def _client(db_url: str, store: Store) -> TestClient:
    from termserver.api.app import create_app

    return TestClient(create_app(_settings(db_url), store), follow_redirects=False)


def _sign_in(c: TestClient, token: str, next: str = "/workbench") -> httpx.Response:
    """Fetch the form (its CSRF token and cookie), then post it."""
    form = c.get("/workbench/login")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found, form.text
    answer: httpx.Response = c.post("/workbench/login", data={
        "token": token, "next": next, "csrf": found.group(1)})
    return answer


def test_a_page_view_without_a_token_goes_to_the_sign_in(db_url: str, store: Store) -> None:
    with _client(db_url, store) as c:
        r = c.get("/workbench/projects/lab")
        assert r.status_code == 303
        assert r.headers["location"] == "/workbench/login?next=%2Fworkbench%2Fprojects%2Flab"
        page = c.get(r.headers["location"])
        assert page.status_code == 200 and 'name="token"' in page.text
        assert 'value="/workbench/projects/lab"' in page.text
        part = c.post("/workbench/projects", headers=HX, data={"id": "x"})
        assert part.status_code == 401 and "sign in" in part.text  # HTML for htmx to swap in
        api = c.get("/workbench/api/projects")
        assert api.status_code == 401 and api.json()["issue"][0]["code"] == "login"


def test_the_sign_in_checks_the_token_and_sets_a_strict_cookie(db_url: str,
                                                               store: Store) -> None:
    with _client(db_url, store) as c:
        wrong = _sign_in(c, "nope")
        assert wrong.status_code == 401 and 'data-testid="login-error"' in wrong.text
        assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
        r = _sign_in(c, "w-token", next="https://evil.example/")
        assert r.status_code == 303 and r.headers["location"] == "/workbench"  # no open redirect
        cookie = r.headers["set-cookie"]
        assert SESSION_COOKIE in cookie and "w-token" not in cookie  # never the raw token
        low = cookie.lower()
        assert "httponly" in low and "samesite=strict" in low and "path=/workbench" in low
        page = c.get("/workbench")
        assert page.status_code == 200 and "sign out" in page.text
        assert 'data-testid="curator-name">wanda<' in page.text


def _session_only(c: TestClient, value: str) -> None:
    c.cookies.clear()
    c.cookies.set(SESSION_COOKIE, value, path="/")


def test_the_cookie_authorises_writes_only_from_htmx_and_only_on_the_workbench(
        db_url: str, store: Store) -> None:
    with _client(db_url, store) as c:
        assert _sign_in(c, "w-token").status_code == 303
        forged = c.post("/workbench/projects", data={"id": "x"})  # a plain cross-site form
        assert forged.status_code == 401
        from_htmx = c.post("/workbench/projects", headers=HX, data={
            "id": "x", "title": "X", "source_system": "http://example.org/none",
            "target_system": "http://loinc.org"})
        assert from_htmx.status_code == 404  # authorised, then refused on its merits: no source
        assert c.get("/fhir/metadata").status_code == 401  # the cookie is not a FHIR credential
        assert _sign_in(c, "r-token").status_code == 303
        assert c.get("/workbench/api/projects").status_code == 200
        assert c.post("/workbench/projects", headers=HX, data={"id": "y"}).status_code == 401


def test_a_raw_or_tampered_token_cookie_is_no_credential(db_url: str, store: Store) -> None:
    """Issue 12: the cookie held the raw bearer token."""
    with _client(db_url, store) as c:
        c.cookies.set("termserver_token", "w-token", path="/")
        assert c.get("/workbench").status_code == 303
        _session_only(c, "w-token")
        assert c.get("/workbench").status_code == 303
        c.cookies.clear()
        assert _sign_in(c, "r-token").status_code == 303
        value = c.cookies.get(SESSION_COOKIE)
        assert value and c.get("/workbench").status_code == 200
        payload, _, signature = value.rpartition(".")
        parts = payload.split(".")
        longer = ".".join([*parts[:3], str(int(parts[3]) + 10**6)])
        for bad in (f"{longer}.{signature}", f"{payload}.{signature[:-2]}xx", payload):
            _session_only(c, bad)
            assert c.get("/workbench").status_code == 303


def test_a_session_is_valid_in_every_process_until_it_expires(db_url: str,
                                                              store: Store) -> None:
    """Same settings → same key (another worker accepts the session); expiry and a removed
    token end it; TERMSERVER_SECRET is the key when set."""
    keys = Keys(_settings(db_url))
    info = keys.token("w-token")
    assert info is not None and info.name == "wanda" and "write" in info.roles
    with _client(db_url, store) as other:
        _session_only(other, keys.session(info))
        assert other.get("/workbench").status_code == 200
        _session_only(other, keys.session(info, now=time.time() - 13 * 3600))
        assert other.get("/workbench").status_code == 303  # expired
    assert Keys(_settings(db_url)).verify_session(keys.session(info)) == info
    fewer = Settings(db=db_url, api_tokens=frozenset({"other"}), token_names=())
    assert Keys(fewer).verify_session(keys.session(info)) is None  # token removed
    with_secret = Keys(_settings(db_url, secret="s3cret"))
    assert with_secret.verify_session(keys.session(info)) is None
    assert Keys(_settings(db_url, secret="s3cret")).verify_session(
        with_secret.session(info)) == info


def test_the_sign_in_form_needs_its_own_csrf_token(db_url: str, store: Store) -> None:
    """Login CSRF: a cross-site form has neither the form token nor its SameSite cookie."""
    with _client(db_url, store) as c:
        bare = c.post("/workbench/login", data={"token": "w-token", "next": "/workbench"})
        assert bare.status_code == 403 and SESSION_COOKIE not in bare.headers.get(
            "set-cookie", "")
        form = c.get("/workbench/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        c.cookies.clear()  # the field without its cookie (another browser's form)
        r = c.post("/workbench/login", data={"token": "w-token", "csrf": token.group(1)})
        assert r.status_code == 403


def test_failed_sign_ins_are_throttled_per_client(db_url: str, store: Store) -> None:
    with _client(db_url, store) as c:
        for _ in range(MAX_FAILURES):
            assert _sign_in(c, "guess").status_code == 401
        blocked = _sign_in(c, "w-token")  # even the right token waits now
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert SESSION_COOKIE not in blocked.headers.get("set-cookie", "")


def test_security_headers_on_pages_and_nosniff_on_fhir(db_url: str, store: Store) -> None:
    with _client(db_url, store) as c:
        for path in ("/workbench/login", "/workbench", "/workbench/static/workbench.js"):
            h = c.get(path).headers
            csp = h["content-security-policy"]
            assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert (h["x-frame-options"], h["x-content-type-options"]) == ("DENY", "nosniff")
            assert h["referrer-policy"] == "same-origin"
        fhir = c.get("/fhir/metadata", headers={"Authorization": "Bearer r-token"})
        assert fhir.headers["x-content-type-options"] == "nosniff"
        assert c.get("/fhir/metadata").headers["x-content-type-options"] == "nosniff"  # 401
