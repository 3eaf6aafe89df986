"""Runs the HL7 terminology ecosystem suite (../shared/txsuite, general mode) against a live
server on an empty SQLite database and fails if the pass count drops below baseline.json.
Raise the baseline as operations improve; it may only go up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conformance.live import BASELINE, RUNNER, live_server, passed_count


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not RUNNER.exists():
        pytest.skip(f"needs the conformance suite at {RUNNER} (absent here)")
    with live_server(f"sqlite:///{tmp_path_factory.mktemp('tx') / 'tx.db'}") as url:
        yield url


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["r4", "r5"])
def test_pass_count_never_drops(server: str, version: str) -> None:
    passed = passed_count(server, "--fhir-version", version)
    assert passed >= BASELINE[version], (
        f"{version}: {passed} passed, below the baseline {BASELINE[version]}")
