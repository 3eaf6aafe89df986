"""A curator's session in headless Chromium against a live server: import a code list through
the page (with a column mapping and a bad row), create a project, open a code, accept its first
suggestion with the keyboard, reject another, accept a target found by search, publish — then
$translate answers the mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

LAB = "http://hospital.example/CodeSystem/lab"
LAB_CSV = (  # German headers (mapped in the form); line 5 has no code
    "Nummer;Bezeichnung;Einheit;Material\n"
    "K;Kalium;mmol/L;Blut\n"
    "KS;Kalium i.S.;mg/dL;Serum\n"
    "NL63;Coronavirus NL63 RNA;;Abstrich\n"
    ";ohne Nummer;;\n")

pytestmark = pytest.mark.e2e


def _testid(page: Any, name: str) -> Any:
    return page.get_by_test_id(name)


def test_import_accept_publish_translate(page: Any, server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect  # present: the page fixture checked

    listing = tmp_path / "lab.csv"
    listing.write_text(LAB_CSV, encoding="utf-8")
    page.goto(f"{server}/workbench")
    curator = _testid(page, "curator")
    curator.fill("erika")
    curator.dispatch_event("change")

    # import the code list with its German headers mapped
    form = _testid(page, "import-form")
    _testid(page, "import-file").set_input_files(str(listing))
    _testid(page, "import-url").fill(LAB)
    _testid(page, "import-version").fill("2025")
    for field, header in (("code", "Nummer"), ("display", "Bezeichnung"), ("unit", "Einheit"),
                          ("specimen", "Material")):
        form.locator(f"input[name={field}_column]").fill(header)
    _testid(page, "import-submit").click()
    assert _testid(page, "import-count").inner_text() == "3"
    assert "5" in _testid(page, "bad-rows").inner_text()  # the line without a code

    # the import offered itself as the new project's source
    assert _testid(page, "project-source").input_value() == LAB
    assert _testid(page, "project-source-version").input_value() == "2025"
    _testid(page, "project-id").fill("lab")
    _testid(page, "project-title").fill("Labor nach LOINC")
    _testid(page, "project-submit").click()
    page.wait_for_url(f"{server}/workbench/projects/lab")
    expect(page.locator("[data-testid=worklist] tr.row")).to_have_count(3)
    assert "j / k" in _testid(page, "shortcuts").inner_text()

    # j selects the first code; its suggestions show score and why; 1 accepts the best one
    page.keyboard.press("j")
    detail = _testid(page, "detail-K")
    first = _testid(page, "suggestion-1")
    assert "6298-4" in first.inner_text()
    assert detail.locator("td.why").first.inner_text().strip()
    page.keyboard.press("1")
    status = detail.get_by_test_id("detail-status")
    status.filter(has_text="accepted").wait_for()
    assert "6298-4" in detail.get_by_test_id("detail-target").inner_text()
    _testid(page, "status-K").filter(has_text="accepted").wait_for()

    # k/j move on; r rejects the coronavirus code
    page.keyboard.press("j")
    _testid(page, "detail-KS").wait_for()
    page.keyboard.press("j")
    _testid(page, "detail-NL63").wait_for()
    page.keyboard.press("r")
    _testid(page, "detail-NL63").get_by_test_id("detail-status").filter(
        has_text="rejected").wait_for()
    _testid(page, "count-reviewed").filter(has_text="2").wait_for()
    assert _testid(page, "count-accepted").inner_text() == "1"

    # k goes back; / focuses the target search; a search hit is accepted by click
    page.keyboard.press("k")
    _testid(page, "detail-KS").wait_for()
    page.keyboard.press("/")
    page.keyboard.type("Kalium Serum")
    _testid(page, "search-accept-22760-3").click()
    _testid(page, "detail-KS").get_by_test_id("detail-status").filter(
        has_text="accepted").wait_for()
    _testid(page, "count-reviewed").filter(has_text="3").wait_for()
    assert _testid(page, "count-accepted").inner_text() == "2"

    # publish as active; the result links the ConceptMap and a $translate example
    _testid(page, "publish-version").fill("1.0")
    _testid(page, "publish-status").select_option("active")
    _testid(page, "publish-submit").click()
    result = _testid(page, "publish-result")
    assert "1.0" in result.inner_text()
    map_url = result.get_attribute("data-url")
    assert map_url
    translate_link = _testid(page, "translate-link").get_attribute("href")
    assert translate_link and "code=K" in translate_link

    with httpx.Client(base_url=server, timeout=10) as http:
        r = http.get("/fhir/ConceptMap/$translate",
                     params={"url": map_url, "system": LAB, "code": "K"})
        assert r.status_code == 200, r.text
        params = r.json()["parameter"]
        assert next(p for p in params if p["name"] == "result")["valueBoolean"] is True
        match = next(p for p in params if p["name"] == "match")
        concept = next(part for part in match["part"] if part["name"] == "concept")
        assert (concept["valueCoding"]["system"], concept["valueCoding"]["code"]) == (
            "http://loinc.org", "6298-4")
        # the page's own example link answers the same
        linked = http.get(translate_link).json()["parameter"]
        assert next(p for p in linked if p["name"] == "result")["valueBoolean"] is True
        # the rejected code is not mapped
        rejected = http.get("/fhir/ConceptMap/$translate",
                            params={"url": map_url, "system": LAB, "code": "NL63"}).json()
        assert next(p for p in rejected["parameter"]
                    if p["name"] == "result")["valueBoolean"] is False
