"""CRUD, search and paging for CodeSystem, ValueSet and ConceptMap over HTTP, on both backends."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import code_system, value_set

FHIR = {"Content-Type": "application/fhir+json"}


def test_post_codesystem_then_read_search_and_lookup(client: TestClient) -> None:
    cs = code_system("http://example.org/cs", "1.0", codes=("x", "y"))
    cs["concept"][0]["concept"] = [{"code": "x1", "display": "Child of x",
                                    "designation": [{"language": "de", "value": "Kind"}]}]
    r = client.post("/fhir/CodeSystem", json=cs, headers=FHIR)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    created = r.json()
    rid = created["id"]
    assert r.headers["location"].endswith(f"/CodeSystem/{rid}/_history/1")
    assert created["meta"]["versionId"] == "1"

    got = client.get(f"/fhir/CodeSystem/{rid}").json()
    assert got["concept"][0]["concept"][0]["code"] == "x1"
    assert got["url"] == "http://example.org/cs"

    bundle = client.get("/fhir/CodeSystem", params={"url": "http://example.org/cs"}).json()
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["id"] == rid

    # content: complete is queryable at once, nested concepts included
    lookup = client.get("/fhir/CodeSystem/$lookup",
                        params={"system": "http://example.org/cs", "code": "x1",
                                "displayLanguage": "de"}).json()
    params = {p["name"]: p for p in lookup["parameter"]}
    assert params["display"]["valueString"] == "Kind"
    assert params["version"]["valueString"] == "1.0"
    parents = [p for p in lookup["parameter"] if p["name"] == "property"
               and p["part"][0]["valueCode"] == "parent"]
    assert parents[0]["part"][1]["valueCode"] == "x"


def test_put_creates_then_updates_with_versioning(client: TestClient) -> None:
    vs = value_set("http://example.org/vs", "1", id="my-vs")
    r = client.put("/fhir/ValueSet/my-vs", json=vs)
    assert r.status_code == 201
    vs["title"] = "Changed"
    r = client.put("/fhir/ValueSet/my-vs", json=vs, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 200
    assert r.json()["meta"]["versionId"] == "2"
    assert r.headers["etag"] == 'W/"2"'
    r = client.put("/fhir/ValueSet/my-vs", json=vs, headers={"If-Match": 'W/"1"'})
    assert r.status_code == 412
    assert client.get("/fhir/ValueSet/my-vs").json()["title"] == "Changed"


def test_delete(client: TestClient) -> None:
    client.put("/fhir/ValueSet/gone", json=value_set("http://example.org/gone", id="gone"))
    r = client.delete("/fhir/ValueSet/gone")
    assert r.status_code == 200
    assert r.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/ValueSet/gone").status_code == 404
    assert client.delete("/fhir/ValueSet/gone").status_code == 404


def test_deleting_a_codesystem_removes_its_concepts(client: TestClient) -> None:
    client.put("/fhir/CodeSystem/c1", json=code_system("http://example.org/c1", id="c1"))
    ok = client.get("/fhir/CodeSystem/$lookup", params={"system": "http://example.org/c1",
                                                          "code": "a"})
    assert ok.status_code == 200
    client.delete("/fhir/CodeSystem/c1")
    gone = client.get("/fhir/CodeSystem/$lookup", params={"system": "http://example.org/c1",
                                                            "code": "a"})
    assert gone.status_code == 404


def test_conceptmap_round_trip(client: TestClient) -> None:
    cm = {"resourceType": "ConceptMap", "url": "http://example.org/cm", "version": "1",
          "status": "active",
          "group": [{"source": "http://example.org/a", "target": "http://example.org/b",
                     "element": [{"code": "1", "target": [{"code": "2",
                                                            "equivalence": "equivalent"}]}]}]}
    r = client.post("/fhir/ConceptMap", json=cm)
    assert r.status_code == 201
    assert client.get(f"/fhir/ConceptMap/{r.json()['id']}").json()["group"] == cm["group"]


def test_search_filters_paging_and_summary(client: TestClient) -> None:
    for i in range(5):
        client.put(f"/fhir/ValueSet/v{i}", json=value_set(
            f"http://example.org/vs{i}", str(i), id=f"v{i}", name=f"Name{i}",
            title=f"Title {i}", status="draft" if i % 2 else "active"))
    total = client.get("/fhir/ValueSet").json()["total"]
    assert total == 5
    page = client.get("/fhir/ValueSet", params={"_count": 2, "_offset": 2}).json()
    assert [e["resource"]["id"] for e in page["entry"]] == ["v2", "v3"]
    relations = {link["relation"]: link["url"] for link in page["link"]}
    assert "_offset=4" in relations["next"] and "_offset=0" in relations["previous"]
    assert client.get("/fhir/ValueSet", params={"status": "draft"}).json()["total"] == 2
    assert client.get("/fhir/ValueSet", params={"name": "name3"}).json()["total"] == 1
    assert client.get("/fhir/ValueSet", params={"title": "title"}).json()["total"] == 5
    assert client.get("/fhir/ValueSet", params={"_id": "v4"}).json()["total"] == 1
    assert client.get("/fhir/ValueSet", params={"version": "3"}).json()["total"] == 1
    count_only = client.get("/fhir/ValueSet", params={"_summary": "count"}).json()
    assert count_only["total"] == 5 and "entry" not in count_only
    summary = client.get("/fhir/ValueSet", params={"_summary": "true"}).json()
    assert summary["entry"][0]["resource"]["meta"]["tag"][0]["code"] == "SUBSETTED"


def test_same_canonical_twice_is_a_conflict(client: TestClient) -> None:
    vs = value_set("http://example.org/dup", "1")
    assert client.post("/fhir/ValueSet", json=vs).status_code == 201
    r = client.post("/fhir/ValueSet", json=vs)
    assert r.status_code == 409
    assert r.json()["issue"][0]["code"] == "conflict"
    assert client.get("/fhir/ValueSet", params={"url": "http://example.org/dup"}).json()[
        "total"] == 1


def test_metadata_and_terminology_capabilities(client: TestClient) -> None:
    cap = client.get("/fhir/metadata").json()
    assert cap["resourceType"] == "CapabilityStatement"
    assert cap["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in cap["rest"][0]["resource"]}
    assert types == {"CodeSystem", "ValueSet", "ConceptMap"}
    client.put("/fhir/CodeSystem/t1", json=code_system("http://example.org/tc", "1", id="t1"))
    client.put("/fhir/CodeSystem/t2", json=code_system("http://example.org/tc", "2", id="t2"))
    caps = client.get("/fhir/metadata", params={"mode": "terminology"}).json()
    assert caps["resourceType"] == "TerminologyCapabilities"
    entry = next(c for c in caps["codeSystem"] if c["uri"] == "http://example.org/tc")
    assert entry["version"] == [{"code": "1"}, {"code": "2", "isDefault": True}]


def test_application_json_is_accepted(client: TestClient) -> None:
    r = client.post("/fhir/ValueSet", content=b'{"resourceType":"ValueSet",'
                    b'"url":"http://example.org/j","status":"active"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 201
