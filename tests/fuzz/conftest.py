"""The app the fuzz tests aim at: bearer tokens configured (and sent by the tests) and a little
content seeded, on SQLite and PostgreSQL. One database per backend and test module (emptied as
tests/conftest.py does), seeded again before each test, so a test starts from the seed even if
an earlier one deleted or changed it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from termserver.api.app import create_app
from termserver.settings import Settings
from termserver.store import Store
from tests.conftest import PG_URL, _reset_postgres
from tests.fuzz import openapi_extra as x
from tests.helpers import code_system, value_set

WRITE_TOKEN = "fuzz-write-token"
AUTH = {"Authorization": f"Bearer {WRITE_TOKEN}"}
LAB_CSV = "code;display;unit\nK;Kalium;mmol/L\nKS;Kalium i.S.;mg/dL\nNA;Natrium;mmol/L\n"


def seed(client: TestClient) -> None:
    """A small CodeSystem, ValueSet, ConceptMap and a workbench project to aim at."""
    cs = code_system(x.CS, id="fuzz-cs", codes=("a", "b"), hierarchyMeaning="is-a")
    cs["concept"][0]["concept"] = [{"code": "c", "display": "Display c"}]
    vs = value_set(x.VS, id="fuzz-vs", compose={"include": [{"system": x.CS}]})
    cm = {"resourceType": "ConceptMap", "id": "fuzz-cm", "url": x.CM, "version": "1.0",
          "status": "active", "group": [{"source": x.CS, "target": x.CS, "element": [
              {"code": "a", "target": [{"code": "b", "equivalence": "equivalent"}]}]}]}
    for resource in (cs, vs, cm):
        r = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource,
                       headers=AUTH)
        assert r.status_code in (200, 201), r.text
    r = client.post("/workbench/api/codesystems/import", headers=AUTH,
                    files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")},
                    data={"url": x.LAB, "version": "1", "unit_column": "unit"})
    assert r.status_code == 200, r.text
    project = {"title": "Fuzz", "source_version": "1", "target_version": None,
               "source_valueset": None, "target_valueset": None, "language": "de",
               "map_url": None, "dual": False}
    r = client.post("/workbench/api/projects", headers=AUTH, json={
        "id": x.PROJECT, "source_system": x.LAB, "target_system": x.CS, **project})
    if r.status_code == 409:  # seeded by an earlier test: set it back
        r = client.patch(f"/workbench/api/projects/{x.PROJECT}", headers=AUTH, json=project)
    assert r.status_code in (200, 201), r.text


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzz_store(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One database per backend for a whole test module (seeding one per test costs more
    than the fuzzing on a 2-core machine)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'termserver.db'}"
    elif not PG_URL:
        pytest.skip("PostgreSQL not configured: set TERMSERVER_TEST_PG_URL")
    else:
        _reset_postgres(PG_URL)
        url = PG_URL
    store = Store(url)
    yield store
    store.close()


@pytest.fixture
def fuzz_app(fuzz_store: Store) -> FastAPI:
    settings = Settings(db=fuzz_store.url, base_url="http://testserver/fhir",
                        api_tokens=frozenset({WRITE_TOKEN}),
                        read_tokens=frozenset({"fuzz-read-token"}))
    app = create_app(settings, fuzz_store)
    with TestClient(app) as client:
        seed(client)
    return app
