"""The curator pages (/workbench) through the test client: pages and htmx partials render what
the store holds, decisions made through the page are stored, and errors come back as HTML
with the error's status (a partial for htmx requests, a page otherwise)."""

from __future__ import annotations

import json
import re
import time

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.ingest import load_path
from termserver.store import Store
from tests.api.test_workbench_api import API, FIXTURES, LAB, LAB_CSV, LOINC, ME

HX = {"HX-Request": "true"}


@pytest.fixture
def lab(client: TestClient, store: Store) -> TestClient:
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    r = client.post("/workbench/import", headers=HX,
                    files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")},
                    data={"url": LAB, "version": "1", "code_column": "code",
                          "display_column": "display", "unit_column": "unit",
                          "specimen_column": "specimen"})
    assert r.status_code == 200, r.text
    assert 'data-testid="import-count">3<' in r.text
    r = client.post("/workbench/projects", headers=HX, data={
        "id": "lab", "title": "Labor", "source_system": LAB, "source_version": "1",
        "target_system": LOINC})
    assert r.status_code == 204, r.text
    assert r.headers["HX-Redirect"] == "/workbench/projects/lab"
    return client


def test_the_projects_page_lists_projects_and_offers_the_forms(lab: TestClient) -> None:
    page = lab.get("/workbench")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'data-testid="project-lab"' in page.text
    assert 'data-testid="import-form"' in page.text and 'data-testid="project-form"' in page.text
    assert lab.get("/workbench/static/htmx.min.js").status_code == 200
    assert "Zero-Clause BSD" in lab.get("/workbench/static/htmx.LICENSE").text


