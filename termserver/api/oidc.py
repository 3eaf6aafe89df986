"""OIDC bearer tokens: signed JWTs from the configured issuer, checked against its JWKS, and
the roles they carry.

A token is accepted when its signature verifies with a key of the issuer's JWKS (asymmetric
algorithms only: `alg: none` and HMAC tokens are refused), `iss` is the issuer, `aud` holds the
audience, and `exp` (required) and `nbf` hold with LEEWAY seconds of clock skew. The JWKS URL
comes from TERMSERVER_OIDC_JWKS_URL, else from the issuer's discovery document
(`<issuer>/.well-known/openid-configuration` → `jwks_uri`). Keys are cached for
TERMSERVER_OIDC_JWKS_TTL seconds and fetched again early for an unknown `kid`, at most once per
REFRESH_INTERVAL. A fetch runs in a worker thread and ends after TERMSERVER_OIDC_TIMEOUT
seconds in all (discovery and JWKS together, bodies of at most MAX_DOCUMENT bytes); while the
issuer is unreachable the last keys fetched stay in use.

Roles: the values of the role claims (dotted paths; a list, or a space-separated string such
as `scope`) are mapped by TERMSERVER_OIDC_ROLE_MAP to the server's roles. `admin` implies every
role; `write` and `curate` imply `read`. Chosen library: PyJWT (`pyjwt[crypto]`): maintained,
small, typed, with JWK parsing (`PyJWKSet`); the fetching is ours so that it is bounded in time
and size and rate-limited, which PyJWT's `PyJWKClient` is not (it refetches on every unknown
`kid`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from anyio import to_thread
from jwt import PyJWK, PyJWKSet

from termserver.errors import InvalidRequest, TerminologyError

#: The server's roles, and what each one implies.
ROLES = ("read", "write", "curate", "admin")
IMPLIES: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "write": frozenset({"write", "read"}),
    "curate": frozenset({"curate", "read"}),
    "admin": frozenset(ROLES),
}
#: Signature algorithms a token may use (never `none`, never HMAC with a shared secret).
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")
LEEWAY = 30  # seconds of clock skew allowed on exp / nbf / iat
REFRESH_INTERVAL = 30.0  # seconds between two fetches for an unknown kid
MAX_DOCUMENT = 1_000_000  # bytes of a discovery document or JWKS
DEFAULT_ROLE_MAP = "read=tx-read,write=tx-write,curate=tx-curate,admin=tx-admin"
MAX_NAME = 128  # characters of a user name taken from a token
ACCEPTED_SECONDS = 60.0  # how long a verified token is remembered (never past its exp)
MAX_ACCEPTED = 4096  # verified tokens remembered (least recently used forgotten first)

#: The settings are documented in termserver.settings.SETTINGS (TERMSERVER_OIDC_*).


class InvalidToken(TerminologyError):
    """A bearer token that is no valid token of the issuer (401, error="invalid_token")."""

    issue_type = "login"
    http_status = 401


class IssuerUnavailable(TerminologyError):
    """The issuer's keys could not be fetched, so no token can be checked (503)."""

    issue_type = "transient"
    http_status = 503


@dataclass(frozen=True, slots=True)
class OIDCConfig:
    issuer: str
    audience: str
    jwks_url: str | None = None
    roles_claims: tuple[str, ...] = ()
    role_map: tuple[tuple[str, str], ...] = ()  # (token role or scope, server role)
    username_claim: str = "preferred_username"
    timeout: float = 5.0
    jwks_ttl: float = 600.0
    algorithms: tuple[str, ...] = field(default=ASYMMETRIC)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OIDCConfig | None:
        """The configuration from TERMSERVER_OIDC_* (None when no issuer is set)."""
        env = os.environ if environ is None else environ
        issuer = (env.get("TERMSERVER_OIDC_ISSUER") or "").strip()
        if not issuer:
            return None
        audience = (env.get("TERMSERVER_OIDC_AUDIENCE") or "").strip()
        if not audience:
            raise InvalidRequest("TERMSERVER_OIDC_AUDIENCE is required with "
                                 "TERMSERVER_OIDC_ISSUER (the `aud` tokens must carry)")
        claims = env.get("TERMSERVER_OIDC_ROLES_CLAIM") or (
            f"realm_access.roles,resource_access.{audience}.roles,scope,scp")
        return cls(
            issuer=issuer, audience=audience,
            jwks_url=(env.get("TERMSERVER_OIDC_JWKS_URL") or "").strip() or None,
            roles_claims=tuple(c.strip() for c in claims.split(",") if c.strip()),
            role_map=parse_role_map(env.get("TERMSERVER_OIDC_ROLE_MAP") or DEFAULT_ROLE_MAP),
            username_claim=(env.get("TERMSERVER_OIDC_USERNAME_CLAIM") or "").strip()
            or "preferred_username",
            timeout=_positive(env, "TERMSERVER_OIDC_TIMEOUT", 5.0),
            jwks_ttl=_positive(env, "TERMSERVER_OIDC_JWKS_TTL", 600.0))


