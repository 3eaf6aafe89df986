"""The workbench that flows (issue 17) through the test client: German and English pages,
plain-language reasons, the top suggestion's name in the worklist, auto-advance, the target
search kept apart from the code's panel, the "being prepared" state, the code system picker
and bulk accept above a threshold."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mappings.model import RELATIONSHIPS, STATUSES, SourceCode
from termserver.api import i18n, reasons
from termserver.api.messages_de import DE
from termserver.api.routes.workbench_ui import SHORTCUTS, STATIC_DIR
from termserver.store import Store
from tests.api.test_workbench_api import API, LOINC, ME
from tests.api.test_workbench_ui import HX, lab  # noqa: F401  (the fixture)

TEMPLATES = STATIC_DIR.parent / "templates" / "workbench"
_CALL = re.compile(r'''_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')''')


def _template_texts() -> set[str]:
    found: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        for m in _CALL.finditer(template.read_text(encoding="utf-8")):
            found.add((m.group(1) if m.group(1) is not None else m.group(2))
                      .replace('\\"', '"'))
    return found


def test_every_text_of_the_pages_has_a_german_form() -> None:
    texts = _template_texts()
    assert len(texts) > 100  # the extraction itself works
    dynamic = {*STATUSES, *RELATIONSHIPS, *(what for _, what in SHORTCUTS),
               *reasons.PROPERTIES.values(), *reasons.SYSTEMS.values(),
               "Terminologies (1,000 concepts or more)", "Other code systems"}
    missing = sorted(t for t in texts | dynamic if t not in DE)
    assert missing == []
    for text, german in DE.items():  # the same placeholders in both languages
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", german)), text


def test_the_language_follows_the_browser_or_the_switch(lab: TestClient) -> None:  # noqa: F811
    english = lab.get("/workbench/projects/lab")
    assert '<html lang="en">' in english.text and "Suggest all" in english.text
    german = lab.get("/workbench/projects/lab",
                     headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in german.text and "Alle vorschlagen" in german.text
    assert german.headers["content-language"] == "de"
    assert "Suggest all" not in german.text
    # the switch wins over the browser and is kept in a cookie for the partials
    switched = lab.get("/workbench/projects/lab?lang=de", headers={"Accept-Language": "en"})
    assert "Alle vorschlagen" in switched.text and lab.cookies.get("lang") == "de"
    progress = lab.get("/workbench/projects/lab/progress", headers=HX)
    assert "ungemappt" in progress.text
    lab.get("/workbench?lang=en")
    assert "unmapped" in lab.get("/workbench/projects/lab/progress", headers=HX).text
    assert i18n.translate("de", "no such text {x}", x=1) == "no such text 1"


def test_reasons_read_as_sentences() -> None:
    source = SourceCode("GLU", "Glucose", unit="mg/dl", specimen="Serum")
    why = ("0% of the component found; 100% of the query tokens found; text match 87% with "
           "de-DE 'Glukose [Masse/Vol.]'; PROPERTY MCnc fits; specimen fits SYSTEM Ser/Plas; "
           "a reason nobody knows yet")
    english = reasons.plain(why, source, "en")
    assert english == [
        "The LOINC analyte name (COMPONENT) does not occur in the local name",
        "Every word of the local name is in the term",
        "The name reads like the German name “Glukose [Masse/Vol.]” (87 %)",
        "Unit mg/dl fits mass concentration (MCnc)",
        "Specimen Serum fits serum or plasma (Ser/Plas)",
        "A reason nobody knows yet"]
    german = reasons.plain(why.split("; "), source, "de")  # a list of items works the same
    assert german[3] == "Einheit mg/dl passt zu Massenkonzentration (MCnc)"
    assert german[4] == "Material Serum passt zu Serum oder Plasma (Ser/Plas)"
    assert reasons.plain("", None, "en") == [] and reasons.plain(None, None, "de") == []
    assert reasons.plain("PROPERTY Xyz fits", None, "en") == ["The local name fits Xyz"]


def _suggest_all(client: TestClient) -> None:
    r = client.post("/workbench/projects/lab/suggest", headers={**HX, **ME})
    job = re.search(r'hx-get="/workbench/jobs/([^"]+)"', r.text)
    assert job, r.text
    deadline = time.monotonic() + 60
    while 'data-state="done"' not in client.get(f"/workbench/jobs/{job.group(1)}").text:
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_panel_worklist_and_search_after_suggest_all(lab: TestClient) -> None:  # noqa: F811
    _suggest_all(lab)
    rows = lab.get("/workbench/projects/lab/worklist", headers=HX).text
    top = rows[rows.index('data-testid="top-K"'):]
    assert "6298-4" in top[:300] and "Kalium [Mol/Volumen]" in top[:300]  # a name, not "?"
    detail = lab.get("/workbench/projects/lab/code", params={"code": "K"}, headers=HX).text
    why = detail[detail.index('data-testid="why-1"'):]
    assert "<li>" in why[:200] and "% of the component found" not in detail
    # the search has no code of its own: its accept buttons decide on the panel's code
    page = lab.get("/workbench/projects/lab").text
    assert 'id="target-search"' in page and 'id="target-search"' not in detail
    assert 'name="code" value="K"' in detail  # in #decision-extras, which accepts include
    found = lab.get("/workbench/projects/lab/search", params={"text": "kalium"}, headers=HX)
    assert 'data-testid="search-accept-6298-4"' in found.text and '"code"' not in found.text
    lab.cookies.set("curator", "erika")
    # auto-advance: a decision with `next` answers the next code's panel
    r = lab.post("/workbench/projects/lab/decide", headers=HX, data={
        "code": "K", "status": "accepted", "target_code": "6298-4", "next": "NL63"})
    assert r.status_code == 200 and 'data-code="NL63"' in r.text
    assert json.loads(r.headers["HX-Trigger"])["done"]["code"] == "K"
    assert lab.get(f"{API}/projects/lab/codes/K").json()["item"]["decision"]["status"] == \
        "accepted"
    gone = lab.post("/workbench/projects/lab/decide", headers=HX, data={
        "code": "KS", "status": "rejected", "next": "nope"})
    assert 'data-code="KS"' in gone.text  # an unknown next code: the decided one stays
    nothing = lab.post("/workbench/projects/lab/decide", headers=HX,
                       data={"status": "rejected"})
    assert nothing.status_code == 400 and "select a code" in nothing.text


def test_bulk_accept_through_the_page(lab: TestClient) -> None:  # noqa: F811
    _suggest_all(lab)
    assert 'data-testid="bulk-form"' in lab.get("/workbench/projects/lab").text
    anonymous = lab.post("/workbench/projects/lab/bulk-accept", headers=HX,
                         data={"threshold": "0.5"})
    assert anonymous.status_code == 400
    lab.cookies.set("curator", "erika")
    # scores are calibrated confidences (mappings.calibration): a weak top suggestion may
    # have none, and no threshold (> 0) takes it
    tops = [lab.get(f"{API}/projects/lab/codes/{c}").json()["suggestions"][0]["score"]
            for c in ("K", "KS", "NL63")]
    above = sum(t >= 0.01 for t in tops)
    assert above >= 2, tops
    preview = lab.post("/workbench/projects/lab/bulk-accept", headers=HX,
                       data={"threshold": "0.01", "review_percent": "10"})
    assert preview.status_code == 200 and 'data-dry-run="true"' in preview.text
    assert f'data-accepted="{above - 1}"' in preview.text and 'data-review="1"' in preview.text
    assert "HX-Trigger" not in preview.headers
    assert lab.get(f"{API}/projects/lab/progress").json()["by_status"]["suggested"] == 3
    done = lab.post("/workbench/projects/lab/bulk-accept", headers=HX, data={
        "threshold": "0.01", "review_percent": "10", "dry_run": "false"})
    assert done.status_code == 200 and done.headers["HX-Trigger"] == "decided"
    by_status = lab.get(f"{API}/projects/lab/progress").json()["by_status"]
    assert (by_status["accepted"], by_status["needs-review"]) == (above - 1, 1)
    events = lab.get(f"{API}/projects/lab/history").json()
    summary = next(e for e in events if e["action"] == "bulk-accept" and not e["source_code"])
    assert summary["author"] == "erika (unauthenticated)"
    assert summary["after"]["threshold"] == 0.01
    bad = lab.post("/workbench/projects/lab/bulk-accept", headers=HX,
                   data={"threshold": "2", "dry_run": "false"})
    assert bad.status_code == 400 and 'data-testid="error"' in bad.text
    # the JSON API does the same
    api = lab.post(f"{API}/projects/lab/bulk-accept", headers=ME,
                   json={"threshold": 0.5, "dry_run": True})
    assert api.status_code == 200 and api.json()["accepted"] == []
    assert lab.post(f"{API}/projects/lab/bulk-accept", headers=ME,
                    json={"threshold": 0}).status_code == 400


def test_the_page_says_what_is_being_prepared(lab: TestClient, store: Store,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from termserver.store import search

    ready = lab.get("/workbench/projects/lab/preparing", headers=HX)
    assert 'data-testid="ready"' in ready.text and 'data-testid="preparing"' not in ready.text
    monkeypatch.setattr(search, "SEARCH_MIN", 1)  # LOINC now needs its (missing) text index
    lab.app.state.workbench = None  # a fresh process: no index kept
    building = lab.get("/workbench/projects/lab/preparing", headers=HX,
                       params={"lang": "de"})
    assert 'data-testid="preparing-index"' in building.text
    assert "Wird vorbereitet" in building.text and 'hx-trigger="load delay:5s"' in building.text


def test_the_target_picker_lists_the_loaded_code_systems(lab: TestClient,  # noqa: F811
                                                         tmp_path: Path) -> None:
    page = lab.get("/workbench").text
    picker = page[page.index('data-testid="project-target"'):]
    picker = picker[:picker.index("</select>")]
    assert f'<option value="{LOINC}" selected>' in picker
    assert "newest (2.79)" in picker
    assert 'name="target_system"' not in page  # no free-text URL field any more
    r = lab.post("/workbench/projects", headers=HX, data={
        "id": "pinned", "title": "t", "source_system": "http://hospital.example/CodeSystem/lab",
        "source_version": "1", "target": f"{LOINC}|2.79"})
    assert r.status_code == 204, r.text
    assert lab.get(f"{API}/projects/pinned").json()["target_version"] == "2.79"