def test_an_import_with_bad_rows_lists_them_by_line(lab: TestClient) -> None:
    r = lab.post("/workbench/import", headers=HX,
                 files={"file": ("lab.csv", (LAB_CSV + "X;neu;;\n").encode(), "text/csv")},
                 data={"url": LAB, "version": "1"})
    assert r.status_code == 200, r.text
    bad = r.text[r.text.index('data-testid="bad-rows"'):]
    lines = re.findall(r"<tr><td>(\d+)</td>", bad)
    assert lines == ["5", "6"]
    assert "1 added: X" in r.text
    broken = lab.post("/workbench/import", headers=HX, data={"url": LAB, "code_column": "nr"},
                      files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")})
    assert broken.status_code == 400 and 'data-testid="error"' in broken.text
    assert "nr" in broken.text


def test_the_project_page_and_its_partials(lab: TestClient) -> None:
    page = lab.get("/workbench/projects/lab")
    assert page.status_code == 200
    assert 'data-testid="shortcuts"' in page.text and 'data-testid="publish-form"' in page.text
    worklist = lab.get("/workbench/projects/lab/worklist", headers=HX)
    assert re.findall(r'data-testid="row-([^"]+)"', worklist.text) == ["K", "KS", "NL63"]
    filtered = lab.get("/workbench/projects/lab/worklist", params={"text": "corona"},
                       headers=HX)
    assert re.findall(r'data-testid="row-([^"]+)"', filtered.text) == ["NL63"]
    detail = lab.get("/workbench/projects/lab/code", params={"code": "K"}, headers=HX)
    assert detail.status_code == 200
    first = detail.text[detail.text.index('data-testid="suggestion-1"'):]
    assert "6298-4" in first[:first.index("</tr>")]
    progress = lab.get("/workbench/projects/lab/progress", headers=HX)
    assert 'data-testid="count-unmapped">3<' in progress.text


def test_the_code_panel_says_when_the_target_index_is_being_built(
        lab: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.store import search

    # LOINC counts as big: its text index is missing, as after an upgrade or during reindex
    monkeypatch.setattr(search, "SEARCH_MIN", 1)
    detail = lab.get("/workbench/projects/lab/code", params={"code": "K"}, headers=HX)
    assert detail.status_code == 200
    assert 'data-testid="index-building"' in detail.text and "being built" in detail.text
    assert 'hx-trigger="load delay:5s"' in detail.text  # the panel asks again by itself
    assert 'data-testid="suggestion-1"' not in detail.text
    found = lab.get("/workbench/projects/lab/search", params={"code": "K", "text": "kalium"},
                    headers=HX)
    assert found.status_code == 200 and 'data-testid="search-index-building"' in found.text
    cs = store.resolve_code_system(LOINC)
    assert cs is not None
    with store.engine.begin() as conn:
        search.build(conn, cs.pk)
    detail = lab.get("/workbench/projects/lab/code", params={"code": "K"}, headers=HX)
    assert 'data-testid="index-building"' not in detail.text
    first = detail.text[detail.text.index('data-testid="suggestion-1"'):]
    assert "6298-4" in first[:first.index("</tr>")]


def test_deciding_through_the_page_is_stored_and_audited(lab: TestClient) -> None:
    anonymous = lab.post("/workbench/projects/lab/decide", headers=HX,
                         data={"code": "K", "status": "rejected"})
    assert anonymous.status_code == 400 and "Curator" in anonymous.text
    lab.cookies.set("curator", "erika")
    r = lab.post("/workbench/projects/lab/decide", headers=HX, data={
        "code": "K", "status": "accepted", "target_code": "6298-4",
        "relationship": "source-is-narrower-than-target", "comment": "passt"})
    assert r.status_code == 200, r.text
    events = json.loads(r.headers["HX-Trigger"])
    assert "decided" in events and events["done"]["message"] == "K: accepted → 6298-4"
    assert 'data-testid="detail-status">accepted<' in r.text
    decision = lab.get(f"{API}/projects/lab/codes/K").json()["item"]["decision"]
    assert (decision["author"], decision["comment"]) == ("erika (unauthenticated)", "passt")
    assert decision["targets"][0]["relationship"] == "source-is-narrower-than-target"
    # needs-review keeps the accepted target; a bad target is an error partial
    kept = lab.post("/workbench/projects/lab/decide",  # as the page sends a name
                    headers={**HX, "X-Curator": "%C5%81ukasz%20J%C3%BCrgens"},
                    data={"code": "K", "status": "needs-review", "relationship": "related-to"})
    assert kept.status_code == 200
    after = lab.get(f"{API}/projects/lab/codes/K").json()["item"]["decision"]
    assert (after["status"], after["author"], [t["code"] for t in after["targets"]]) == (
        "needs-review", "Łukasz Jürgens (unauthenticated)", ["6298-4"])
    assert after["targets"][0]["relationship"] == "related-to"
    wrong = lab.post("/workbench/projects/lab/decide", headers=HX,
                     data={"code": "K", "status": "accepted", "target_code": "0-0"})
    assert wrong.status_code == 400 and "0-0" in wrong.text
    # a decision changed by someone else since the page showed it is a conflict
    seen = re.search(r'name="if_updated" value="([^"]*)"', kept.text)
    assert seen and seen.group(1) == after["updated"]
    assert lab.post("/workbench/projects/lab/decide", headers=HX, data={
        "code": "K", "status": "rejected", "if_updated": seen.group(1)}).status_code == 200
    stale = lab.post("/workbench/projects/lab/decide", headers=HX, data={
        "code": "K", "status": "needs-review", "if_updated": seen.group(1)})
    assert stale.status_code == 409 and 'data-testid="error"' in stale.text
    search = lab.get("/workbench/projects/lab/search", params={"code": "NL63",
                                                               "text": "coronavirus"})
    assert 'data-testid="search-accept-101421-6"' in search.text


def test_suggest_all_and_publish_through_the_page(lab: TestClient) -> None:
    r = lab.post("/workbench/projects/lab/suggest", headers={**HX, **ME})
    assert r.status_code == 200, r.text
    job_id = re.search(r'hx-get="/workbench/jobs/([^"]+)"', r.text)
    assert job_id, r.text
    deadline = time.monotonic() + 60
    while True:
        poll = lab.get(f"/workbench/jobs/{job_id.group(1)}", headers=HX)
        if 'data-state="done"' in poll.text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert 'data-state="done"' in poll.text and poll.headers["HX-Trigger"] == "decided"
    assert 'data-testid="count-suggested">3<' in lab.get("/workbench/projects/lab/progress").text
    lab.cookies.set("curator", "erika")
    lab.post("/workbench/projects/lab/decide", headers=HX,
             data={"code": "K", "status": "accepted", "target_code": "6298-4"})
    published = lab.post("/workbench/projects/lab/publish", headers=HX,
                         data={"version": "1.0", "status": "active"})
    assert published.status_code == 200, published.text
    link = re.search(r'href="(/fhir/ConceptMap/\$translate[^"]+)"', published.text)
    assert link
    answer = lab.get(link.group(1).replace("&amp;", "&")).json()
    assert next(p for p in answer["parameter"] if p["name"] == "result")["valueBoolean"]


def test_errors_are_html_with_their_status(lab: TestClient) -> None:
    page = lab.get("/workbench/projects/nope")
    assert page.status_code == 404 and "<html" in page.text and "nope" in page.text
    partial = lab.get("/workbench/projects/nope/worklist", headers=HX)
    assert partial.status_code == 404 and "<html" not in partial.text
    again = lab.post("/workbench/projects", headers=HX, data={
        "id": "lab", "title": "x", "source_system": LAB, "target_system": LOINC})
    assert again.status_code == 409 and 'data-testid="error"' in again.text


def test_the_project_form_takes_a_source_valueset(lab: TestClient, store: Store) -> None:
    from termserver.ingest import save_resource

    vs = "http://hospital.example/ValueSet/kalium"
    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": vs, "status": "active",
                          "compose": {"include": [{"system": LAB, "concept": [
                              {"code": "K"}]}]}}, mode="canonical")
    r = lab.post("/workbench/projects", headers=HX, data={
        "id": "k", "title": "Kalium", "source_system": LAB, "source_version": "1",
        "source_valueset": vs, "target_valueset": "", "target_system": LOINC})
    assert r.status_code == 204, r.text
    assert f"in {vs}" in lab.get("/workbench").text
    rows = lab.get("/workbench/projects/k/worklist", headers=HX).text
    assert 'data-code="K"' in rows and 'data-code="KS"' not in rows
    page = lab.get("/workbench/projects/k")
    assert page.status_code == 200 and f"(in {vs})" in page.text
    assert 'data-total="1"' in lab.get("/workbench/projects/k/progress", headers=HX).text


