"""TERMSERVER_DB_READ: the terminology reads use the read replica, writes the primary.

The two databases hold different content under the same canonical URLs (displays "R …" in the
replica, "P …" in the primary, and only the replica has the hierarchy and the map target `x`),
so every answer shows which database it came from. The replica is a separate database (no
replication here: a write never reaches it, as during replication lag), opened read-only by the
server, so a read path that writes fails: a SQLite file (`mode=ro`), or a PostgreSQL database
(TERMSERVER_TEST_PG_READ_URL, another than TERMSERVER_TEST_PG_URL; sessions with
`default_transaction_read_only`, as on a hot standby)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver import ingest
from termserver.api.app import create_app
from termserver.model import SearchQuery
from termserver.settings import Settings
from termserver.store import Store
from tests.conftest import _reset_postgres
from tests.helpers import code_system, parameters_by_name, value_set

PG_READ_URL = os.environ.get("TERMSERVER_TEST_PG_READ_URL")

CS = "http://example.org/cs"
VS = "http://example.org/vs"
CM = "http://example.org/cm"
TARGET = "http://example.org/target"


def _fill(url: str, tag: str) -> None:
    nested = tag == "R"  # only the replica has b below a
    concepts: list[dict[str, Any]] = [{"code": "a", "display": f"{tag} a"}]
    child = {"code": "b", "display": f"{tag} b"}
    if nested:
        concepts[0]["concept"] = [child]
    else:
        concepts.append(child)
    store = Store(url)
    with store.writer() as w:
        ingest.save_resource(w, code_system(CS, "1", id="cs", concept=concepts,
                                            hierarchyMeaning="is-a"), mode="canonical")
        ingest.save_resource(w, value_set(VS, id="vs", compose={"include": [{"system": CS}]}),
                             mode="canonical")
        ingest.save_resource(w, {
            "resourceType": "ConceptMap", "id": "cm", "url": CM, "status": "active",
            "group": [{"source": CS, "target": TARGET, "element": [
                {"code": "a", "target": [{"code": "x" if nested else "y",
                                          "equivalence": "equivalent"}]}]}]},
            mode="canonical")
    store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def replica(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> tuple[str, str]:
    """(the replica's URL to fill it, the read-only URL the server reads it with)."""
    if request.param == "sqlite":
        path = tmp_path / "replica.db"
        urls = (f"sqlite:///{path}", f"sqlite:///file:{path}?mode=ro&uri=true")
    else:
        if not PG_READ_URL:
            pytest.skip("no PostgreSQL replica database: set TERMSERVER_TEST_PG_READ_URL")
        _reset_postgres(PG_READ_URL)
        sep = "&" if "?" in PG_READ_URL else "?"
        urls = (PG_READ_URL,
                f"{PG_READ_URL}{sep}options=-c%20default_transaction_read_only%3Don")
    _fill(urls[0], "R")
    _fill(db_url, "P")
    return urls


def _client(db_url: str, read_url: str | None) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db=db_url, db_read=read_url))) as client:
        yield client


def _flat(contains: list[dict[str, Any]]) -> list[str]:
    return sorted(d for c in contains for d in [c["display"], *_flat(c.get("contains", []))])


def _display(body: dict[str, Any]) -> str:
    return str(parameters_by_name(body)["display"][0]["valueString"])


def _reads(client: TestClient) -> dict[str, Any]:
    """What each read operation answers (GET: the fast paths; POST: the routes)."""
    lookup = {"system": CS, "code": "a"}
    post = {"resourceType": "Parameters", "parameter": [
        {"name": "system", "valueUri": CS}, {"name": "code", "valueCode": "a"}]}
    expand = client.get("/fhir/ValueSet/$expand", params={"url": VS}).json()
    expand_post = client.post("/fhir/ValueSet/$expand", json={
        "resourceType": "Parameters", "parameter": [{"name": "url", "valueUri": VS}]}).json()
    valid = client.get("/fhir/CodeSystem/$validate-code",
                       params={"url": CS, "code": "a", "display": "R a"}).json()
    translated = client.get("/fhir/ConceptMap/$translate",
                            params={"url": CM, "system": CS, "code": "a"}).json()
    subsumes = client.get("/fhir/CodeSystem/$subsumes",
                          params={"system": CS, "codeA": "a", "codeB": "b"}).json()
    searched = client.get("/fhir/CodeSystem", params={"url": CS}).json()
    return {
        "lookup": _display(client.get("/fhir/CodeSystem/$lookup", params=lookup).json()),
        "lookup POST": _display(client.post("/fhir/CodeSystem/$lookup", json=post).json()),
        "expand": _flat(expand["expansion"]["contains"]),
        "expand POST": _flat(expand_post["expansion"]["contains"]),
        "validate-code": parameters_by_name(valid)["result"][0]["valueBoolean"],
        "translate": [m["part"] for m in parameters_by_name(translated)["match"]][0][1]
        ["valueCoding"]["code"],
        "subsumes": parameters_by_name(subsumes)["outcome"][0]["valueCode"],
        "search": searched["entry"][0]["resource"]["concept"][0]["display"],
        "read": client.get("/fhir/CodeSystem/cs").json()["concept"][0]["display"],
    }


REPLICA = {"lookup": "R a", "lookup POST": "R a", "expand": ["R a", "R b"],
           "expand POST": ["R a", "R b"], "validate-code": True, "translate": "x",
           "subsumes": "subsumes", "search": "R a", "read": "R a"}
PRIMARY = {"lookup": "P a", "lookup POST": "P a", "expand": ["P a", "P b"],
           "expand POST": ["P a", "P b"], "validate-code": False, "translate": "y",
           "subsumes": "not-subsumed", "search": "P a", "read": "P a"}


def test_reads_use_the_replica_and_writes_the_primary(db_url: str,
                                                      replica: tuple[str, str]) -> None:
    for client in _client(db_url, replica[1]):
        assert _reads(client) == REPLICA
        assert client.get("/readyz").json() == {"status": "ready"}
        written = client.post("/fhir/CodeSystem", json=code_system(
            "http://example.org/new", codes=("n",)))
        assert written.status_code == 201
        new_id = written.json()["id"]
        # not on the read path: the replica never got it (as within the replication lag)
        assert client.get(f"/fhir/CodeSystem/{new_id}").status_code == 404
        assert client.get("/fhir/CodeSystem", params={
            "url": "http://example.org/new"}).json()["total"] == 0
    for url, holds in ((db_url, 1), (replica[0], 0)):
        store = Store(url)
        try:
            found, _ = store.search(SearchQuery("CodeSystem", url="http://example.org/new"),
                                    with_json=False)
        finally:
            store.close()
        assert found == holds, url


def test_without_a_replica_the_reads_use_the_primary(db_url: str,
                                                     replica: tuple[str, str]) -> None:
    for client in _client(db_url, None):
        assert _reads(client) == PRIMARY


def test_readyz_reports_a_replica_whose_schema_is_not_current(
        db_url: str, replica: tuple[str, str]) -> None:
    store = Store(replica[0])
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0006'")
    store.close()
    for client in _client(db_url, replica[1]):
        got = client.get("/readyz")
        assert got.status_code == 503
        assert got.json()["reason"].startswith("read replica: database at revision 0006")
