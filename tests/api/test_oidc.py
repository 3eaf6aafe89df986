"""OIDC bearer tokens (issue 16): a key pair made here, the issuer's discovery document and
JWKS served by a small HTTP server of the test, tokens per role accepted where the role allows
and refused elsewhere (FHIR read, resource PUT, workbench), invalid tokens refused with 401
OperationOutcome, the curator in the audit trail taken from the token, the JWKS cached and
refetched for a new key, and a slow issuer given up on after the timeout."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.api.app import create_app
from termserver.api.oidc import (
    REFRESH_INTERVAL,
    InvalidToken,
    IssuerUnavailable,
    OIDCConfig,
    Verifier,
    fetch_json,
    parse_role_map,
)
from termserver.errors import InvalidRequest
from termserver.ingest import load_path
from termserver.settings import Settings
from termserver.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "loinc"
AUDIENCE = "termserver"
LAB = "http://hospital.example/CodeSystem/lab"
API = "/workbench/api"
HX = {"HX-Request": "true"}


class IdP:
    """An identity provider: keys, the discovery document and JWKS over HTTP, token minting."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.published: list[dict[str, Any]] = [self._jwk(self.key, "k1"),
                                                self._jwk(self.ec_key, "k2")]
        self.hits: Counter[str] = Counter()
        self.server, self.port = _serve(self)
        self.base = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base}/realms/diz"

    @staticmethod
    def _jwk(key: Any, kid: str) -> dict[str, Any]:
        if isinstance(key, rsa.RSAPrivateKey):
            found: dict[str, Any] = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            found["alg"] = "RS256"
        else:
            found = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            found["alg"] = "ES256"
        return {**found, "kid": kid, "use": "sig"}

    def claims(self, user: str, *roles: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": AUDIENCE, "sub": f"id-{user}", "iat": now,
                "exp": now + 300, "preferred_username": user,
                "realm_access": {"roles": list(roles)}, **extra}

    def token(self, user: str, *roles: str, key: Any = None, kid: str = "k1",
              alg: str = "RS256", **extra: Any) -> str:
        return jwt.encode(self.claims(user, *roles, **extra), key or self.key, algorithm=alg,
                          headers={"kid": kid})

    def document(self, path: str) -> tuple[int, bytes, float]:
        """(status, body, seconds between the body's bytes) for a GET of `path`."""
        self.hits[path] = self.hits[path] + 1
        if path == "/realms/diz/.well-known/openid-configuration":
            body = {"issuer": self.issuer, "jwks_uri": f"{self.base}/realms/diz/certs"}
            return 200, json.dumps(body).encode(), 0.0
        if path in ("/realms/diz/certs", "/slow", "/drip"):
            keys = json.dumps({"keys": self.published}).encode()
            return 200, keys, {"/slow": 5.0, "/drip": 0.05}.get(path, 0.0)
        return 404, b"{}", 0.0


def _serve(idp: IdP) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            status, body, pause = idp.document(self.path)
            if pause >= 1:  # /slow: answer nothing for a long time
                time.sleep(pause)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) * (100 if pause else 1)))
            self.end_headers()
            try:
                if pause and pause < 1:  # /drip: one byte at a time, each in good time
                    for byte in (body * 100):
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(pause)
                else:
                    self.wfile.write(body)
            except OSError:  # the client gave up
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a free port
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def idp() -> Iterator[IdP]:
    found = IdP()
    yield found
    found.server.shutdown()
    found.server.server_close()


def _env(idp: IdP, **extra: str) -> dict[str, str]:
    return {"TERMSERVER_OIDC_ISSUER": idp.issuer, "TERMSERVER_OIDC_AUDIENCE": AUDIENCE,
            "TERMSERVER_OIDC_ROLE_MAP":
                "read=tx-read,write=tx-write,curate=curator,admin=tx-admin", **extra}


