"""Validator caches ($cache-control, `cache-id`): tx-resources registered once, then reused;
a cache id this process does not hold is a 404 `cache-id-unknown`, never a wrong answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver.errors import NotFound, TooCostly
from termserver.model import ValueSetDefinition
from termserver.service.txcache import CachedResource, TxResourceCache
from tests.helpers import code_system, parameters, parameters_by_name, value_set

CS = "http://example.org/cs/cached"
VS = "http://example.org/vs/cached"
TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _vs() -> dict[str, Any]:
    return value_set(VS, compose={"include": [{"system": CS}]})


_params = parameters


def _start(client: TestClient, *resources: dict[str, Any], sealed: bool = False) -> str:
    body = _params(*[("tx-resource", r) for r in resources], ("sealed", sealed))
    r = client.post("/fhir/$cache-control?mode=start", json=body, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    got = parameters_by_name(r.json())
    assert got["sealed"][0]["valueBoolean"] is sealed
    return str(got["cache-id"][0]["valueId"])


def _validate(client: TestClient, *pairs: tuple[str, Any],
              headers: dict[str, str] | None = None) -> Any:
    return client.post("/fhir/ValueSet/$validate-code", json=_params(*pairs),
                       headers={**FHIR_JSON, **(headers or {})})


def _result(r: Any) -> bool:
    assert r.status_code == 200, r.text
    return bool(parameters_by_name(r.json())["result"][0]["valueBoolean"])


def _tx_code(r: Any) -> str:
    issue = r.json()["issue"][0]
    return str(next(c["code"] for c in issue["details"]["coding"]
                    if c["system"] == TX_ISSUE_TYPE))


def test_resources_sent_once_are_reused_by_later_requests(client: TestClient) -> None:
    cache_id = _start(client)
    first = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                      ("tx-resource", code_system(CS)), ("tx-resource", _vs()),
                      ("cache-id", cache_id))
    assert _result(first)
    # the same cache id, no resources: the value set and code system come from the cache
    again = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "b"}),
                      ("cache-id", cache_id))
    assert _result(again)
    wrong = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "zz"}),
                      ("cache-id", cache_id))
    assert not _result(wrong)
    # without the cache id nothing was retained
    bare = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}))
    assert bare.status_code == 404, bare.text


def test_front_loaded_cache_and_the_x_cache_id_header(client: TestClient) -> None:
    cache_id = _start(client, code_system(CS), _vs())
    r = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                  headers={"X-Cache-Id": cache_id})
    assert _result(r)
    cs = client.post("/fhir/CodeSystem/$validate-code", headers=FHIR_JSON, json=_params(
        ("url", CS), ("code", "b"), ("cache-id", cache_id)))
    assert _result(cs)


def test_an_inline_value_set_with_a_url_is_kept_for_later_requests(client: TestClient) -> None:
    cache_id = _start(client)
    assert _result(_validate(client, ("valueSet", _vs()), ("tx-resource", code_system(CS)),
                             ("coding", {"system": CS, "code": "a"}), ("cache-id", cache_id)))
    assert _result(_validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                             ("cache-id", cache_id)))


def test_a_sealed_cache_does_not_grow(client: TestClient) -> None:
    cache_id = _start(client, code_system(CS), sealed=True)
    assert _result(_validate(client, ("url", VS), ("tx-resource", _vs()),
                             ("coding", {"system": CS, "code": "a"}), ("cache-id", cache_id)))
    later = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                      ("cache-id", cache_id))
    assert later.status_code == 404  # the value set was used once, not kept


def test_a_request_resending_a_resource_uses_its_own_copy(client: TestClient) -> None:
    cache_id = _start(client, code_system(CS, codes=("a",)), _vs())
    newer = code_system(CS, codes=("a", "c"))
    assert _result(_validate(client, ("url", VS), ("coding", {"system": CS, "code": "c"}),
                             ("tx-resource", newer), ("cache-id", cache_id)))
    # unsealed: the resent version replaced the cached one (same url and version)
    assert _result(_validate(client, ("url", VS), ("coding", {"system": CS, "code": "c"}),
                             ("cache-id", cache_id)))


def test_unknown_and_ended_cache_ids_are_404_cache_id_unknown(client: TestClient) -> None:
    r = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                  ("cache-id", "never-issued"))
    assert r.status_code == 404, r.text
    assert _tx_code(r) == "cache-id-unknown"
    assert r.json()["issue"][0]["extension"][0]["valueString"] == "CACHE_ID_UNKNOWN"

    cache_id = _start(client, code_system(CS), _vs())
    check = client.get("/fhir/$cache-control?mode=check", headers={"X-Cache-Id": cache_id})
    got = parameters_by_name(check.json())
    assert got["valid"][0]["valueBoolean"] is True
    assert got["resource-count"][0]["valueUnsignedInt"] == 2
    end = client.post("/fhir/$cache-control?mode=end", headers={"X-Cache-Id": cache_id})
    assert end.status_code == 200, end.text
    gone = _validate(client, ("url", VS), ("coding", {"system": CS, "code": "a"}),
                     ("cache-id", cache_id))
    assert gone.status_code == 404 and _tx_code(gone) == "cache-id-unknown"
    assert gone.json()["issue"][0]["extension"][0]["valueString"] == "CACHE_ID_CLOSED"
    probe = client.get("/fhir/$cache-control?mode=check", headers={"X-Cache-Id": cache_id})
    got = parameters_by_name(probe.json())
    assert probe.status_code == 200 and got["valid"][0]["valueBoolean"] is False


@pytest.mark.parametrize("query", ["", "?mode=stop"])
def test_cache_control_needs_a_mode(client: TestClient, query: str) -> None:
    r = client.get(f"/fhir/$cache-control{query}")
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_check_needs_a_cache_id_and_a_valid_one(client: TestClient) -> None:
    assert client.get("/fhir/$cache-control?mode=check").status_code == 400
    bad = client.get("/fhir/$cache-control?mode=check", headers={"X-Cache-Id": "a b/c"})
    assert bad.status_code == 400


# -- the bounds, on the cache itself -------------------------------------------------------------


def _res(url: str, size: int) -> CachedResource:
    return CachedResource(("ValueSet", url, None), ValueSetDefinition(url, None), size)


def test_least_recently_used_cache_goes_when_over_the_count() -> None:
    caches = TxResourceCache(max_caches=2)
    a, b = caches.start([], False), caches.start([], False)
    caches.use(a, [])  # b is now the least recently used
    c = caches.start([], False)
    assert caches.status(a) is not None and caches.status(c) is not None
    assert caches.status(b) is None
    with pytest.raises(NotFound) as err:
        caches.use(b, [])
    assert err.value.message_id == "CACHE_ID_CLEARED" and "evicted" in err.value.message


def test_total_size_evicts_and_one_cache_over_its_limit_is_refused() -> None:
    caches = TxResourceCache(max_cache_bytes=100, max_total_bytes=150)
    a = caches.start([_res("http://a", 80)], False)
    b = caches.start([_res("http://b", 80)], False)  # 160 > 150: a goes
    assert caches.status(a) is None and caches.status(b) is not None
    with pytest.raises(TooCostly):
        caches.use(b, [_res("http://c", 30)])
    assert [v.url for v in caches.use(b, [_res("http://b", 90)])] == ["http://b"]  # replaced


def test_idle_caches_expire() -> None:
    caches = TxResourceCache(idle_timeout=-1.0)  # everything is already idle too long
    a = caches.start([], False)
    with pytest.raises(NotFound) as err:
        caches.use(a, [])
    assert err.value.message_id == "CACHE_ID_EXPIRED"


def test_a_cache_id_from_another_process_is_a_miss_not_a_wrong_answer() -> None:
    """Each server process holds its own caches: another process answers cache-id-unknown
    (the client starts a new cache and sends its resources again)."""
    here, there = TxResourceCache(), TxResourceCache()
    cache_id = here.start([_res("http://a", 10)], False)
    with pytest.raises(NotFound) as err:
        there.use(cache_id, [])
    assert err.value.message_id == "CACHE_ID_UNKNOWN"
    assert err.value.issues()[0].tx_code == "cache-id-unknown"


def test_get_requests_name_the_cache_in_the_query(client: TestClient) -> None:
    cache_id = _start(client, code_system(CS), _vs())
    ok = client.get("/fhir/ValueSet/$validate-code", params={
        "url": VS, "system": CS, "code": "a", "cache-id": cache_id})
    assert _result(ok)
    gone = client.get("/fhir/CodeSystem/$validate-code", params={
        "url": CS, "code": "a", "cache-id": "not-issued-here"})
    assert gone.status_code == 404 and _tx_code(gone) == "cache-id-unknown"
