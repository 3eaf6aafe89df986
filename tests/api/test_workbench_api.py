"""The workbench JSON API (/workbench/api) over a tiny LOINC release on both backends: import a
local code list (bad rows by line, diff on re-import), projects, worklist, live suggestions,
decisions (and their error cases), history, batch suggestions, publish → $translate, exports,
map import, dual mapping, and the OperationOutcome shape of every error."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.api.app import create_app
from termserver.ingest import load_path
from termserver.settings import Settings
from termserver.store import Store

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "loinc"
LOINC = "http://loinc.org"
LAB = "http://hospital.example/CodeSystem/lab"
API = "/workbench/api"
ME = {"X-Curator": "anna"}

LAB_CSV = (  # header is line 1; line 5 has no code, line 6 repeats K
    "code;display;unit;specimen\n"
    "K;Kalium;mmol/L;Blut\n"
    "KS;Kalium i.S.;mg/dL;Serum\n"
    "NL63;Coronavirus NL63 RNA;;Abstrich\n"
    ";ohne Code;;\n"
    "K;Kalium doppelt;;\n")


def _import(client: TestClient, text: str, version: str = "1") -> Any:
    r = client.post(f"{API}/codesystems/import",
                    files={"file": ("lab.csv", text.encode("utf-8"), "text/csv")},
                    data={"url": LAB, "version": version, "unit_column": "unit",
                          "specimen_column": "specimen"}, headers=ME)
    assert r.status_code == 200, r.text
    return r.json()


def _project(client: TestClient, id: str = "lab", **extra: Any) -> Any:
    body = {"id": id, "title": "Labor → LOINC", "source_system": LAB, "source_version": "1",
            "target_system": LOINC, **extra}
    r = client.post(f"{API}/projects", json=body, headers=ME)
    assert r.status_code == 201, r.text
    return r.json()


def _issue(r: Any, status: int) -> dict[str, Any]:
    """The first issue of an OperationOutcome answered with `status`."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    issue["text"] = issue.get("details", {}).get("text", "")
    return issue


def _decide(client: TestClient, code: str, status: str, *targets: str, **extra: Any) -> Any:
    body = {"status": status, "targets": [{"code": t} for t in targets], **extra}
    return client.put(f"{API}/projects/lab/codes/{code}/decision", json=body, headers=ME)


@pytest.fixture
def lab(client: TestClient, store: Store) -> TestClient:
    """A client over a store with the LOINC fixture release, the lab list and project 'lab'."""
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    _import(client, LAB_CSV)
    _project(client)
    return client


# -- import -------------------------------------------------------------------------------


def test_import_reports_rows_bad_rows_by_line_and_the_diff(client: TestClient) -> None:
    first = _import(client, LAB_CSV)
    assert (first["rows"], first["total_rows"], first["outcome"]) == (3, 5, "created")
    assert [b["line"] for b in first["bad_rows"]] == [5, 6]
    assert first["bad_rows"][1]["code"] == "K" and "duplicate" in first["bad_rows"][1]["reason"]
    assert first["diff"] == {"added": ["K", "KS", "NL63"], "removed": [], "changed": []}
    again = _import(client, LAB_CSV)
    assert (again["outcome"], again["diff"]["added"]) == ("unchanged", [])

    changed = LAB_CSV.replace("Kalium i.S.;mg/dL", "Kalium im Serum;mg/dL").replace(
        "NL63;Coronavirus NL63 RNA;;Abstrich\n", "NA;Natrium;mmol/L;Serum\n")
    second = _import(client, changed, version="2")
    assert second["outcome"] == "created"
    assert second["diff"]["added"] == ["NA"]
    assert second["diff"]["removed"] == ["NL63"]
    assert [(c["code"], c["fields"]) for c in second["diff"]["changed"]] == [("KS", ["display"])]