@pytest.fixture
def oidc_client(db_url: str, store: Store, idp: IdP,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A server that accepts the IdP's tokens (and the static write token 'w'), with the
    LOINC fixture release loaded."""
    for name, value in _env(idp).items():
        monkeypatch.setenv(name, value)
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    settings = Settings(db=db_url, api_tokens=frozenset({"w"}), token_names=(("w", "wanda"),))
    with TestClient(create_app(settings, store), follow_redirects=False) as c:
        yield c


def _as(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def _outcome(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    return issue


def _lookup(c: TestClient, token: str | None) -> Any:
    return c.get("/fhir/CodeSystem/$lookup", params={"system": "http://loinc.org",
                                                     "code": "6298-4"},
                 headers=_as(token) if token else {})


def _put_value_set(c: TestClient, token: str, id: str) -> Any:
    body = {"resourceType": "ValueSet", "id": id, "url": f"http://example.org/vs/{id}",
            "status": "active", "compose": {"include": [{"system": "http://loinc.org"}]}}
    return c.put(f"/fhir/ValueSet/{id}", json=body, headers=_as(token))


def _import_list(c: TestClient, token: str) -> Any:
    return c.post(f"{API}/codesystems/import", headers=_as(token),
                  files={"file": ("lab.csv", b"code;display\nK;Kalium\n", "text/csv")},
                  data={"url": LAB, "version": "1"})


def test_each_role_is_accepted_where_it_allows_and_refused_elsewhere(
        oidc_client: TestClient, idp: IdP) -> None:
    c = oidc_client
    reader = idp.token("rita", "tx-read")
    writer = idp.token("walter", "tx-write")
    curator = idp.token("carla", "curator")
    admin = idp.token("ada", key=idp.ec_key, kid="k2", alg="ES256",
                      resource_access={AUDIENCE: {"roles": ["tx-admin"]}})
    by_scope = idp.token("svc", scope="openid profile tx-read")
    nobody = idp.token("nina", "offline_access")

    # FHIR read operation: every role that implies read
    assert _outcome(_lookup(c, None), 401)["code"] == "login"
    for token in (reader, writer, curator, admin, by_scope):
        assert _lookup(c, token).status_code == 200
    refused = _lookup(c, nobody)
    assert _outcome(refused, 403)["code"] == "forbidden"
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope"'

    # resource PUT: write and admin
    assert _put_value_set(c, writer, "by-writer").status_code in (200, 201)
    assert _put_value_set(c, admin, "by-admin").status_code in (200, 201)
    for token in (reader, curator, by_scope):
        issue = _outcome(_put_value_set(c, token, "nope"), 403)
        assert issue["code"] == "forbidden" and "'write'" in issue["details"]["text"]
    assert c.get("/fhir/ValueSet/nope", headers=_as(admin)).status_code == 404

    # workbench: viewing needs read, changing needs curate (or admin)
    assert c.get(f"{API}/projects", headers=_as(reader)).status_code == 200
    for token in (reader, writer):
        assert _outcome(_import_list(c, token), 403)["code"] == "forbidden"
    assert _import_list(c, curator).status_code == 200
    body = {"id": "lab", "title": "Labor", "source_system": LAB, "source_version": "1",
            "target_system": "http://loinc.org", "author": "mallory"}
    assert c.post(f"{API}/projects", json=body, headers=_as(writer)).status_code == 403
    assert c.post(f"{API}/projects", json=body, headers=_as(admin)).status_code == 201
    part = c.post("/workbench/projects", headers=_as(reader, **HX), data={"id": "x"})
    assert part.status_code == 403 and "curate" in part.text  # HTML for htmx to swap in

    # the static write token still works next to OIDC, and may curate
    assert _put_value_set(c, "w", "by-static").status_code in (200, 201)
    assert _outcome(_put_value_set(c, "not-a-token", "x"), 401)["code"] == "login"


def test_the_curator_in_the_audit_trail_comes_from_the_token(oidc_client: TestClient,
                                                             idp: IdP) -> None:
    c = oidc_client
    curator = idp.token("carla", "curator")
    admin = idp.token("ada", "tx-admin")
    assert _import_list(c, curator).status_code == 200
    body = {"id": "lab", "title": "Labor", "source_system": LAB, "source_version": "1",
            "target_system": "http://loinc.org", "author": "mallory"}
    assert c.post(f"{API}/projects", json=body, headers=_as(curator)).status_code == 201
    r = c.put(f"{API}/projects/lab/codes/K/decision", headers=_as(curator, **{
        "X-Curator": "mallory"}), json={"status": "rejected", "author": "mallory"})
    assert r.status_code == 200 and r.json()["author"] == "carla"
    r = c.put(f"{API}/projects/lab/codes/K/decision", headers=_as(admin),
              json={"status": "accepted", "targets": [{"code": "6298-4"}]})
    assert r.status_code == 200 and r.json()["author"] == "ada"
    events = c.get(f"{API}/projects/lab/history", headers=_as(curator)).json()
    assert {e["author"] for e in events} == {"carla", "ada"}
    # the curator pages take the token a reverse proxy passes on
    page = c.get("/workbench", headers=_as(curator))
    assert page.status_code == 200 and 'data-testid="curator-name">carla<' in page.text


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _bad_tokens(idp: IdP) -> dict[str, str]:
    now = int(time.time())
    good = idp.claims("eve", "tx-admin")
    return {
        "expired": jwt.encode({**good, "iat": now - 3600, "exp": now - 600}, idp.key,
                              algorithm="RS256", headers={"kid": "k1"}),
        "not yet valid": idp.token("eve", "tx-admin", nbf=now + 600),
        "wrong issuer": idp.token("eve", "tx-admin", iss="https://evil.example/realms/diz"),
        "wrong audience": idp.token("eve", "tx-admin", aud="another-client"),
        "no exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, idp.key,
                             algorithm="RS256", headers={"kid": "k1"}),
        "unsigned": _unsigned(good),
        "wrong key": idp.token("eve", "tx-admin", key=idp.stranger),
        "unknown kid": idp.token("eve", "tx-admin", key=idp.stranger, kid="k9"),
        "hmac": jwt.encode(good, "a-shared-secret-of-32-bytes-len!", algorithm="HS256",
                           headers={"kid": "k1"}),
        "garbage": "eyJhbGciOiJSUzI1NiJ9.not-base64!.x",
    }


def test_invalid_tokens_get_401_operation_outcome(oidc_client: TestClient, idp: IdP) -> None:
    for what, token in _bad_tokens(idp).items():
        for r in (_lookup(oidc_client, token), _put_value_set(oidc_client, token, "x"),
                  oidc_client.get(f"{API}/projects", headers=_as(token))):
            issue = _outcome(r, 401)
            assert issue["code"] == "login", what
            challenge = r.headers["www-authenticate"]
            assert challenge.startswith('Bearer error="invalid_token", error_description="'), (
                what, challenge)
    assert oidc_client.get("/livez", headers=_as(_unsigned({}))).status_code == 200


def test_keys_are_cached_and_fetched_again_for_a_new_key(idp: IdP) -> None:
    config = OIDCConfig.from_env(_env(idp))
    assert config is not None
    now = [1000.0]
    verifier = Verifier(config, clock=lambda: now[0])
    before = idp.hits.copy()
    for _ in range(3):
        assert anyio.run(verifier.authenticate, idp.token("rita", "tx-read")).roles == {"read"}
    assert idp.hits["/realms/diz/certs"] - before["/realms/diz/certs"] == 1  # cached
    assert idp.hits["/realms/diz/.well-known/openid-configuration"] > before[
        "/realms/diz/.well-known/openid-configuration"]
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.published.append(idp._jwk(rotated, "k3"))
    try:
        new = idp.token("rita", "tx-read", key=rotated, kid="k3")
        with pytest.raises(InvalidToken, match="k3"):  # just fetched: not again at once
            anyio.run(verifier.authenticate, new)
        now[0] += REFRESH_INTERVAL + 1
        claims = anyio.run(verifier.authenticate, new)
        assert claims.name == "rita" and idp.hits["/realms/diz/certs"] - before[
            "/realms/diz/certs"] == 2
    finally:
        idp.published.pop()


@pytest.mark.parametrize("path", ["/slow", "/drip"])
def test_a_slow_issuer_is_given_up_on(idp: IdP, path: str) -> None:
    """A JWKS that answers late (/slow), or one byte at a time (/drip, each byte well within
    the socket timeout), fails after TERMSERVER_OIDC_TIMEOUT instead of holding the request."""
    config = OIDCConfig.from_env(_env(idp, TERMSERVER_OIDC_JWKS_URL=idp.base + path,
                                      TERMSERVER_OIDC_TIMEOUT="0.5"))
    assert config is not None and config.timeout == 0.5
    verifier = Verifier(config)
    with pytest.raises(IssuerUnavailable, match="TimeoutError|timed out"):
        anyio.run(verifier.authenticate, idp.token("rita", "tx-read"))


def test_an_unreachable_issuer_answers_503(db_url: str, store: Store, idp: IdP,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _env(idp, TERMSERVER_OIDC_JWKS_URL=idp.base + "/slow",
                            TERMSERVER_OIDC_TIMEOUT="0.3").items():
        monkeypatch.setenv(name, value)
    with TestClient(create_app(Settings(db=db_url), store)) as c:
        r = c.get("/fhir/metadata", headers=_as(idp.token("rita", "tx-read")))
        assert _outcome(r, 503)["code"] == "transient" and "Retry-After" in r.headers
        assert _outcome(c.get("/fhir/metadata"), 401)["code"] == "login"


def test_a_discovery_document_of_another_issuer_is_refused(idp: IdP) -> None:
    config = OIDCConfig.from_env(_env(idp, TERMSERVER_OIDC_ISSUER=idp.base + "/realms/diz/"))
    assert config is not None
    with pytest.raises(IssuerUnavailable, match="not found|issuer"):
        anyio.run(Verifier(config).authenticate, idp.token("rita", "tx-read"))


def test_the_configuration_is_checked() -> None:
    assert OIDCConfig.from_env({}) is None
    with pytest.raises(InvalidRequest, match="AUDIENCE"):
        OIDCConfig.from_env({"TERMSERVER_OIDC_ISSUER": "https://idp.example/realms/x"})
    with pytest.raises(InvalidRequest, match="ROLE_MAP"):
        parse_role_map("read=a,superuser=b")
    assert parse_role_map("read=a|b, admin=c") == (("a", "read"), ("b", "read"),
                                                    ("c", "admin"))
    config = OIDCConfig.from_env({"TERMSERVER_OIDC_ISSUER": "https://idp.example/realms/x",
                                  "TERMSERVER_OIDC_AUDIENCE": "tx"})
    assert config is not None and "resource_access.tx.roles" in config.roles_claims
    claims = {"realm_access": {"roles": ["tx-write"]}, "scope": "openid tx-curate"}
    assert Verifier(config).roles(claims) == {"read", "write", "curate"}


def test_the_last_keys_stay_in_use_while_the_issuer_is_down(idp: IdP) -> None:
    config = OIDCConfig.from_env(_env(idp, TERMSERVER_OIDC_JWKS_TTL="60"))
    assert config is not None
    now = [0.0]
    down = [False]
    calls: list[str] = []

    def fetch(url: str, deadline: float) -> Any:
        calls.append(url)
        if down[0]:
            raise TimeoutError("the issuer does not answer")
        return fetch_json(url, deadline)

    verifier = Verifier(config, fetch, clock=lambda: now[0])
    assert anyio.run(verifier.authenticate, idp.token("rita", "tx-read")).name == "rita"
    down[0] = True
    now[0] += 61  # the keys are stale: fetched again, which fails
    assert anyio.run(verifier.authenticate, idp.token("ria", "tx-read")).name == "ria"
    assert len(calls) == 3 and verifier.jwks.error is not None  # discovery, JWKS, JWKS
    assert anyio.run(verifier.authenticate, idp.token("rio", "tx-read")).name == "rio"
    assert len(calls) == 3  # not again within REFRESH_INTERVAL
