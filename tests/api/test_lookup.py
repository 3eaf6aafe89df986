"""CodeSystem $lookup over HTTP: stored and tx-resource code systems, properties, designations,
display language, supplements, errors, and the code system resolution cache."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from termserver.store import Store
from tests.helpers import code_system
from tests.helpers import parameters_by_name as params

CS = "http://example.org/fhir/CodeSystem/lookup"
SUP = "http://example.org/fhir/CodeSystem/lookup-supplement"
MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"


def rich_code_system(version: str | None = "2.0") -> dict[str, Any]:
    return code_system(CS, version, id="lookup", name="LookupTest", language="en",
                       property=[{"code": "status", "type": "code"},
                                 {"code": "notSelectable", "type": "boolean"},
                                 {"code": "rank", "type": "integer"}],
                       concept=[{
                           "code": "root", "display": "Root", "definition": "The top",
                           "property": [{"code": "notSelectable", "valueBoolean": True}],
                           "concept": [{
                               "code": "leaf", "display": "Leaf", "definition": "A leaf",
                               "designation": [
                                   {"language": "de", "value": "Blatt"},
                                   {"use": {"system": "http://snomed.info/sct",
                                            "code": "900000000000013009"},
                                    "value": "Leaf synonym"}],
                               "property": [{"code": "status", "valueCode": "retired"},
                                            {"code": "rank", "valueInteger": 7}]}]}])


def supplement(**extra: Any) -> dict[str, Any]:
    sup = code_system(SUP, "0.1", id="lookup-supplement", content="supplement",
                      supplements=CS, concept=[{
                          "code": "leaf", "designation": [{"language": "nl", "value": "Blad"}],
                          "property": [{"code": "rank", "valueInteger": 9}]}])
    sup.update(extra)
    return sup


def properties(body: dict[str, Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for p in params(body).get("property", []):
        parts = {part["name"]: part for part in p["part"]}
        value = next(v for k, v in parts["value"].items() if k.startswith("value"))
        out.setdefault(parts["code"]["valueCode"], []).append(value)
    return out


def designations(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for p in params(body).get("designation", []):
        parts = {part["name"]: part for part in p["part"]}
        found.append({"language": parts.get("language", {}).get("valueCode"),
                      "use": parts.get("use", {}).get("valueCoding", {}).get("code"),
                      "source": parts.get("source", {}).get("valueCanonical"),
                      "value": parts["value"]["valueString"]})
    return found


def tx_lookup(client: TestClient, *pairs: tuple[str, Any],
              resources: tuple[dict[str, Any], ...] = ()) -> Any:
    parameter = [{"name": "tx-resource", "resource": r} for r in resources]
    for name, value in pairs:
        key = {"coding": "valueCoding", "property": "valueCode", "code": "valueCode",
               "useSupplement": "valueCanonical", "system": "valueUri"}.get(name, "valueString")
        parameter.append({"name": name, key: value})
    return client.post("/fhir/CodeSystem/$lookup",
                       json={"resourceType": "Parameters", "parameter": parameter})


def test_stored_lookup_returns_everything_by_default(client: TestClient) -> None:
    assert client.put("/fhir/CodeSystem/lookup", json=rich_code_system()).status_code == 201
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "leaf"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    body = r.json()
    got = params(body)
    assert got["name"][0]["valueString"] == "LookupTest"
    assert got["system"][0]["valueUri"] == CS
    assert got["version"][0]["valueString"] == "2.0"
    assert got["code"][0]["valueCode"] == "leaf"
    assert got["display"][0]["valueString"] == "Leaf"
    assert got["definition"][0]["valueString"] == "A leaf"
    assert got["abstract"][0]["valueBoolean"] is False
    assert properties(body) == {"inactive": [True], "status": ["retired"], "rank": [7],
                                "parent": ["root"]}
    assert designations(body) == [
        {"language": "en", "use": "preferredForLanguage", "source": None, "value": "Leaf"},
        {"language": "de", "use": None, "source": None, "value": "Blatt"},
        {"language": None, "use": "900000000000013009", "source": None,
         "value": "Leaf synonym"}]
    root = client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "root"}).json()
    assert params(root)["abstract"][0]["valueBoolean"] is True
    assert properties(root) == {"inactive": [False], "notSelectable": [True],
                                "child": ["leaf"]}


def test_property_parameter_limits_the_output(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/lookup", json=rich_code_system())
    r = client.get("/fhir/CodeSystem/$lookup",
                   params=[("system", CS), ("code", "leaf"), ("property", "parent"),
                           ("property", "rank")])
    body = r.json()
    assert properties(body) == {"rank": [7], "parent": ["root"]}
    assert "designation" not in params(body) and "definition" not in params(body)
    assert {"name", "system", "version", "code", "display", "abstract"} <= set(params(body))
    german = client.get("/fhir/CodeSystem/$lookup", params={
        "system": CS, "code": "leaf", "property": "lang.de"}).json()
    assert [d["value"] for d in designations(german)] == ["Blatt"]
    star = client.get("/fhir/CodeSystem/$lookup", params={
        "system": CS, "code": "leaf", "property": "*"}).json()
    assert "rank" in properties(star) and len(designations(star)) == 3


def test_display_language_parameter_and_header(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/lookup", json=rich_code_system())
    url = "/fhir/CodeSystem/$lookup"
    for query, headers in (({"displayLanguage": "de"}, {}), ({"language": "de-CH"}, {}),
                           ({}, {"Accept-Language": "de, en;q=0.5"})):
        r = client.get(url, params={"system": CS, "code": "leaf", **query}, headers=headers)
        assert params(r.json())["display"][0]["valueString"] == "Blatt", (query, headers)
    for language in ("en", "fr", "fr,en"):  # the code system's own language, or none known
        r = client.get(url, params={"system": CS, "code": "leaf", "displayLanguage": language})
        assert params(r.json())["display"][0]["valueString"] == "Leaf"


def test_tx_resource_code_system_is_looked_up_without_storing(client: TestClient,
                                                             store: Store) -> None:
    r = tx_lookup(client, ("system", CS), ("code", "leaf"), resources=(rich_code_system("3"),))
    assert r.status_code == 200, r.text
    assert params(r.json())["version"][0]["valueString"] == "3"
    assert properties(r.json())["parent"] == ["root"]
    assert store.code_systems(CS) == []
    coding = tx_lookup(client, ("coding", {"system": CS, "code": "root", "version": "3"}),
                       resources=(rich_code_system("3"),))
    assert params(coding.json())["display"][0]["valueString"] == "Root"


def test_use_supplement_adds_designations_with_source_and_properties(
        client: TestClient) -> None:
    plain = tx_lookup(client, ("system", CS), ("code", "leaf"),
                      resources=(rich_code_system(), supplement()))
    assert "used-supplement" not in params(plain.json())  # only applied when asked for
    r = tx_lookup(client, ("system", CS), ("code", "leaf"), ("useSupplement", SUP),
                  ("displayLanguage", "nl"), resources=(rich_code_system(), supplement()))
    assert r.status_code == 200, r.text
    body = r.json()
    assert params(body)["used-supplement"][0]["valueCanonical"] == f"{SUP}|0.1"
    assert {"language": "nl", "use": None, "source": f"{SUP}|0.1", "value": "Blad"} \
        in designations(body)
    assert properties(body)["rank"] == [7, 9]
    assert params(body)["display"][0]["valueString"] == "Blad"


def test_supplement_errors(client: TestClient) -> None:
    missing = tx_lookup(client, ("system", CS), ("code", "leaf"), ("useSupplement", SUP + "X"),
                        resources=(rich_code_system(),))
    assert missing.status_code == 404
    issue = missing.json()["issue"][0]
    assert issue["details"]["text"] == f"Required supplement not found: {SUP}X"
    assert issue["extension"] == [{"url": MESSAGE_ID, "valueString":
                                   "VALUESET_SUPPLEMENT_MISSING"}]
    other = supplement(supplements="http://example.org/other")
    wrong = tx_lookup(client, ("system", CS), ("code", "leaf"), ("useSupplement", SUP),
                      resources=(rich_code_system(), other))
    assert wrong.status_code == 422
    as_system = tx_lookup(client, ("system", SUP), ("code", "leaf"), resources=(supplement(),))
    assert as_system.status_code == 400
    assert "is a supplement" in as_system.json()["issue"][0]["details"]["text"]


def error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    issue: dict[str, Any] = r.json()["issue"][0]
    return issue


def test_errors_name_the_problem(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/lookup", json=rich_code_system())
    get = client.get
    url = "/fhir/CodeSystem/$lookup"
    issue = error(get(url, params={"system": CS, "code": "nope"}), 404)
    assert issue["code"] == "not-found"
    assert issue["details"]["text"] == f"Unknown code 'nope' in the CodeSystem '{CS}' " \
                                       "version '2.0'"
    issue = error(get(url, params={"system": CS + "x", "code": "leaf"}), 404)
    assert issue["details"]["text"] == f"A definition for CodeSystem '{CS}x' could not be " \
                                       "found, so the code cannot be validated"
    assert issue["extension"][0]["valueString"] == "UNKNOWN_CODESYSTEM"
    issue = error(get(url, params={"system": CS, "code": "leaf", "version": "9"}), 404)
    assert issue["details"]["text"].endswith("Valid versions: 2.0")
    assert issue["extension"][0]["valueString"] == "UNKNOWN_CODESYSTEM_VERSION"
    assert error(get(url, params={"system": CS}), 400)["code"] == "invalid"
    assert error(get(url, params={"code": "leaf"}), 400)["code"] == "invalid"
    error(get(url, params={"system": CS, "code": "leaf", "date": "yesterday"}), 400)
    assert get(url, params={"system": CS, "code": "leaf", "date": "2024-05-01"}
               ).status_code == 200
    error(tx_lookup(client, ("code", "leaf"), ("coding", {"system": CS, "code": "leaf"})), 400)
    fragment = code_system(CS + "/f", "1", content="fragment", codes=("a",))
    issue = error(tx_lookup(client, ("system", CS + "/f"), ("code", "b"),
                            resources=(fragment,)), 404)
    assert "labeled as a fragment" in issue["details"]["text"]


def test_wildcard_version_and_case_insensitive_codes(client: TestClient) -> None:
    for version in ("1.0", "1.2", "2.0"):
        client.put(f"/fhir/CodeSystem/v{version.replace('.', '-')}",
                   json={**rich_code_system(version), "id": f"v{version.replace('.', '-')}"})
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "leaf",
                                                       "version": "1.x"})
    assert params(r.json())["version"][0]["valueString"] == "1.2"
    latest = client.get("/fhir/CodeSystem/$lookup", params={"system": CS, "code": "leaf"})
    assert params(latest.json())["version"][0]["valueString"] == "2.0"
    folded = {**rich_code_system("9"), "caseSensitive": False}
    r = tx_lookup(client, ("system", CS), ("code", "LEAF"), ("version", "9"),
                  resources=(folded,))
    assert params(r.json())["code"][0]["valueCode"] == "leaf"


def test_writes_invalidate_the_resolution_cache_at_once(client: TestClient,
                                                        store: Store) -> None:
    url = "/fhir/CodeSystem/$lookup"
    client.put("/fhir/CodeSystem/lookup", json=rich_code_system("1"))
    assert params(client.get(url, params={"system": CS, "code": "leaf"}).json()
                  )["version"][0]["valueString"] == "1"
    client.put("/fhir/CodeSystem/lookup2", json={**rich_code_system("2"), "id": "lookup2"})
    assert params(client.get(url, params={"system": CS, "code": "leaf"}).json()
                  )["version"][0]["valueString"] == "2"
    before = store.generation
    client.delete("/fhir/CodeSystem/lookup2")
    assert store.generation > before
    assert params(client.get(url, params={"system": CS, "code": "leaf"}).json()
                  )["version"][0]["valueString"] == "1"
    client.delete("/fhir/CodeSystem/lookup")
    assert client.get(url, params={"system": CS, "code": "leaf"}).status_code == 404


def test_concept_detail_reads_everything_in_one_query(store: Store, client: TestClient) -> None:
    client.put("/fhir/CodeSystem/lookup", json=rich_code_system())
    cs = store.resolve_code_system(CS)
    assert cs is not None and store.resolve_code_system(CS) is cs  # cached
    detail = store.concept_detail(cs.pk, "leaf")
    assert detail is not None
    assert (detail.concept.code, detail.concept.inactive, detail.parents) == \
        ("leaf", True, ("root",))
    assert [d.value for d in detail.designations] == ["Blatt", "Leaf synonym"]
    assert {(p.property, p.value, p.type) for p in detail.properties} == {
        ("status", "retired", "code"), ("rank", "7", "integer")}
    root = store.concept_detail(cs.pk, "root")
    assert root is not None and root.children == ("leaf",) and root.concept.abstract
    assert store.concept_detail(cs.pk, "nope") is None
