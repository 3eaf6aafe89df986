"""`termserver serve` as a real subprocess, for the tests (and bench scripts) that need several
server processes on one database: started on a given port or on any free one (`port=0`, read
from its "serving" line), called over HTTP with JSON, stopped or killed."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVING = re.compile(r"termserver: serving \S+ at http://127\.0\.0\.1:(\d+)/fhir")
START_TIMEOUT = 240.0  # seconds; four processes importing at once on a busy machine are slow


class Served:
    """One `termserver serve --db DB` process (no tokens, no demo); its stderr is kept in
    `lines`. `wait()` returns the port once the "serving" line came, which the server prints
    only after the port is bound."""

    def __init__(self, db: str, *, port: int = 0, env: dict[str, str] | None = None,
                 timeout: float = START_TIMEOUT, headers: dict[str, str] | None = None) -> None:
        full = {**os.environ, "TERMSERVER_API_TOKENS": "", "TERMSERVER_READ_TOKENS": "",
                "TERMSERVER_DEMO": "0", **(env or {})}
        full.pop("TERMSERVER_DB", None)
        self.timeout = timeout
        self.headers = headers or {}  # sent with every call
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "termserver", "serve", "--port", str(port), "--db", db],
            env=full, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.port: int | None = None
        self.lines: list[str] = []
        self.announced = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            found = SERVING.search(line)
            if found and self.port is None:
                self.port = int(found.group(1))
                self.announced.set()
        self.announced.set()  # the process ended

    def wait(self) -> int:
        """The port, once the server listens (AssertionError with its output otherwise)."""
        if not self.announced.wait(self.timeout) or self.port is None:
            raise AssertionError(f"no 'serving' line: {self.output()}")
        return self.port

    def output(self, tail: int = 3000) -> str:
        return "".join(self.lines)[-tail:]

    def connect(self, timeout: float = 60) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.wait(), timeout=timeout)

    def call(self, method: str, path: str, body: Any = None, *,
             conn: http.client.HTTPConnection | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Status and parsed JSON body (None when empty); `conn` keeps a connection alive."""
        status, raw = self.send(method, path, body, conn=conn, headers=headers)
        return status, json.loads(raw) if raw else None

    def send(self, method: str, path: str, body: Any = None, *,
             conn: http.client.HTTPConnection | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Status and raw body bytes."""
        kind = "application/fhir+json" if path.startswith("/fhir") else "application/json"
        c = conn or self.connect()
        try:
            c.request(method, path, body=None if body is None else json.dumps(body),
                      headers={"Content-Type": kind, **self.headers, **(headers or {})})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            if conn is None:
                c.close()

    def stop(self, grace: float = 20) -> None:
        """Terminate (kill after `grace` seconds) and release the output reader."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
