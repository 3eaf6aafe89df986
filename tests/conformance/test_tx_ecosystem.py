"""Runs the HL7 terminology ecosystem suite (../shared/txsuite, general mode) against a live
server on an empty SQLite database and fails if the pass count drops below baseline.json.
Raise the baseline as operations improve; it may only go up."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from termserver.api.app import create_app
from termserver.settings import Settings
from tests.helpers import SHARED

BASELINE = json.loads((Path(__file__).parent / "baseline.json").read_text())
RUNNER = SHARED / "txsuite" / "run"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not RUNNER.exists():
        pytest.skip(f"needs the conformance suite at {RUNNER} (absent here)")
    db = tmp_path_factory.mktemp("tx") / "tx.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(Settings(db=f"sqlite:///{db}")), host="127.0.0.1",
                            port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/fhir"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["r4", "r5"])
def test_pass_count_never_drops(server: str, version: str) -> None:
    done = subprocess.run([str(RUNNER), "--server", server, "--fhir-version", version],
                          capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r"^(\d+) passed, (\d+) failed$", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    passed = int(found.group(1))
    print(f"txsuite {version}: {found.group(0)}")
    assert passed >= BASELINE[version], (
        f"{version}: {passed} passed, below the baseline {BASELINE[version]}")
