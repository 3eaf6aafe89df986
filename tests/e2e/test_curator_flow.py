"""A curator's session in headless Chromium against a live server: import a code list through
the page (with a column mapping and a bad row), create a project, open a code, accept its first
suggestion with the keyboard (the panel moves on to the next open code), accept a target found
by search (the results stay in view), reject another, publish — then $translate answers the
mapping."""

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

    # j selects the first code; its suggestions show score and plain reasons; 1 accepts the
    # best one and the panel moves on to the next open code by itself (auto-advance)
    page.keyboard.press("j")
    _testid(page, "detail-K").wait_for()
    first = _testid(page, "suggestion-1")
    assert "6298-4" in first.inner_text()
    reasons = _testid(page, "why-1").inner_text()
    assert reasons.strip() and "% of the component found" not in reasons
    page.keyboard.press("1")
    _testid(page, "detail-KS").wait_for()  # advanced
    _testid(page, "status-K").filter(has_text="accepted").wait_for()
    expect(_testid(page, "flash")).to_contain_text("K: accepted → 6298-4")
    expect(page.locator("#worklist tr.selected")).to_have_attribute("data-code", "KS")

    # / focuses the target search; a search hit is accepted by click for the panel's code,
    # the panel advances and the search results stay in view
    page.keyboard.press("/")
    expect(_testid(page, "target-search")).to_be_focused()
    page.keyboard.type("Kalium Serum")
    hit = _testid(page, "search-accept-22760-3")
    hit.click()
    _testid(page, "detail-NL63").wait_for()
    _testid(page, "status-KS").filter(has_text="accepted").wait_for()
    expect(hit).to_be_visible()  # the results survived the panel's swap
    assert _testid(page, "target-search").input_value() == "Kalium Serum"

    # r rejects the coronavirus code (the last open one: the panel stays)
    page.keyboard.press("r")
    _testid(page, "detail-NL63").get_by_test_id("detail-status").filter(
        has_text="rejected").wait_for()
    _testid(page, "count-reviewed").filter(has_text="3").wait_for()
    assert _testid(page, "count-accepted").inner_text() == "2"

    # k goes back to the code accepted through the search
    page.keyboard.press("k")
    _testid(page, "detail-KS").wait_for()
    assert "22760-3" in _testid(page, "detail-target").inner_text()

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