def test_an_unreadable_upload_is_an_operation_outcome(client: TestClient) -> None:
    r = client.post(f"{API}/codesystems/import", data={"url": LAB, "code_column": "nummer"},
                    files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")})
    assert "nummer" in _issue(r, 400)["text"]
    empty = client.post(f"{API}/codesystems/import", data={"url": LAB},
                        files={"file": ("lab.csv", b"", "text/csv")})
    assert "empty" in _issue(empty, 400)["text"]
    missing = client.post(f"{API}/codesystems/import",
                          files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")})
    _issue(missing, 400)  # no url


# -- projects -----------------------------------------------------------------------------


def test_projects_create_list_read_and_patch(lab: TestClient) -> None:
    assert [p["id"] for p in lab.get(f"{API}/projects").json()] == ["lab"]
    read = lab.get(f"{API}/projects/lab").json()
    assert (read["source_system"], read["target_system"], read["dual"]) == (LAB, LOINC, False)
    assert read["created"]
    patched = lab.patch(f"{API}/projects/lab", json={"title": "Labor", "description": "K+"})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["title"], patched.json()["description"]) == ("Labor", "K+")
    assert lab.get(f"{API}/projects/lab").json()["title"] == "Labor"


def test_project_errors_are_operation_outcomes(lab: TestClient) -> None:
    assert _issue(lab.get(f"{API}/projects/nope"), 404)["code"] == "not-found"
    assert _issue(lab.get(f"{API}/projects/nope/worklist"), 404)["code"] == "not-found"
    again = lab.post(f"{API}/projects", json={"id": "lab", "title": "x", "source_system": LAB,
                                              "target_system": LOINC})
    assert _issue(again, 409)["code"] == "conflict"
    unknown = lab.post(f"{API}/projects", json={
        "id": "other", "title": "x", "source_system": "http://nowhere.example/cs",
        "target_system": LOINC})
    assert "nowhere.example" in _issue(unknown, 404)["text"]
    assert _issue(lab.post(f"{API}/projects", json={"id": "x"}), 400)["code"] == "invalid"


def test_a_project_restricted_by_a_source_valueset(lab: TestClient, store: Store) -> None:
    from termserver.ingest import save_resource

    vs = "http://hospital.example/ValueSet/kalium"
    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": vs, "status": "active",
                          "compose": {"include": [{"system": LAB, "concept": [
                              {"code": "K"}, {"code": "KS"}]}]}}, mode="canonical")
    created = lab.post(f"{API}/projects", headers=ME, json={
        "id": "kalium", "title": "Kalium", "source_system": LAB, "source_version": "1",
        "source_valueset": vs, "target_system": LOINC})
    assert created.status_code == 201, created.text
    assert created.json()["source_valueset"] == vs
    page = lab.get(f"{API}/projects/kalium/worklist").json()
    assert page["total"] == 2 and [i["source"]["code"] for i in page["items"]] == ["K", "KS"]
    outside = lab.get(f"{API}/projects/kalium/codes/NL63")
    assert _issue(outside, 404)["code"] == "not-found"
    missing = lab.post(f"{API}/projects", json={
        "id": "none", "title": "x", "source_system": LAB, "target_system": LOINC,
        "source_valueset": "http://nowhere.example/vs"})
    assert "source ValueSet" in _issue(missing, 404)["text"]


# -- worklist, suggestions, decisions -----------------------------------------------------


def test_worklist_filters_and_pages(lab: TestClient) -> None:
    body = lab.get(f"{API}/projects/lab/worklist").json()
    assert body["total"] == 3
    assert [i["source"]["code"] for i in body["items"]] == ["K", "KS", "NL63"]
    first = body["items"][0]
    assert first["source"]["unit"] == "mmol/L" and first["decision"]["status"] == "unmapped"
    page = lab.get(f"{API}/projects/lab/worklist", params={"offset": 1, "count": 1}).json()
    assert (page["total"], [i["source"]["code"] for i in page["items"]]) == (3, ["KS"])
    text = lab.get(f"{API}/projects/lab/worklist", params={"text": "corona"}).json()
    assert [i["source"]["code"] for i in text["items"]] == ["NL63"]
    bad = lab.get(f"{API}/projects/lab/worklist", params={"status": "maybe"})
    assert "maybe" in _issue(bad, 400)["text"]