def parse_role_map(raw: str) -> tuple[tuple[str, str], ...]:
    """`read=tx-read|fhir.read,admin=tx-admin` → ((token role, server role), …)."""
    pairs: list[tuple[str, str]] = []
    for item in raw.split(","):
        if not item.strip():
            continue
        role, sep, values = item.partition("=")
        role = role.strip()
        if not sep or role not in ROLES or not values.strip():
            raise InvalidRequest(f"TERMSERVER_OIDC_ROLE_MAP has {item.strip()!r}; expected "
                                 f"ROLE=NAME[|NAME…] with ROLE one of {', '.join(ROLES)}")
        pairs.extend((v.strip(), role) for v in values.split("|") if v.strip())
    return tuple(pairs)


def _positive(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < math.inf:
        raise InvalidRequest(f"{key} has value {raw!r}; expected a number of seconds > 0")
    return value


# -- fetching -------------------------------------------------------------------------------


def fetch_json(url: str, deadline: float) -> Any:
    """GET `url` as JSON, finished by `deadline` (time.monotonic()) and at most MAX_DOCUMENT
    bytes; OSError or ValueError otherwise."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("no time left")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=remaining) as answer:  # noqa: S310
        body = bytearray()
        while chunk := answer.read1(16_384):  # one receive at a time: a drip is stopped
            body += chunk
            if len(body) > MAX_DOCUMENT:
                raise ValueError(f"{url} sent more than {MAX_DOCUMENT} bytes")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} took too long")
    return json.loads(body)


Fetch = Callable[[str, float], Any]


class JWKS:
    """The issuer's signing keys, cached (see the module docstring). Thread-safe."""

    def __init__(self, config: OIDCConfig, fetch: Fetch = fetch_json,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.fetch = fetch
        self.clock = clock  # for the cache's age and the refresh interval
        self.jwks_url = config.jwks_url
        self.keys: dict[str | None, PyJWK] = {}
        self.fetched = -math.inf  # monotonic time of the last successful fetch
        self.attempted = -math.inf  # … of the last attempt
        self.error: str | None = None  # why the last attempt failed
        self.fetching = False  # a thread is fetching now
        self._lock = threading.Lock()

    def needs_fetch(self, kid: str | None, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        if now - self.attempted < REFRESH_INTERVAL and (self.keys or self.error):
            return False  # fetched (or failed) a moment ago: not again yet
        if self.fetching and kid in self.keys:
            return False  # another request fetches: use the keys at hand meanwhile
        return now - self.fetched >= self.config.jwks_ttl or kid not in self.keys

    def refresh(self, kid: str | None = None) -> None:
        """Fetch the keys when still needed (another thread may just have done it)."""
        with self._lock:
            if not self.needs_fetch(kid):
                return
            self.attempted = self.clock()
            deadline = time.monotonic() + self.config.timeout
            self.fetching = True
            try:
                if self.jwks_url is None:
                    self.jwks_url = self._discover(deadline)
                found = PyJWKSet.from_dict(self.fetch(self.jwks_url, deadline))
            except (OSError, ValueError, TypeError, AttributeError, jwt.PyJWTError) as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                return
            finally:
                self.fetching = False
            self.keys = {key.key_id: key for key in found.keys}
            if len(found.keys) == 1:  # a token without kid may use the only key
                self.keys.setdefault(None, found.keys[0])
            self.fetched = self.clock()
            self.error = None

    def _discover(self, deadline: float) -> str:
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self.fetch(url, deadline)
        if not isinstance(document, dict) or not isinstance(document.get("jwks_uri"), str):
            raise ValueError(f"{url} names no jwks_uri")
        if document.get("issuer") != self.config.issuer:
            raise ValueError(f"{url} is the discovery document of issuer "
                             f"{document.get('issuer')!r}, not {self.config.issuer!r}")
        return str(document["jwks_uri"])

    def key(self, kid: str | None) -> PyJWK:
        found = self.keys.get(kid)
        if found is not None:
            return found
        if not self.keys:
            raise IssuerUnavailable(f"the identity provider's signing keys could not be "
                                    f"fetched ({self.error or 'no keys'}); try again later")
        raise InvalidToken(f"the token is signed with a key the issuer does not publish "
                           f"(kid {kid!r})")


# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says: the user's name and the server roles it grants."""

    name: str
    roles: frozenset[str]


class Verifier:
    """Checks OIDC bearer tokens of one issuer."""

    def __init__(self, config: OIDCConfig, fetch: Fetch = fetch_json,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.jwks = JWKS(config, fetch, clock)
        self.role_map = config.role_map
        #: sha256 of a verified token → (its claims, wall-clock time until which they hold)
        self.accepted: OrderedDict[bytes, tuple[Claims, float]] = OrderedDict()

    async def authenticate(self, token: str) -> Claims:
        """The claims of a valid token; InvalidToken or IssuerUnavailable otherwise.
        A token verified in the last ACCEPTED_SECONDS is not verified again."""
        digest = hashlib.sha256(token.encode()).digest()
        known = self.accepted.get(digest)
        if known is not None and time.time() < known[1]:
            self.accepted.move_to_end(digest)
            return known[0]
        kid = self._kid(token)
        if self.jwks.needs_fetch(kid):
            await to_thread.run_sync(self.jwks.refresh, kid)
        claims, expires = self.verify_claims(token, kid)
        self.accepted[digest] = (claims, min(expires, time.time() + ACCEPTED_SECONDS))
        while len(self.accepted) > MAX_ACCEPTED:
            self.accepted.popitem(last=False)
        return claims

    def _kid(self, token: str) -> str | None:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in self.config.algorithms:
            raise InvalidToken(f"tokens signed with {alg!r} are not accepted; the issuer's "
                               f"tokens use one of {', '.join(self.config.algorithms)}")
        kid = header.get("kid")
        return kid if isinstance(kid, str) else None

    def verify(self, token: str, kid: str | None) -> Claims:
        return self.verify_claims(token, kid)[0]

    def verify_claims(self, token: str, kid: str | None) -> tuple[Claims, float]:
        """The token's claims and its `exp` (InvalidToken or IssuerUnavailable)."""
        key = self.jwks.key(kid)
        try:
            claims = jwt.decode(token, key, algorithms=list(self.config.algorithms),
                                audience=self.config.audience, issuer=self.config.issuer,
                                leeway=LEEWAY, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet (nbf or iat in the future)") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken(f"the token was not issued by {self.config.issuer}") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"the token is not meant for audience "
                               f"{self.config.audience!r}") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token has no {exc.claim!r} claim") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is not valid: {exc}") from None
        return Claims(self._name(claims), self.roles(claims)), float(claims["exp"])

    def _name(self, claims: dict[str, Any]) -> str:
        for claim in (self.config.username_claim, "sub"):
            value = claims.get(claim)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_NAME]
        raise InvalidToken(f"the token names no user ({self.config.username_claim!r} or "
                           "'sub')")

    def roles(self, claims: dict[str, Any]) -> frozenset[str]:
        """The server roles the token's role claims map to, with what they imply."""
        held = set()
        for path in self.config.roles_claims:
            held.update(_claim_values(claims, path))
        granted = {role for value, role in self.role_map if value in held}
        return frozenset().union(*(IMPLIES[role] for role in granted))


def _claim_values(claims: dict[str, Any], path: str) -> list[str]:
    """The strings at a dotted claim path: a list's strings, or a string's words."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
