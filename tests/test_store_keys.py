"""A replaced or deleted code system's key is never handed out again (other processes may
still hold it in their resolution cache for a moment)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from termserver.store import Store

URL = "http://example.org/cs/keys"


def _cs(display: str, url: str = URL) -> dict[str, object]:
    return {"resourceType": "CodeSystem", "id": "keys", "url": url, "version": "1",
            "status": "active", "content": "complete",
            "concept": [{"code": "a", "display": display}]}


def _pk(store: Store, url: str = URL) -> int:
    found = store.resolve_code_system(url)
    assert found is not None
    return found.pk


def test_replace_and_delete_never_reuse_a_key(client: TestClient, store: Store) -> None:
    assert client.put("/fhir/CodeSystem/keys", json=_cs("one")).status_code in (200, 201)
    first = _pk(store)
    assert client.put("/fhir/CodeSystem/keys", json=_cs("two")).status_code == 200
    second = _pk(store)
    assert second > first
    assert client.delete("/fhir/CodeSystem/keys").status_code == 200
    other = "http://example.org/cs/other"
    assert client.put("/fhir/CodeSystem/keys", json=_cs("three", other)).status_code == 201
    assert _pk(store, other) > second
