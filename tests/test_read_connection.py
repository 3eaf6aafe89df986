"""Reads on PostgreSQL run in autocommit (no BEGIN / ROLLBACK round trips) and a `$expand`
checks out one pooled connection for all its reads (one ping); the pool gets its connections
back as they came."""

from __future__ import annotations

import threading
from contextlib import suppress
from typing import Any

import pytest
from sqlalchemy import event

from termserver.store import Store, page_reads
from termserver.store.engine import read_connection
from tests.helpers import indexed_api

CS = "http://example.org/cs/rc"
VS, VS_A = "http://example.org/vs/rc", "http://example.org/vs/rc-a"


def _code_system() -> dict[str, Any]:
    return {"resourceType": "CodeSystem", "url": CS, "version": "1", "status": "active",
            "content": "complete", "hierarchyMeaning": "is-a",
            "concept": [{"code": "A", "display": "Sodium in serum", "concept": [
                {"code": "A1", "display": "Sodium in serum by ISE"},
                {"code": "A2", "display": "Sodium in plasma"}]},
                {"code": "B", "display": "Potassium"}]}


def _postgres_only(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL reads (SQLite keeps one autocommit connection per thread)")


def test_reads_are_autocommit_and_the_pool_gets_a_transactional_connection_back(
        store: Store, db_url: str) -> None:
    _postgres_only(db_url)
    with read_connection(store.engine) as raw:
        driver = raw.driver_connection
        assert driver is not None and driver.autocommit
        cur = raw.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        assert driver.info.transaction_status.name == "IDLE"  # no transaction was opened
        with pytest.raises(Exception, match="division by zero"):
            cur.execute("SELECT 1 / 0")
        cur.execute("SELECT 2")  # a failed read does not abort the next one
        assert cur.fetchall() == [(2,)]
        cur.close()
    with store.engine.connect() as conn:  # a writer's connection: transactional again
        assert conn.connection.driver_connection is not None
        assert not conn.connection.driver_connection.autocommit


def test_hot_reads_join_the_enclosing_one_connection(store: Store, db_url: str) -> None:
    _postgres_only(db_url)
    checkouts: list[object] = []
    event.listen(store.engine, "checkout", lambda *a: checkouts.append(a))
    with page_reads.one_connection(store):
        for _ in range(3):
            store.stamps("ValueSet", "http://example.org/vs/none")
            page_reads.query(store, "SELECT 1", ())
    assert len(checkouts) == 1
    store.stamps("ValueSet", "http://example.org/vs/none")
    assert len(checkouts) == 2


def test_an_expansion_checks_out_one_connection_for_all_its_reads(db_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _postgres_only(db_url)
    with indexed_api(db_url, monkeypatch, _code_system()) as (api, store):
        for vs, include in ((VS, {"system": CS}), (VS_A, {"system": CS, "filter": [
                {"property": "concept", "op": "is-a", "value": "A"}]})):
            assert api.post("/fhir/ValueSet", json={
                "resourceType": "ValueSet", "url": vs, "status": "active",
                "compose": {"include": [include]}}).status_code == 201
        checkouts: list[object] = []
        event.listen(store.engine, "checkout", lambda *a: checkouts.append(a))
        for params in ({"url": VS, "filter": "sodium", "count": "2"},
                       {"url": VS_A, "filter": "sod ser"},
                       {"url": VS, "count": "1", "offset": "1"}):
            api.get("/fhir/ValueSet/$expand", params=params)  # parses and keeps the resources
            checkouts.clear()
            r = api.get("/fhir/ValueSet/$expand", params=params)
            assert r.status_code == 200, r.text
            assert r.json()["expansion"]["contains"], params
            assert len(checkouts) == 1, params


def test_a_value_set_validate_code_checks_out_one_connection(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _postgres_only(db_url)
    with indexed_api(db_url, monkeypatch, _code_system()) as (api, store):
        assert api.post("/fhir/ValueSet", json={
            "resourceType": "ValueSet", "url": VS_A, "status": "active", "compose": {
                "include": [{"system": CS, "filter": [
                    {"property": "concept", "op": "is-a", "value": "A"}]}]}}).status_code == 201
        checkouts: list[object] = []
        event.listen(store.engine, "checkout", lambda *a: checkouts.append(a))
        for code, valid in (("A1", True), ("B", False)):
            params = {"url": VS_A, "system": CS, "code": code}
            api.get("/fhir/ValueSet/$validate-code", params=params)
            checkouts.clear()
            r = api.get("/fhir/ValueSet/$validate-code", params=params)
            assert r.status_code == 200, r.text
            result = {p["name"]: p.get("valueBoolean") for p in r.json()["parameter"]}
            assert result["result"] is valid
            assert len(checkouts) == 1, code


def test_scopes_hold_at_most_half_the_pool_and_the_rest_read_as_before(
        store: Store, db_url: str) -> None:
    """Reads inside a scope may check out a second connection; with at most half the pool
    held by scopes, that checkout always finds one (no scope waits on another)."""
    _postgres_only(db_url)
    scopes = page_reads._scopes(store.engine)
    held = 0
    while scopes.acquire(blocking=False):
        held += 1
    try:
        assert held == (store.engine.pool.size() + 8) // 2  # pool_size + max_overflow, halved
        checkouts: list[object] = []
        event.listen(store.engine, "checkout", lambda *a: checkouts.append(a))
        with page_reads.one_connection(store):  # no permit left: reads as before
            assert page_reads.current(store) is None
            store.stamps("ValueSet", "http://example.org/vs/none")
            store.stamps("ValueSet", "http://example.org/vs/none")
        assert len(checkouts) == 2
    finally:
        for _ in range(held):
            scopes.release()
    with page_reads.one_connection(store):
        assert page_reads.current(store) is not None


def test_many_threads_expanding_at_once_never_wait_on_each_other(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """More concurrent expansions than the pool holds, each first parsing its stored value
    set (a nested checkout inside the scope): all answer."""
    _postgres_only(db_url)
    from concurrent.futures import ThreadPoolExecutor

    with indexed_api(db_url, monkeypatch, _code_system()) as (api, store):
        urls = [f"http://example.org/vs/many-{i}" for i in range(store.engine.pool.size() + 8)]
        for url in urls:
            assert api.post("/fhir/ValueSet", json={
                "resourceType": "ValueSet", "url": url, "status": "active",
                "compose": {"include": [{"system": CS}]}}).status_code == 201
        monkeypatch.setattr(store.engine.pool, "_timeout", 5)  # a wait would fail, not hang
        capacity = store.engine.pool.size() + 8  # pool_size + max_overflow
        arrived = threading.Barrier(capacity, timeout=20)
        real = store.read_resource

        def read_resource(resource_type: str, id: str) -> Any:
            """Every expansion first parses its value set: all `capacity` of them wait here
            (inside their scopes) until all have arrived, then check a connection out."""
            with suppress(threading.BrokenBarrierError):
                arrived.wait()
            return real(resource_type, id)

        monkeypatch.setattr(store, "read_resource", read_resource)

        def expand(url: str) -> int:
            return api.get("/fhir/ValueSet/$expand",
                           params={"url": url, "filter": "sodium"}).status_code

        with ThreadPoolExecutor(len(urls)) as pool:
            assert list(pool.map(expand, urls)) == [200] * len(urls)