def test_code_detail_has_live_suggestions_with_why(lab: TestClient) -> None:
    r = lab.get(f"{API}/projects/lab/codes/K")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["item"]["source"]["display"] == "Kalium"
    best = detail["suggestions"][0]
    assert best["code"] == "6298-4" and 0 < best["score"] <= 1 and best["why"]
    serum = lab.get(f"{API}/projects/lab/codes/KS").json()["suggestions"][0]
    assert serum["code"] == "22760-3"
    assert _issue(lab.get(f"{API}/projects/lab/codes/XX"), 404)["code"] == "not-found"
    found = lab.get(f"{API}/projects/lab/search", params={"text": "coronavirus"}).json()
    assert "101421-6" in [f["code"] for f in found]


def test_while_the_target_index_is_built_suggestions_answer_503(
        lab: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.store import search

    # LOINC counts as big: its text index is missing, as after an upgrade or during reindex
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    r = lab.get(f"{API}/projects/lab/codes/K")
    issue = _issue(r, 503)
    assert issue["code"] == "transient" and "being built" in issue["text"]
    assert r.headers["retry-after"] == "5"
    assert f"{LOINC}|2.79" in issue["text"]
    found = lab.get(f"{API}/projects/lab/search", params={"text": "kalium"})
    assert _issue(found, 503)["code"] == "transient"
    cs = store.resolve_code_system(LOINC)
    assert cs is not None
    with store.engine.begin() as conn:
        search.build(conn, cs.pk)
    r = lab.get(f"{API}/projects/lab/codes/K")
    assert r.status_code == 200, r.text
    assert r.json()["suggestions"][0]["code"] == "6298-4"


def test_decide_progress_and_history(lab: TestClient) -> None:
    r = _decide(lab, "K", "accepted", "6298-4", comment="eindeutig")
    assert r.status_code == 200, r.text
    decision = r.json()
    # a server without tokens: the self-declared name, marked as such in the audit trail
    assert (decision["status"], decision["author"]) == ("accepted", "anna (unauthenticated)")
    assert decision["targets"][0]["code"] == "6298-4"
    assert decision["targets"][0]["relationship"] == "equivalent"
    assert _decide(lab, "NL63", "rejected").status_code == 200
    progress = lab.get(f"{API}/projects/lab/progress").json()
    assert progress["total"] == 3 and progress["reviewed"] == 2
    assert progress["by_status"]["accepted"] == 1 and progress["by_status"]["rejected"] == 1
    accepted = lab.get(f"{API}/projects/lab/worklist", params={"status": "accepted"}).json()
    assert [i["source"]["code"] for i in accepted["items"]] == ["K"]
    events = lab.get(f"{API}/projects/lab/history", params={"code": "K"}).json()
    assert events[0]["action"] == "decide" and events[0]["author"] == "anna (unauthenticated)"
    assert events[0]["after"]["status"] == "accepted"


def test_bad_decisions_say_what_is_wrong(lab: TestClient) -> None:
    assert "maybe" in _issue(_decide(lab, "K", "maybe", "6298-4"), 400)["text"]
    no_target = _issue(_decide(lab, "K", "accepted"), 400)["text"]
    assert "target" in no_target
    wrong = _issue(_decide(lab, "K", "accepted", "99999-9"), 400)["text"]
    assert "99999-9" in wrong
    rel = lab.put(f"{API}/projects/lab/codes/K/decision", headers=ME, json={
        "status": "accepted", "targets": [{"code": "6298-4", "relationship": "same-ish"}]})
    assert "same-ish" in _issue(rel, 400)["text"]
    anonymous = lab.put(f"{API}/projects/lab/codes/K/decision",
                        json={"status": "rejected"})
    assert "X-Curator" in _issue(anonymous, 400)["text"]
    assert _issue(_decide(lab, "XX", "rejected"), 404)["code"] == "not-found"
    # nothing was written by the refused requests
    assert lab.get(f"{API}/projects/lab/progress").json()["reviewed"] == 0


def test_a_changed_source_code_sends_its_accepted_decision_to_review(lab: TestClient) -> None:
    assert _decide(lab, "KS", "accepted", "22760-3").status_code == 200
    assert _decide(lab, "K", "accepted", "6298-4").status_code == 200
    report = _import(lab, LAB_CSV.replace("Kalium i.S.;mg/dL", "Kalium im Serum;mg/dL"))
    assert [c["code"] for c in report["diff"]["changed"]] == ["KS"]
    items = {i["source"]["code"]: i for i in
             lab.get(f"{API}/projects/lab/worklist").json()["items"]}
    assert items["KS"]["decision"]["status"] == "needs-review"
    assert items["KS"]["source"]["display"] == "Kalium im Serum"
    assert items["K"]["decision"]["status"] == "accepted"


def test_optimistic_lock(lab: TestClient) -> None:
    first = _decide(lab, "K", "needs-review").json()
    assert _decide(lab, "K", "rejected", if_updated=first["updated"]).status_code == 200
    stale = _decide(lab, "K", "accepted", "6298-4", if_updated=first["updated"])
    assert _issue(stale, 409)["code"] == "conflict"


def test_suggest_job_runs_in_the_background(lab: TestClient) -> None:
    r = lab.post(f"{API}/projects/lab/jobs/suggest", headers=ME)
    assert r.status_code == 202, r.text
    job = r.json()
    deadline = time.monotonic() + 60
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = lab.get(f"{API}/jobs/{job['id']}").json()
    assert (job["state"], job["done"], job["total"]) == ("done", 3, 3)
    items = lab.get(f"{API}/projects/lab/worklist").json()["items"]
    k = next(i for i in items if i["source"]["code"] == "K")
    assert k["decision"]["status"] == "suggested"
    assert k["suggestions"][0]["code"] == "6298-4" and k["suggestions"][0]["rank"] == 1
    assert _issue(lab.get(f"{API}/jobs/no-such-job"), 404)["code"] == "not-found"
    cancelled = lab.post(f"{API}/jobs/{job['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "done")  # too late


# -- publish, export, map import ----------------------------------------------------------


def test_publish_then_translate_and_export(lab: TestClient) -> None:
    assert _decide(lab, "K", "accepted", "6298-4").status_code == 200
    r = lab.post(f"{API}/projects/lab/publish", json={"version": "1.0", "status": "active"},
                 headers=ME)
    assert r.status_code == 200, r.text
    published = r.json()
    assert (published["version"], published["elements"]) == ("1.0", 1)
    t = lab.get("/fhir/ConceptMap/$translate",
                params={"url": published["url"], "system": LAB, "code": "K"})
    params = {p["name"]: p for p in t.json()["parameter"]}
    assert params["result"]["valueBoolean"] is True
    match = next(p for p in t.json()["parameter"] if p["name"] == "match")
    concept = next(part for part in match["part"] if part["name"] == "concept")
    assert concept["valueCoding"]["code"] == "6298-4"

    csv_export = lab.get(f"{API}/projects/lab/export", params={"format": "csv"})
    assert csv_export.status_code == 200, csv_export.text
    assert "attachment" in csv_export.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_export.text)))
    assert [(row["source_code"], row["target_code"]) for row in rows] == [("K", "6298-4")]
    r4 = lab.get(f"{API}/projects/lab/export", params={"format": "fhir-r4"})
    assert r4.json()["resourceType"] == "ConceptMap"
    assert "lab-fhir-r4.json" in r4.headers["content-disposition"]
    bad = lab.get(f"{API}/projects/lab/export", params={"format": "pdf"})
    assert "pdf" in _issue(bad, 400)["text"]
    bad_status = lab.post(f"{API}/projects/lab/publish", json={"version": "2", "status": "x"},
                          headers=ME)
    assert bad_status.status_code in (400, 422)


