"""Signed values for the curator pages: the sign-in session cookie, the sign-in form's CSRF
token, and a per-process throttle of failed sign-ins.

The session cookie never holds the bearer token: it holds the token's identity (its name and
a fingerprint of the token) and an expiry, signed with HMAC-SHA256. The key is
TERMSERVER_SECRET, else derived from the configured tokens, so every process with the same
settings accepts the same sessions, and removing or renaming a token ends its sessions.

The sign-in form carries a signed, timestamped token that must equal the one in a
SameSite=Strict cookie set with the form (double submit), so a cross-site page cannot sign a
victim in under the attacker's token (login CSRF).

Failed sign-ins are counted per client address in process memory: after MAX_FAILURES within
FAILURE_WINDOW seconds that address gets 429 until the window has passed. With several worker
processes each counts its own failures (an attacker gets at most MAX_FAILURES per process per
window).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from termserver.settings import Settings, token_name

SESSION_COOKIE = "termserver_session"
CSRF_COOKIE = "termserver_csrf"
SESSION_SECONDS = 12 * 3600
FORM_SECONDS = 3600
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60
_MAX_CLIENTS = 10_000  # addresses remembered by the throttle (oldest forgotten first)
#: The roles of a write token (TERMSERVER_API_TOKENS): it may also curate in the workbench.
WRITE_ROLES = frozenset({"read", "write", "curate"})


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a configured token authenticates."""

    name: str
    roles: frozenset[str]
    fingerprint: str


def fingerprint(token: str) -> str:
    return hashlib.sha256(b"termserver-token\0" + token.encode()).hexdigest()[:24]


class Keys:
    """The server's tokens and its signing key, from the settings."""

    def __init__(self, settings: Settings) -> None:
        tokens = settings.api_tokens | settings.read_tokens
        self.tokens: dict[str, TokenInfo] = {
            t: TokenInfo(token_name(settings, t),
                         frozenset(WRITE_ROLES if t in settings.api_tokens else {"read"}),
                         fingerprint(t))
            for t in tokens}
        self.by_fingerprint = {info.fingerprint: info for info in self.tokens.values()}
        secret = settings.secret or "\0".join(["termserver-secret", *sorted(tokens)])
        self.key = hashlib.sha256(secret.encode()).digest()

    def token(self, presented: str) -> TokenInfo | None:
        """The configured token equal to `presented` (constant-time per token)."""
        found = None
        for known, info in self.tokens.items():
            if hmac.compare_digest(presented.encode(), known.encode()):
                found = info
        return found

    def _sign(self, payload: str) -> str:
        mac = hmac.new(self.key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _signed(self, value: str) -> str | None:
        """The payload of `value` ("payload.signature") when the signature is right."""
        payload, _, signature = value.rpartition(".")
        if not signature or not hmac.compare_digest(self._sign(payload), signature):
            return None
        return payload

    # -- sessions ---------------------------------------------------------------------------

    def session(self, info: TokenInfo, now: float | None = None) -> str:
        """A cookie value naming the token's identity, valid for SESSION_SECONDS."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        name = base64.urlsafe_b64encode(info.name.encode()).decode().rstrip("=")
        payload = f"v1.{name}.{info.fingerprint}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def verify_session(self, value: str, now: float | None = None) -> TokenInfo | None:
        """The identity of a valid, unexpired session whose token is still configured."""
        payload = self._signed(value)
        if payload is None:
            return None
        parts = payload.split(".")
        if len(parts) != 4 or parts[0] != "v1" or not parts[3].isdigit():
            return None
        info = self.by_fingerprint.get(parts[2])
        if info is None or int(parts[3]) < (now or time.time()):
            return None
        try:
            name = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return info if name == info.name else None

    # -- the sign-in form's CSRF token --------------------------------------------------------

    def form_token(self, now: float | None = None) -> str:
        payload = f"f1.{int(now or time.time())}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def check_form_token(self, field: str | None, cookie: str | None,
                         now: float | None = None) -> bool:
        """The form's token equals the cookie's, is signed by us and is recent."""
        if not field or not cookie or not hmac.compare_digest(field, cookie):
            return False
        payload = self._signed(field)
        if payload is None:
            return False
        parts = payload.split(".")
        if len(parts) != 3 or parts[0] != "f1" or not parts[1].isdigit():
            return False
        age = (now or time.time()) - int(parts[1])
        return 0 <= age <= FORM_SECONDS


class LoginThrottle:
    """Failed sign-ins per client address, in this process (see the module docstring)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until `client` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < self.window]
            if recent:
                self._failures[client] = recent
            else:
                self._failures.pop(client, None)
            if len(recent) < self.limit:
                return 0
            return max(1, int(recent[0] + self.window - now) + 1)

    def failed(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._failures.setdefault(client, []).append(now)
            self._failures.move_to_end(client)
            while len(self._failures) > _MAX_CLIENTS:
                self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
