"""Runs the HL7 terminology ecosystem suite's SNOMED CT modes (suites "snomed" and "sct-ecl",
`--modes 'snomed,!general'`) against a live server whose SQLite database holds the real
SNOMED CT subset the suite was written for, loaded as its test edition; fails if the pass
count drops below baseline.json ("snomed-r4", "snomed-r5"). Skipped without ../shared."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from loaders.base import LoadOptions
from loaders.snomed import SnomedRf2Loader
from termserver.api.app import create_app
from termserver.ingest import load_path
from termserver.settings import Settings
from termserver.store import Store
from tests.conformance.test_tx_ecosystem import BASELINE, RUNNER
from tests.helpers import SHARED

SUBSET = SHARED / "data" / "snomed-ct" / "hl7-tx-ecosystem-int-20250909-subontology"
#: The edition URI the suite's requests name (see the subset's tx-source-readme.md).
TEST_EDITION = "http://snomed.info/xsct/31000003106/version/20250909"


@pytest.fixture(scope="module")
def snomed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not RUNNER.exists() or not SUBSET.exists():
        pytest.skip(f"needs {RUNNER} and {SUBSET} (absent here)")
    db = f"sqlite:///{tmp_path_factory.mktemp('sct') / 'sct.db'}"
    store = Store(db)
    load_path(store, SnomedRf2Loader(), SUBSET, LoadOptions(version=TEST_EDITION))
    store.close()
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
    yield f"http://127.0.0.1:{port}/fhir"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["r4", "r5"])
def test_snomed_pass_count_never_drops(snomed_server: str, version: str) -> None:
    done = subprocess.run([str(RUNNER), "--server", snomed_server, "--fhir-version", version,
                           "--modes", "snomed,!general"],
                          capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r"^(\d+) passed, (\d+) failed$", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    passed = int(found.group(1))
    print(f"txsuite snomed {version}: {found.group(0)}")
    key = f"snomed-{version}"
    assert passed >= BASELINE[key], f"{key}: {passed} passed, below the baseline {BASELINE[key]}"
