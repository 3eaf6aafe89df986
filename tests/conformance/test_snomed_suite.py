"""Runs the HL7 terminology ecosystem suite's SNOMED CT modes (suites "snomed" and "sct-ecl",
`--modes 'snomed,!general'`) against a live server whose SQLite database holds the real
SNOMED CT subset the suite was written for, loaded as its test edition; fails if the pass
count drops below baseline.json ("snomed-r4", "snomed-r5"). Skipped without ../shared."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loaders.base import LoadOptions
from loaders.snomed import SnomedRf2Loader
from termserver.ingest import load_path
from termserver.store import Store
from tests.conformance.live import BASELINE, RUNNER, live_server, passed_count
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
    with live_server(db) as url:
        yield url


@pytest.mark.conformance
@pytest.mark.parametrize("version", ["r4", "r5"])
def test_snomed_pass_count_never_drops(snomed_server: str, version: str) -> None:
    passed = passed_count(snomed_server, "--fhir-version", version, "--modes", "snomed,!general")
    key = f"snomed-{version}"
    assert passed >= BASELINE[key], f"{key}: {passed} passed, below the baseline {BASELINE[key]}"