def test_import_a_csv_map_reports_bad_rows(lab: TestClient) -> None:
    text = "source_code,target_code,relationship\nKS,22760-3,equivalent\n,6298-4,equivalent\n"
    r = lab.post(f"{API}/projects/lab/import-map", headers=ME,
                 files={"file": ("map.csv", text.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 1
    assert [b["line"] for b in r.json()["bad_rows"]] == [3]
    ks = lab.get(f"{API}/projects/lab/codes/KS").json()["item"]["decision"]
    assert [t["code"] for t in ks["targets"]] == ["22760-3"]
    broken = lab.post(f"{API}/projects/lab/import-map", headers=ME,
                      files={"file": ("map.json", b"{not json", "application/json")})
    assert _issue(broken, 400)["code"] in ("invalid", "structure")


def test_revalidate_flags_nothing_on_the_same_version(lab: TestClient) -> None:
    assert _decide(lab, "K", "accepted", "6298-4").status_code == 200
    r = lab.get(f"{API}/projects/lab/revalidate")
    assert r.status_code == 200, r.text
    assert r.json() == []


# -- dual mapping -------------------------------------------------------------------------


def test_dual_mapping_agreement_and_reconcile(lab: TestClient) -> None:
    lab.patch(f"{API}/projects/lab", json={"dual": True})
    for who, target in (("anna", "6298-4"), ("ben", "75940-7")):
        r = lab.put(f"{API}/projects/lab/codes/K/decision", headers={"X-Curator": who}, json={
            "status": "accepted", "targets": [{"code": target}], "reviewer": who})
        assert r.status_code == 200, r.text
    for who in ("anna", "ben"):
        assert lab.put(f"{API}/projects/lab/codes/NL63/decision", headers={"X-Curator": who},
                       json={"status": "rejected", "reviewer": who}).status_code == 200
    agreement = lab.get(f"{API}/projects/lab/agreement", params={"a": "anna", "b": "ben"}).json()
    assert (agreement["compared"], agreement["agreed"]) == (2, 1)
    assert agreement["disagreements"] == ["K"]
    r = lab.post(f"{API}/projects/lab/codes/K/reconcile", headers={"X-Curator": "chris"},
                 json={"status": "accepted", "targets": [{"code": "6298-4"}]})
    assert r.status_code == 200, r.text
    main = lab.get(f"{API}/projects/lab/codes/K").json()["item"]["decision"]
    assert (main["status"], main["targets"][0]["code"], main["reviewer"]) == (
        "accepted", "6298-4", "")


# -- documentation and protection ---------------------------------------------------------


def test_openapi_documents_the_workbench(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = {p for p in spec["paths"] if p.startswith(API)}
    assert {f"{API}/projects", f"{API}/projects/{{project_id}}/worklist",
            f"{API}/codesystems/import"} <= paths
    assert spec["paths"][f"{API}/projects"]["post"]["tags"] == ["workbench"]
    assert "DecisionIn" in spec["components"]["schemas"]


def test_writes_need_a_token_when_tokens_are_set(db_url: str, store: Store) -> None:
    settings = Settings(db=db_url, api_tokens=frozenset({"secret"}))
    with TestClient(create_app(settings, store)) as c:
        body = {"id": "p", "title": "t", "source_system": LAB, "target_system": LOINC}
        assert _issue(c.post(f"{API}/projects", json=body), 401)["code"] == "login"
        assert c.get(f"{API}/projects").status_code == 200
        refused = c.put(f"{API}/projects/p/codes/K/decision", json={"status": "rejected"})
        assert refused.status_code == 401


# -- ownership of code systems ------------------------------------------------------------


def _import_as(client: TestClient, url: str, version: str = "2025", **headers: str) -> Any:
    return client.post(f"{API}/codesystems/import", headers={**ME, **headers},
                       files={"file": ("x.csv", b"code;display\nX1;Eins\n", "text/csv")},
                       data={"url": url, "version": version})


def test_an_import_never_replaces_loaded_content(lab: TestClient, store: Store) -> None:
    """Issue 12 #2: a one-row list under LOINC's url and version replaced LOINC."""
    before = store.resolve_code_system(LOINC, "2.79")
    assert before is not None
    for version in ("2.79", "9.99"):
        assert _issue(_import_as(lab, LOINC, version), 422)["code"] == "business-rule"
    after = store.resolve_code_system(LOINC)
    assert after is not None and (after.version, after.concept_count) == (
        "2.79", before.concept_count)


@pytest.mark.parametrize("url", [
    "http://snomed.info/sct", "http://fhir.de/CodeSystem/bfarm/icd-10-gm",
    "http://fhir.de/CodeSystem/dimdi/ops", "http://hl7.org/fhir/administrative-gender",
    "http://terminology.hl7.org/CodeSystem/v3-ActCode", "http://unitsofmeasure.org",
    "urn:oid:1.2.276.0.76.5.409", "HTTP://LOINC.ORG"])
def test_external_canonicals_are_refused_even_when_not_loaded(client: TestClient,
                                                              url: str) -> None:
    issue = _issue(_import_as(client, url), 422)
    assert issue["code"] == "business-rule" and "external" in issue["text"]


def test_a_url_the_fhir_api_or_a_loader_wrote_is_refused(client: TestClient) -> None:
    mine = "http://hospital.example/CodeSystem/from-api"
    cs = {"resourceType": "CodeSystem", "url": mine, "version": "1", "status": "active",
          "content": "complete", "concept": [{"code": "A", "display": "A"}]}
    assert client.post("/fhir/CodeSystem", json=cs).status_code == 201
    for version in ("1", "2"):  # the same version, or any other one
        issue = _issue(_import_as(client, mine, version), 409)
        assert issue["code"] == "conflict" and "not created by the workbench" in \
            issue["text"]
    found = client.get("/fhir/CodeSystem/$lookup", params={"system": mine, "code": "A"})
    assert found.status_code == 200


def test_publishing_never_replaces_a_map_the_api_wrote(lab: TestClient) -> None:
    theirs = "http://hospital.example/ConceptMap/official"
    cm = {"resourceType": "ConceptMap", "url": theirs, "version": "1.0", "status": "active"}
    assert lab.post("/fhir/ConceptMap", json=cm).status_code == 201
    assert lab.patch(f"{API}/projects/lab", json={"map_url": theirs}).status_code == 200
    assert _decide(lab, "K", "accepted", "6298-4").status_code == 200
    refused = lab.post(f"{API}/projects/lab/publish", json={"version": "1.0"}, headers=ME)
    assert _issue(refused, 409)["code"] == "conflict"
    assert lab.get("/fhir/ConceptMap", params={"url": theirs}).json()["total"] == 1
    lab.patch(f"{API}/projects/lab", json={"map_url": "http://loinc.org/cm"})
    refused = lab.post(f"{API}/projects/lab/publish", json={"version": "1.0"}, headers=ME)
    assert _issue(refused, 422)["code"] == "business-rule"


def test_a_required_project_field_cannot_be_patched_to_null(lab: TestClient) -> None:
    """Found by the fuzzer: `{"language": null}` was a 500 (NOT NULL constraint)."""
    for field in ("title", "language", "dual"):
        r = lab.patch(f"{API}/projects/lab", json={field: None}, headers=ME)
        assert _issue(r, 400)["code"] == "invalid"
    assert lab.get(f"{API}/projects/lab").json()["title"] == "Labor → LOINC"


def test_reimporting_a_workbench_list_keeps_working(lab: TestClient) -> None:
    again = _import(lab, LAB_CSV.replace("Kalium;", "Kalium neu;", 1), version="1")
    assert again["outcome"] == "updated"
    assert _import(lab, LAB_CSV, version="2")["outcome"] == "created"


# -- identity: from the token, never from the client --------------------------------------


def _named_client(db_url: str, store: Store) -> TestClient:
    settings = Settings(db=db_url, api_tokens=frozenset({"tok-a", "tok-b", "tok-x"}),
                        token_names=(("tok-a", "alice"), ("tok-b", "bob")))
    return TestClient(create_app(settings, store))


def _as(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_the_token_names_the_curator_whatever_the_client_claims(db_url: str,
                                                                store: Store) -> None:
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    with _named_client(db_url, store) as c:
        assert c.post(f"{API}/codesystems/import", headers=_as("tok-a"),
                      files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")},
                      data={"url": LAB, "version": "1"}).status_code == 200
        body = {"id": "lab", "title": "t", "source_system": LAB, "source_version": "1",
                "target_system": LOINC, "author": "mallory"}
        assert c.post(f"{API}/projects", json=body, headers=_as("tok-a")).status_code == 201
        r = c.put(f"{API}/projects/lab/codes/K/decision",
                  headers=_as("tok-b", **{"X-Curator": "alice"}),
                  json={"status": "rejected", "author": "alice"})
        assert r.status_code == 200 and r.json()["author"] == "bob"
        r = c.put(f"{API}/projects/lab/codes/KS/decision", headers=_as("tok-x"),
                  json={"status": "rejected"})
        unnamed = "token-" + hashlib.sha256(b"tok-x").hexdigest()[:6]
        assert r.status_code == 200 and r.json()["author"] == unnamed
        events = c.get(f"{API}/projects/lab/history").json()
        assert {e["author"] for e in events} == {"alice", "bob", unnamed}


def test_a_curator_sees_only_their_own_blind_decisions(db_url: str, store: Store) -> None:
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    with _named_client(db_url, store) as c:
        c.post(f"{API}/codesystems/import", headers=_as("tok-a"),
               files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")},
               data={"url": LAB, "version": "1"})
        c.post(f"{API}/projects", headers=_as("tok-a"), json={
            "id": "lab", "title": "t", "source_system": LAB, "source_version": "1",
            "target_system": LOINC, "dual": True})
        r = c.put(f"{API}/projects/lab/codes/K/decision", headers=_as("tok-a"), json={
            "status": "accepted", "targets": [{"code": "6298-4"}], "reviewer": "alice"})
        assert r.status_code == 200, r.text
        spy = _issue(c.put(f"{API}/projects/lab/codes/K/decision", headers=_as("tok-b"),
                           json={"status": "rejected", "reviewer": "alice"}), 403)
        assert spy["code"] == "forbidden"
        for path in ("worklist", "progress"):
            asked = c.get(f"{API}/projects/lab/{path}", params={"reviewer": "alice"},
                          headers=_as("tok-b"))
            assert _issue(asked, 403)["code"] == "forbidden"
            assert c.get(f"{API}/projects/lab/{path}", params={"reviewer": "alice"}).status_code \
                == 403  # anonymous reader
        own = c.get(f"{API}/projects/lab/worklist", params={"reviewer": "alice"},
                    headers=_as("tok-a")).json()
        assert [i["decision"]["status"] for i in own["items"] if i["source"]["code"] == "K"] \
            == ["accepted"]
        assert [e for e in c.get(f"{API}/projects/lab/history", headers=_as("tok-b")).json()
                if e["reviewer"] == "alice"] == []
        assert [e["reviewer"] for e in c.get(f"{API}/projects/lab/history",
                                             headers=_as("tok-a")).json()
                if e["action"] == "decide"] == ["alice"]


def test_without_tokens_only_the_declared_reviewer_is_shown(lab: TestClient) -> None:
    lab.patch(f"{API}/projects/lab", json={"dual": True})
    asked = lab.get(f"{API}/projects/lab/worklist", params={"reviewer": "ben"}, headers=ME)
    assert _issue(asked, 403)["code"] == "forbidden"
    assert lab.get(f"{API}/projects/lab/worklist", params={"reviewer": "anna"},
                   headers=ME).status_code == 200


def test_the_openapi_document_is_valid(client: TestClient) -> None:
    """Issue 12: the agreement endpoint's schema used `prefixItems` (a tuple)."""
    from openapi_spec_validator import validate

    spec = client.get("/openapi.json").json()
    validate(spec)
    assert "prefixItems" not in json.dumps(spec)
    reviewers = spec["components"]["schemas"]["AgreementOut"]["properties"]["reviewers"]
    assert reviewers["items"] == {"type": "string"} and reviewers["minItems"] == 2
