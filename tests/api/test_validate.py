"""$validate-code on stored and tx-resource content: results, issues and error shapes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import code_system, parameters, value_set

CS = "http://example.org/cs/v"


def _cs(version: str = "1.0") -> dict[str, Any]:
    cs = code_system(CS, version, codes=())
    cs["language"] = "en"
    cs["concept"] = [
        {"code": "a", "display": "Alpha",
         "designation": [{"language": "de", "value": "Alfa"}], "concept": [
             {"code": "a1", "display": "Alpha one",
              "property": [{"code": "status", "valueCode": "retired"}]},
             {"code": "a2", "display": "Alpha two"}]},
        {"code": "b", "display": "Beta"}]
    return cs


_params = parameters


def _get(body: dict[str, Any], name: str) -> Any:
    for p in body["parameter"]:
        if p["name"] == name:
            return next((v for k, v in p.items() if k.startswith("value") or k == "resource"))
    return None


def _ids(body: dict[str, Any]) -> list[str]:
    issues = _get(body, "issues")
    return [i["extension"][0]["valueString"] for i in issues["issue"]] if issues else []


ISA_A = value_set("http://example.org/vs/isa-a", id="isa-a", compose={"include": [
    {"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}]})


def test_stored_value_set_membership_without_expansion(client: TestClient) -> None:
    assert client.put("/fhir/CodeSystem/v", json={**_cs(), "id": "v"}).status_code in (200, 201)
    assert client.put("/fhir/ValueSet/isa-a", json=ISA_A).status_code in (200, 201)
    ok = client.get("/fhir/ValueSet/$validate-code", params={
        "url": ISA_A["url"], "system": CS, "code": "a2", "display": "Alpha two"}).json()
    assert _get(ok, "result") is True and _get(ok, "display") == "Alpha two"
    assert _get(ok, "version") == "1.0"
    out = client.get("/fhir/ValueSet/$validate-code", params={
        "url": ISA_A["url"], "system": CS, "code": "b"}).json()
    assert _get(out, "result") is False
    assert _ids(out) == ["None_of_the_provided_codes_are_in_the_value_set_one"]
    assert "was not found in the value set 'http://example.org/vs/isa-a|1.0'" in _get(
        out, "message")


def test_code_system_validate_code_with_url_as_hapi_sends_it(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/v", json={**_cs(), "id": "v"})
    ok = client.get("/fhir/CodeSystem/$validate-code", params={"url": CS, "code": "b"}).json()
    assert _get(ok, "result") is True and _get(ok, "display") == "Beta"
    bad = client.get("/fhir/CodeSystem/$validate-code", params={"url": CS, "code": "zz"}).json()
    assert _get(bad, "result") is False
    assert _ids(bad) == ["Unknown_Code_in_Version"]
    assert _get(bad, "message") == f"Unknown code 'zz' in the CodeSystem '{CS}' version '1.0'"


def test_tx_resource_display_language_and_inactive(client: TestClient) -> None:
    vs = value_set("http://example.org/vs/all", compose={"include": [{"system": CS}]})
    wrong = client.post("/fhir/ValueSet/$validate-code", json=_params(
        ("url", vs["url"]), ("coding", {"system": CS, "code": "a", "display": "Alpha"}),
        ("displayLanguage", "de"), ("tx-resource", _cs()), ("tx-resource", vs))).json()
    assert _get(wrong, "result") is False
    assert _get(wrong, "display") == "Alfa"
    assert "Valid display is 'Alfa' (de) (for the language(s) 'de')" in _get(wrong, "message")
    retired = client.post("/fhir/ValueSet/$validate-code", json=_params(
        ("url", vs["url"]), ("coding", {"system": CS, "code": "a1"}), ("activeOnly", True),
        ("tx-resource", _cs()), ("tx-resource", vs))).json()
    assert _get(retired, "result") is False and _get(retired, "inactive") is True
    assert set(_ids(retired)) == {"STATUS_CODE_WARNING_CODE", "INACTIVE_CONCEPT_FOUND",
                                  "None_of_the_provided_codes_are_in_the_value_set_one"}


def test_codeable_concept_and_version_mismatch(client: TestClient) -> None:
    pinned = value_set("http://example.org/vs/pinned", compose={"include": [
        {"system": CS, "version": "1.0"}]})
    resources = (("tx-resource", _cs("1.0")), ("tx-resource", _cs("2.0")),
                 ("tx-resource", pinned))
    cc = {"coding": [{"system": "http://example.org/other", "code": "x"},
                     {"system": CS, "code": "b"}]}
    ok = client.post("/fhir/ValueSet/$validate-code", json=_params(
        ("url", pinned["url"]), ("codeableConcept", cc), *resources)).json()
    # as the reference server does: an error on any coding fails the whole concept
    assert _get(ok, "result") is False and _get(ok, "codeableConcept") == cc
    assert _get(ok, "code") == "b" and _get(ok, "version") == "1.0"
    assert _get(ok, "x-unknown-system") == "http://example.org/other"
    assert _ids(ok) == ["UNKNOWN_CODESYSTEM", "None_of_the_provided_codes_are_in_the_value_set_one"]
    mismatch = client.post("/fhir/ValueSet/$validate-code", json=_params(
        ("url", pinned["url"]), ("coding", {"system": CS, "version": "2.0", "code": "b"}),
        *resources)).json()
    assert _get(mismatch, "result") is False
    assert "VALUESET_VALUE_MISMATCH" in _ids(mismatch)


def test_errors_are_operation_outcomes(client: TestClient) -> None:
    missing = client.get("/fhir/ValueSet/$validate-code",
                         params={"url": "http://example.org/vs/none", "code": "a"})
    assert missing.status_code == 404
    issue = missing.json()["issue"][0]
    assert issue["code"] == "not-found"
    assert issue["extension"][0]["valueString"] == "Unable_to_resolve_value_Set_"
    no_code = client.get("/fhir/CodeSystem/$validate-code", params={"url": CS})
    assert no_code.status_code == 400 and no_code.json()["issue"][0]["code"] == "invalid"
    bad_lang = client.post("/fhir/CodeSystem/$validate-code", json=_params(
        ("url", CS), ("code", "a"), ("display", "Alpha"), ("displayLanguage", "-"),
        ("tx-resource", _cs())))
    assert bad_lang.status_code == 400
    assert bad_lang.json()["issue"][0]["code"] == "processing"
    cycle_a = value_set("http://example.org/vs/c1", compose={"include": [
        {"valueSet": ["http://example.org/vs/c2"]}]})
    cycle_b = value_set("http://example.org/vs/c2", compose={"include": [{"system": CS}],
                        "exclude": [{"valueSet": ["http://example.org/vs/c1"]}]})
    cyclic = client.post("/fhir/ValueSet/$validate-code", json=_params(
        ("url", cycle_a["url"]), ("coding", {"system": CS, "code": "a"}),
        ("tx-resource", _cs()), ("tx-resource", cycle_a), ("tx-resource", cycle_b)))
    assert cyclic.status_code == 422
    assert cyclic.json()["issue"][0]["extension"][0]["valueString"] == \
        "VALUESET_CIRCULAR_REFERENCE"


def test_batch_validate_code_keeps_going_after_a_bad_item(client: TestClient) -> None:
    vs = value_set("http://example.org/vs/all", compose={"include": [{"system": CS}]})
    body = _params(("url", vs["url"]), ("tx-resource", _cs()), ("tx-resource", vs),
                   ("validation", _params(("coding", {"system": CS, "code": "a"}))),
                   ("validation", _params(("display", "no code here"))),
                   ("validation", _params(("coding", {"system": CS, "code": "zz"}))))
    got = client.post("/fhir/ValueSet/$batch-validate-code", json=body)
    assert got.status_code == 200
    items = [p["resource"] for p in got.json()["parameter"]]
    assert [i["resourceType"] for i in items] == ["Parameters", "OperationOutcome",
                                                  "Parameters"]
    assert _get(items[0], "result") is True and _get(items[2], "result") is False


def test_fast_path_answers_like_the_routes_and_keeps_auth(client: TestClient) -> None:
    """GET $lookup/$validate-code skip FastAPI routing (api/fastpath.py); the answers must be
    those of the POST routes, errors still OperationOutcomes, and read tokens still apply."""
    client.put("/fhir/CodeSystem/v", json={**_cs(), "id": "v"})
    client.put("/fhir/ValueSet/isa-a", json=ISA_A)
    for path, query in (
            ("/fhir/CodeSystem/$lookup", {"system": CS, "code": "a1"}),
            ("/fhir/CodeSystem/$validate-code", {"url": CS, "code": "a1", "display": "x"}),
            ("/fhir/ValueSet/$validate-code", {"url": ISA_A["url"], "system": CS,
                                               "code": "b"}),
            ("/fhir/CodeSystem/$subsumes", {"system": CS, "codeA": "a", "codeB": "a2"})):
        fast = client.get(path, params=query)
        slow = client.post(path, json=_params(*query.items()))
        assert fast.status_code == slow.status_code == 200
        assert fast.json() == slow.json()
    missing = client.get("/fhir/CodeSystem/$lookup", params={"system": CS})
    assert missing.status_code == 400 and missing.json()["resourceType"] == "OperationOutcome"
    unknown = client.get("/fhir/CodeSystem/$lookup", params={"system": "urn:x", "code": "a"})
    assert unknown.status_code == 404


def test_fast_path_respects_read_tokens(settings: Any, store: Any) -> None:
    from dataclasses import replace

    from termserver.api.app import create_app
    guarded = replace(settings, read_tokens=frozenset({"secret"}))
    with TestClient(create_app(guarded, store)) as c:
        url = "/fhir/CodeSystem/$validate-code"
        assert c.get(url, params={"url": CS, "code": "a"}).status_code == 401
        ok = c.get(url, params={"url": CS, "code": "a"},
                   headers={"Authorization": "Bearer secret"})
        assert ok.status_code == 200


def test_a_changed_value_set_is_seen_at_once(client: TestClient) -> None:
    """Parsed stored value sets are cached; a write must make the next answer use the new one."""
    client.put("/fhir/CodeSystem/v", json={**_cs(), "id": "v"})
    enum = value_set("http://example.org/vs/enum", id="enum", compose={"include": [
        {"system": CS, "concept": [{"code": "a"}]}]})
    client.put("/fhir/ValueSet/enum", json=enum)
    query = {"url": enum["url"], "system": CS, "code": "b"}
    assert _get(client.get("/fhir/ValueSet/$validate-code", params=query).json(),
                "result") is False
    enum["compose"]["include"][0]["concept"].append({"code": "b"})
    assert client.put("/fhir/ValueSet/enum", json=enum).status_code == 200
    assert _get(client.get("/fhir/ValueSet/$validate-code", params=query).json(),
                "result") is True


def test_value_set_validation_is_the_same_on_the_loop_or_in_a_thread(
        client: TestClient, monkeypatch: Any) -> None:
    """A value-set $validate-code (GET fast path and POST route) is tried on the event loop
    within a budget, then in a worker thread (api/attempt.py): answered within the budget,
    in a thread (budget 0), or in a thread after an attempt stopped part way, it is the same."""
    from termserver.api import attempt

    client.put("/fhir/CodeSystem/v", json={**_cs(), "id": "v"})
    client.put("/fhir/ValueSet/isa-a", json=ISA_A)
    regex = value_set("http://example.org/vs/rx", id="rx", compose={"include": [
        {"system": CS, "filter": [{"property": "code", "op": "regex", "value": "a[0-9]+"}]}]})
    client.put("/fhir/ValueSet/rx", json=regex)
    queries = [{"url": url, "system": CS, "code": code, **extra}
               for url in (ISA_A["url"], regex["url"]) for code in ("a", "a1", "a2", "b", "zz")
               for extra in ({}, {"display": "Alpha two"})]

    def answers() -> list[Any]:
        out = []
        for q in queries:
            for r in (client.get("/fhir/ValueSet/$validate-code", params=q),
                      client.post("/fhir/ValueSet/$validate-code", json=_params(*q.items()))):
                out.append((r.status_code, r.json()))
        return out

    monkeypatch.setattr(attempt, "INLINE_BUDGET", 0.0)
    in_threads = answers()
    assert {status for status, _ in in_threads} == {200}
    for budget in (10.0, 0.0002):
        monkeypatch.setattr(attempt, "INLINE_BUDGET", budget)
        assert answers() == in_threads, budget
