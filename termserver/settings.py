"""Settings: one frozen dataclass built from TERMSERVER_* environment variables + CLI flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from termserver.errors import InvalidRequest

#: (environment variable, default, help) — README documents each; a test checks that.
SETTINGS: tuple[tuple[str, str, str], ...] = (
    ("TERMSERVER_DB", "sqlite:///<data dir>/termserver.db",
     "Database URL: sqlite:///PATH (embedded default) or postgresql+psycopg://USER@HOST/DB."),
    ("TERMSERVER_DATA_DIR", "./data", "Folder for the default SQLite database."),
    ("TERMSERVER_BASE_URL", "(from the request)",
     "Public base URL (behind a proxy), used in Bundle links and the CapabilityStatement."),
    ("TERMSERVER_API_TOKENS", "",
     "Comma-separated bearer tokens; when set, every write (POST/PUT/DELETE) needs one."),
    ("TERMSERVER_READ_TOKENS", "",
     "Comma-separated bearer tokens; when set, reads need one too (write tokens also work)."),
    ("TERMSERVER_MAX_EXPANSION", "10000",
     "Most concepts one $expand may return before it answers too-costly."),
    ("TERMSERVER_LOG_LEVEL", "INFO", "Python log level."),
)


@dataclass(frozen=True, slots=True)
class Settings:
    db: str
    base_url: str | None = None  # None: taken from each request
    api_tokens: frozenset[str] = frozenset()
    read_tokens: frozenset[str] = frozenset()
    max_expansion: int = 10_000
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("TERMSERVER_DATA_DIR", "data"))
        return cls(
            db=env.get("TERMSERVER_DB") or f"sqlite:///{data_dir / 'termserver.db'}",
            base_url=(env.get("TERMSERVER_BASE_URL") or "").rstrip("/") or None,
            api_tokens=_tokens(env.get("TERMSERVER_API_TOKENS", "")),
            read_tokens=_tokens(env.get("TERMSERVER_READ_TOKENS", "")),
            max_expansion=_int(env, "TERMSERVER_MAX_EXPANSION", 10_000),
            log_level=env.get("TERMSERVER_LOG_LEVEL", "INFO").upper(),
        )

    def with_overrides(self, *, db: str | None = None, base_url: str | None = None) -> Settings:
        """A copy with the CLI flags that were given (None means: keep the environment's)."""
        if db is not None:
            self = replace(self, db=db)
        if base_url is not None:
            self = replace(self, base_url=base_url.rstrip("/"))
        return self


def _tokens(raw: str) -> frozenset[str]:
    return frozenset(t.strip() for t in raw.split(",") if t.strip())


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{key} has value {raw!r}; expected an integer") from None
