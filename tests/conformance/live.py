"""A live termserver in a thread (uvicorn on a free port) and a run of ../shared/txsuite."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from termserver.api.app import create_app
from termserver.settings import Settings
from tests.helpers import SHARED, serve_app

BASELINE: dict[str, int] = json.loads((Path(__file__).parent / "baseline.json").read_text())
RUNNER = SHARED / "txsuite" / "run"


@contextmanager
def live_server(db: str) -> Iterator[str]:
    """Serve `db` on 127.0.0.1 and yield the FHIR base URL."""
    with serve_app(create_app(Settings(db=db))) as url:
        yield f"{url}/fhir"


def passed_count(server: str, *args: str) -> int:
    """How many suite cases pass against `server` (runner arguments after --server)."""
    done = subprocess.run([str(RUNNER), "--server", server, *args],
                          capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r"^(\d+) passed, (\d+) failed$", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    print(f"txsuite {' '.join(args)}: {found.group(0)}")
    return int(found.group(1))