def test_import_map_revalidate_and_agreement_through_the_page(lab: TestClient) -> None:
    page = lab.get("/workbench/projects/lab").text
    assert 'data-testid="import-map-form"' in page and 'data-testid="revalidate-form"' in page
    assert 'data-testid="agreement-form"' not in page  # not a dual-mapping project
    concept_map = {"resourceType": "ConceptMap", "status": "draft", "group": [{
        "source": LAB, "target": LOINC, "element": [
            {"code": "K", "target": [{"code": "6298-4", "equivalence": "equivalent"}]},
            {"target": [{"code": "6298-4", "equivalence": "equivalent"}]}]}]}
    files = {"file": ("map.json", json.dumps(concept_map).encode(), "application/json")}
    anonymous = lab.post("/workbench/projects/lab/import-map", headers=HX, files=files)
    assert anonymous.status_code == 400  # who imports?
    lab.cookies.set("curator", "erika")
    r = lab.post("/workbench/projects/lab/import-map", headers=HX, files=files)
    assert r.status_code == 200, r.text
    assert 'data-testid="import-map-count">1<' in r.text and "no source code" in r.text
    assert r.headers["HX-Trigger"] == "decided"
    assert lab.get(f"{API}/projects/lab/codes/K").json()["item"]["decision"]["status"] == \
        "accepted"
    checked = lab.get("/workbench/projects/lab/revalidate", headers=HX)
    assert checked.status_code == 200 and 'data-testid="revalidate-ok"' in checked.text
    missing = lab.get("/workbench/projects/lab/revalidate?version=9.99", headers=HX)
    assert missing.status_code == 404 and 'data-testid="error"' in missing.text
    lab.patch(f"{API}/projects/lab", json={"dual": True})
    assert 'data-testid="agreement-form"' in lab.get("/workbench/projects/lab").text
    for who, target in (("anna", "6298-4"), ("ben", "6298-4")):
        lab.put(f"{API}/projects/lab/codes/K/decision", headers={"X-Curator": who}, json={
            "status": "accepted", "reviewer": who, "targets": [{"code": target}]})
    agreed = lab.get("/workbench/projects/lab/agreement?a=anna&b=ben", headers=HX)
    assert agreed.status_code == 200, agreed.text
    assert 'data-testid="kappa">1.000<' in agreed.text


