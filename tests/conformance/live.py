"""A live termserver in a thread (uvicorn on a free port) and a run of ../shared/txsuite."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from termserver.api.app import create_app
from termserver.settings import Settings
from tests.helpers import SHARED

BASELINE: dict[str, int] = json.loads((Path(__file__).parent / "baseline.json").read_text())
RUNNER = SHARED / "txsuite" / "run"


@contextmanager
def live_server(db: str) -> Iterator[str]:
    """Serve `db` on 127.0.0.1 and yield the FHIR base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(Settings(db=db)), host="127.0.0.1", port=port,
                            log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/fhir"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def passed_count(server: str, *args: str) -> int:
    """How many suite cases pass against `server` (runner arguments after --server)."""
    done = subprocess.run([str(RUNNER), "--server", server, *args],
                          capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r"^(\d+) passed, (\d+) failed$", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    print(f"txsuite {' '.join(args)}: {found.group(0)}")
    return int(found.group(1))
