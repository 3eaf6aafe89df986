"""Settings: one frozen dataclass built from TERMSERVER_* environment variables + CLI flags."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from termserver.errors import InvalidRequest

#: (environment variable, default, help) — README documents each; a test checks that.
SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("TERMSERVER_DB", "sqlite:///<data dir>/termserver.db",
     "Database URL: sqlite:///PATH (embedded default) or postgresql+psycopg://USER@HOST/DB."),
    ("TERMSERVER_DB_READ", "",
     "URL of a read replica of TERMSERVER_DB; when set, the terminology reads ($lookup, "
     "$validate-code, $expand, $translate, $subsumes, resource search and read) use it, and "
     "writes, loads, the workbench and its job queue the primary. Reads see a write once the "
     "replica has replayed it (its replication lag)."),
    ("TERMSERVER_DB_UPGRADE", "auto",
     "`auto`: opening the database (serve, load, …) upgrades its schema to the newest "
     "revision; `off`: only `termserver db upgrade` does, and the others refuse a database "
     "whose schema is not current."),
    ("TERMSERVER_DATA_DIR", "./data", "Folder for the default SQLite database."),
    ("TERMSERVER_BASE_URL", "(from the request)",
     "Public base URL (behind a proxy), used in Bundle links and the CapabilityStatement."),
    ("TERMSERVER_API_TOKENS", "",
     "Comma-separated bearer tokens, each optionally named (alice:TOKEN); when set, every "
     "write (POST/PUT/DELETE) needs one. The name is the curator in the workbench's audit "
     "trail (unnamed: token-<first 6 hex of its SHA-256>)."),
    ("TERMSERVER_READ_TOKENS", "",
     "Comma-separated bearer tokens (optionally named, as above); when set, reads need one "
     "too (write tokens also work)."),
    ("TERMSERVER_OIDC_ISSUER", "",
     "OIDC issuer URL (e.g. https://keycloak.example/realms/diz); when set, reads need a read "
     "role and bearer tokens it signed are accepted next to the static tokens."),
    ("TERMSERVER_OIDC_AUDIENCE", "",
     "The `aud` a token must carry (required with TERMSERVER_OIDC_ISSUER; also the client of "
     "Keycloak's resource_access roles)."),
    ("TERMSERVER_OIDC_JWKS_URL", "(from the issuer's discovery document)",
     "URL of the issuer's signing keys (JWKS)."),
    ("TERMSERVER_OIDC_ROLES_CLAIM",
     "realm_access.roles,resource_access.<audience>.roles,scope,scp",
     "Comma-separated claims (dotted paths) holding roles or space-separated scopes."),
    ("TERMSERVER_OIDC_ROLE_MAP", "read=tx-read,write=tx-write,curate=tx-curate,admin=tx-admin",
     "Which token roles or scopes give the server's roles read / write (resources, loads) / "
     "curate (workbench) / admin (all); several per role as read=a|b."),
    ("TERMSERVER_OIDC_USERNAME_CLAIM", "preferred_username",
     "Claim naming the user (the curator in the workbench's audit trail; else `sub`)."),
    ("TERMSERVER_OIDC_TIMEOUT", "5", "Seconds one fetch of the issuer's keys may take."),
    ("TERMSERVER_OIDC_JWKS_TTL", "600", "Seconds the issuer's keys are cached."),
    ("TERMSERVER_SECRET", "(derived from the tokens)",
     "Key that signs workbench sign-in sessions and form tokens; give every process the same "
     "one (without it, it is derived from the configured tokens)."),
    ("TERMSERVER_MAX_EXPANSION", "10000",
     "Most concepts one $expand may return before it answers too-costly."),
    ("TERMSERVER_REQUEST_TIMEOUT", "30",
     "Seconds one request may spend on pattern matching, ECL and expansion before it answers "
     "too-costly (0: no limit)."),
    ("TERMSERVER_MAX_BODY_MB", "50",
     "Largest request body (MB) on /fhir and the workbench JSON API; larger ones get 413."),
    ("TERMSERVER_MAX_DECOMPRESSED_MB", "32",
     "Most MB one upload, or one member of a package or workbook, may decompress to "
     "(16 × for a whole package; 4 × as the memory estimate of one JSON document)."),
    ("TERMSERVER_MAX_UPLOAD_ROWS", "100000",
     "Most data rows in an uploaded code list or CSV map (16 × as many lines, 64 × as many "
     "cells)."),
    ("TERMSERVER_MAX_BULK_LINES", "10000000",
     "Most lines one NDJSON bulk request ($translate-bulk, …) may stream; then one error "
     "line ends the answer."),
    ("TERMSERVER_LOG_LEVEL", "INFO", "Python log level."),
    ("TERMSERVER_LOG_FORMAT", "plain",
     "Log lines as `plain` text or `json` (one object per line: time, level, logger, message, "
     "request_id, and for the access log method, path, status, duration_ms)."),
    ("TERMSERVER_METRICS", "on",
     "`off` removes /metrics (Prometheus text format; needs a read token when "
     "TERMSERVER_READ_TOKENS is set)."),
    ("TERMSERVER_DEMO", "0",
     "`1`: on an empty database, `serve` first loads the demo content from "
     "TERMSERVER_DEMO_DIR (a LOINC fragment, the HL7 terminology package, a demo map project)."),
    ("TERMSERVER_DEMO_DIR", "./demo", "Folder of the demo content (TERMSERVER_DEMO=1)."),
)


@dataclass(frozen=True, slots=True)
class Settings:
    db: str
    db_read: str | None = None  # a read replica's URL: terminology reads go there
    db_upgrade: bool = True  # opening the database upgrades its schema (else: refuse if old)
    base_url: str | None = None  # None: taken from each request
    api_tokens: frozenset[str] = frozenset()
    read_tokens: frozenset[str] = frozenset()
    max_expansion: int = 10_000
    log_level: str = "INFO"
    max_body_mb: int = 50  # request bodies on /fhir and /workbench/api (not uploads)
    token_names: tuple[tuple[str, str], ...] = ()  # (token, name) of named tokens
    secret: str | None = None  # signs workbench sessions; None: derived from the tokens
    request_timeout: float = 30.0  # seconds; 0: no limit
    log_format: str = "plain"  # "plain" or "json"
    metrics: bool = True  # serve /metrics
    demo_dir: Path | None = None  # TERMSERVER_DEMO=1: load this folder into an empty database
    #: The default data folder when `db` is the default SQLite file (it may be created);
    #: None when the database was named explicitly (its folder must exist).
    data_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("TERMSERVER_DATA_DIR", "data"))
        explicit_db = env.get("TERMSERVER_DB") or None
        return cls(
            db=explicit_db or f"sqlite:///{data_dir / 'termserver.db'}",
            data_dir=None if explicit_db else data_dir,
            db_read=env.get("TERMSERVER_DB_READ") or None,
            db_upgrade=_choice(env, "TERMSERVER_DB_UPGRADE", ("auto", "off")) == "auto",
            base_url=(env.get("TERMSERVER_BASE_URL") or "").rstrip("/") or None,
            api_tokens=_tokens(env.get("TERMSERVER_API_TOKENS", "")),
            read_tokens=_tokens(env.get("TERMSERVER_READ_TOKENS", "")),
            token_names=_token_names(env.get("TERMSERVER_API_TOKENS", "") + ","
                                     + env.get("TERMSERVER_READ_TOKENS", "")),
            secret=env.get("TERMSERVER_SECRET") or None,
            max_expansion=_int(env, "TERMSERVER_MAX_EXPANSION", 10_000),
            log_level=env.get("TERMSERVER_LOG_LEVEL", "INFO").upper(),
            max_body_mb=_int(env, "TERMSERVER_MAX_BODY_MB", 50),
            request_timeout=_seconds(env, "TERMSERVER_REQUEST_TIMEOUT", 30.0),
            log_format=_choice(env, "TERMSERVER_LOG_FORMAT", ("plain", "json")),
            metrics=_choice(env, "TERMSERVER_METRICS", ("on", "off")) == "on",
            demo_dir=Path(env.get("TERMSERVER_DEMO_DIR") or "demo")
            if _choice(env, "TERMSERVER_DEMO", ("0", "1")) == "1" else None,
        )

    def with_overrides(self, *, db: str | None = None, base_url: str | None = None) -> Settings:
        """A copy with the CLI flags that were given (None means: keep the environment's)."""
        if db is not None:
            self = replace(self, db=db, data_dir=None)
        if base_url is not None:
            self = replace(self, base_url=base_url.rstrip("/"))
        return self


def _tokens(raw: str) -> frozenset[str]:
    return frozenset(_named(t)[1] for t in raw.split(",") if _named(t)[1])


#: `name:token` names a token (a token that holds ':' itself must be given a name).
_TOKEN_NAME = re.compile(r"([A-Za-z0-9][A-Za-z0-9._@-]{0,63}):(.+)")


def _named(item: str) -> tuple[str | None, str]:
    found = _TOKEN_NAME.fullmatch(item.strip())
    return (found.group(1), found.group(2).strip()) if found else (None, item.strip())


def _token_names(raw: str) -> tuple[tuple[str, str], ...]:
    named = (_named(t) for t in raw.split(","))
    return tuple((token, name) for name, token in named if name and token)


def token_name(settings: Settings, token: str) -> str:
    """The curator a token authenticates: its configured name, else `token-<6 hex>`."""
    for known, name in settings.token_names:
        if known == token:
            return name
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:6]


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{key} has value {raw!r}; expected an integer") from None


def _choice(env: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (case-insensitive; unset or empty: the first)."""
    raw = (env.get(key) or choices[0]).strip().lower()
    if raw not in choices:
        raise InvalidRequest(f"{key} has value {env.get(key)!r}; expected one of "
                             f"{', '.join(choices)}")
    return raw


def _seconds(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise InvalidRequest(f"{key} has value {raw!r}; expected a number of seconds >= 0")
    return value