# -- issue 12: links of the panels, CSP-clean templates, identity from the session ----------


def _links(html: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'hx-get="([^"]+)"', html)]


def test_agreement_and_revalidation_links_open_the_code(lab: TestClient) -> None:
    """The panels linked to /workbench/projects/{id}/codes/{code}, which does not exist."""
    from mappings.model import Flag, Target
    from termserver.api.routes.workbench_ui import templates

    lab.patch(f"{API}/projects/lab", json={"dual": True})
    for who, target in (("anna", "6298-4"), ("ben", "75940-7")):
        lab.put(f"{API}/projects/lab/codes/K/decision", headers={"X-Curator": who}, json={
            "status": "accepted", "reviewer": who, "targets": [{"code": target}]})
    agreed = lab.get("/workbench/projects/lab/agreement?a=anna&b=ben", headers=HX)
    flags = [Flag("KS", "22760-3", "inactive", "2.80", (Target("6298-4", "Kalium"),))]
    revalidated = templates.get_template("workbench/_revalidate.html").render(
        flags=flags, project_id="lab")
    links = _links(agreed.text) + _links(revalidated)
    assert len(links) == 2
    for link, code in zip(links, ("K", "KS"), strict=True):
        opened = lab.get(link, headers=HX)
        assert opened.status_code == 200, (link, opened.text)
        assert f'data-code="{code}"' in opened.text


def test_templates_have_no_inline_script_or_style(lab: TestClient) -> None:
    """The Content-Security-Policy allows only this server's files."""
    from termserver.api.routes.workbench_ui import STATIC_DIR

    folder = STATIC_DIR.parent / "templates" / "workbench"
    for template in sorted(folder.glob("*.html")):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=|javascript:", text), template.name
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), template.name
    progress = lab.get("/workbench/projects/lab/progress", headers=HX).text
    assert "style=" not in progress and 'data-width="100.00"' in progress
    page = lab.get("/workbench/projects/lab")
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert '"includeIndicatorStyles": false' in page.text


def test_with_tokens_the_page_curator_is_the_signed_in_token(db_url: str, store: Store) -> None:
    from termserver.api.app import create_app
    from termserver.settings import Settings
    from tests.api.test_workbench_auth import _sign_in

    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))
    settings = Settings(db=db_url, api_tokens=frozenset({"tok-a"}),
                        token_names=(("tok-a", "alice"),))
    with TestClient(create_app(settings, store), follow_redirects=False) as c:
        auth = {"Authorization": "Bearer tok-a"}
        c.post(f"{API}/codesystems/import", headers=auth, data={"url": LAB, "version": "1"},
               files={"file": ("lab.csv", LAB_CSV.encode(), "text/csv")})
        c.post(f"{API}/projects", headers=auth, json={
            "id": "lab", "title": "t", "source_system": LAB, "source_version": "1",
            "target_system": LOINC, "dual": True})
        assert _sign_in(c, "tok-a").status_code == 303
        c.cookies.set("curator", "mallory")
        page = c.get("/workbench/projects/lab")
        assert 'data-testid="curator-name">alice<' in page.text
        assert 'id="curator"' not in page.text  # no name field to fill in
        r = c.post("/workbench/projects/lab/decide", headers={**HX, "X-Curator": "mallory"},
                   data={"code": "K", "status": "rejected"})
        assert r.status_code == 200, r.text
        mine = c.get(f"{API}/projects/lab/worklist", params={"reviewer": "alice"},
                     headers=auth).json()["items"]
        decided = [i["decision"] for i in mine if i["source"]["code"] == "K"]
        assert [(d["author"], d["reviewer"]) for d in decided] == [("alice", "alice")]
