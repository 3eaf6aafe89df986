"""Tokens on the curator pages: a page view without a token goes to the sign-in page, the
sign-in keeps a valid token in an HttpOnly cookie for /workbench only, and a write with that
cookie is accepted only from htmx (a cross-site form cannot send HX-Request)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from termserver.settings import Settings
from termserver.store import Store

HX = {"HX-Request": "true"}


def _client(db_url: str, store: Store) -> TestClient:
    from termserver.api.app import create_app

    settings = Settings(db=db_url, api_tokens=frozenset({"w-token"}),
                        read_tokens=frozenset({"r-token"}))
    return TestClient(create_app(settings, store), follow_redirects=False)


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
        wrong = c.post("/workbench/login", data={"token": "nope", "next": "/workbench"})
        assert wrong.status_code == 401 and 'data-testid="login-error"' in wrong.text
        assert "termserver_token" not in wrong.headers.get("set-cookie", "")
        r = c.post("/workbench/login", data={"token": "w-token", "next": "https://evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/workbench"  # no open redirect
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/workbench" in cookie
        c.cookies.set("termserver_token", "w-token", path="/")
        page = c.get("/workbench")
        assert page.status_code == 200 and "sign out" in page.text


def test_the_cookie_authorises_writes_only_from_htmx_and_only_on_the_workbench(
        db_url: str, store: Store) -> None:
    with _client(db_url, store) as c:
        c.cookies.set("termserver_token", "w-token", path="/")
        forged = c.post("/workbench/projects", data={"id": "x"})  # a plain cross-site form
        assert forged.status_code == 401
        from_htmx = c.post("/workbench/projects", headers=HX, data={
            "id": "x", "title": "X", "source_system": "http://example.org/none",
            "target_system": "http://loinc.org"})
        assert from_htmx.status_code == 404  # authorised, then refused on its merits: no source
        assert c.get("/fhir/metadata").status_code == 401  # the cookie is not a FHIR credential
        c.cookies.set("termserver_token", "r-token", path="/")
        assert c.get("/workbench/api/projects").status_code == 200
        assert c.post("/workbench/projects", headers=HX, data={"id": "y"}).status_code == 401
