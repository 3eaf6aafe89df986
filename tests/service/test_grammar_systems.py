"""Code systems known without loading (termserver.grammar): BCP-47 language tags, MIME types,
ISO 3166, their resolution in TxContext, TerminologyCapabilities, and the operations over HTTP
($lookup, $validate-code against the code system and value sets that include it, $expand)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from termserver import grammar
from termserver.errors import TooCostly
from termserver.fhir import capabilities
from termserver.fhir.capabilities import terminology_capabilities
from termserver.grammar import bcp47, iso3166, mime
from termserver.grammar.bcp47 import LanguageTags
from termserver.grammar.iso3166 import CountryCodes, SubdivisionCodes
from termserver.grammar.mime import MimeTypes
from termserver.model import CodeSystemInfo
from termserver.service import context
from termserver.service.context import TxContext
from termserver.service.provider import MemoryCodeSystem
from termserver.store import Store
from tests.helpers import parameters_by_name as params

UCUM = "http://unitsofmeasure.org"


@pytest.fixture(autouse=True)
def installed() -> Iterator[None]:
    before, advertised = dict(context.GRAMMAR), list(capabilities.GRAMMAR_CODE_SYSTEMS)
    grammar.install()
    yield
    context.GRAMMAR.clear()
    context.GRAMMAR.update(before)
    capabilities.GRAMMAR_CODE_SYSTEMS[:] = advertised


# -- BCP-47 -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("tag", "display"), [
    ("en-US", "English (United States)"), ("de-DE", "German (Germany)"), ("de", "German"),
    ("zh-Hans-CN", None), ("sr-Latn", None), ("es-419", None), ("de-CH-1996", None),
    ("en-US-x-twain", None), ("i-klingon", "Klingon"), ("x-private", "Private use"),
    ("qaa", None), ("en-a-bbb-ccc", None), ("zh-yue-HK", None), ("tlh", None),
])
def test_valid_language_tags(tag: str, display: str | None) -> None:
    detail = LanguageTags().lookup(tag)
    assert detail is not None, bcp47.parse(tag)
    assert detail.concept.display
    if display is not None:
        assert detail.concept.display == display


@pytest.mark.parametrize(("tag", "code"), [
    ("en-us", "en-US"), ("EN", "en"), ("DE-de", "de-DE"), ("zh-hant-tw", "zh-Hant-TW"),
    ("I-KLINGON", "i-klingon"), ("X-Private", "x-private"), ("sr-latn-rs", "sr-Latn-RS"),
])
def test_tags_are_case_insensitive(tag: str, code: str) -> None:
    detail = LanguageTags().lookup(tag)
    assert detail is not None and detail.concept.code == code  # the registry's conventions


def test_designations_in_other_languages() -> None:
    detail = LanguageTags().lookup("de-DE")
    assert detail is not None
    found = {(d.language, d.value) for d in detail.designations}
    assert ("de", "Deutsch (Deutschland)") in found
    assert ("en", "German (Region=Germany)") in found


@pytest.mark.parametrize("tag", [
    "xx", "en-ZZZ", "en-US-US", "en--US", "english", "en-Latn-Latn",
    "de-CH-1996-1996", "en-a", "x", "en-x", "en_US", "", "a" * 300, "en-US-x-waytoolongsubtag",
])
def test_invalid_language_tags(tag: str) -> None:
    assert LanguageTags().lookup(tag) is None


def test_language_tag_properties() -> None:
    detail = LanguageTags().lookup("zh-Hant-TW")
    assert detail is not None
    assert {(p.property, p.value) for p in detail.properties} == {
        ("language", "zh"), ("script", "Hant"), ("region", "TW")}
    assert bcp47.registry().date  # the registry was read
    with pytest.raises(TooCostly):
        list(LanguageTags().concepts())


# -- MIME types -------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "display"), [
    ("text/plain", "text/plain"), ("application/fhir+json", "application/fhir+json"),
    ("TEXT/HTML", "text/html"), ("text/plain;charset=UTF-8", "text/plain; charset=UTF-8"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
    ("application/x-foo", None), ('multipart/form-data; boundary="a b"', None),
    ("image/*", None),
])
def test_valid_mime_types(code: str, display: str | None) -> None:
    detail = MimeTypes().lookup(code)
    assert detail is not None
    if display is not None:
        assert detail.concept.display == display


@pytest.mark.parametrize("code", [
    "text", "text/", "/plain", "text/plain/extra", "text/pl ain", "text/plain; charset",
    "text/plain; =x", " text/plain", "", "text/plain; charset=a b",
])
def test_invalid_mime_types(code: str) -> None:
    assert mime.parse(code) is None
    assert MimeTypes().lookup(code) is None


# -- ISO 3166 ---------------------------------------------------------------------------------

def test_country_codes() -> None:
    cs = CountryCodes()
    for code in ("DE", "DEU", "276"):
        detail = cs.lookup(code)
        assert detail is not None and detail.concept.display == "Germany"
    gb = cs.lookup("GB")
    assert gb is not None and "United Kingdom of Great Britain and Northern Ireland" in {
        d.value for d in gb.designations}
    user = cs.lookup("XY")
    assert user is not None and user.concept.display == iso3166.USER_ASSIGNED
    assert cs.lookup("de") is None and cs.lookup("XYZ") is None and cs.lookup("999") is None
    codes = [d.concept.code for d in cs.concepts()]
    assert len(codes) == len(set(codes)) > 700
    assert codes == sorted(codes)


def test_subdivision_codes() -> None:
    cs = SubdivisionCodes()
    bavaria = cs.lookup("DE-BY")
    assert bavaria is not None and bavaria.concept.display == "Bayern"
    assert ("country", "DE") in {(p.property, p.value) for p in bavaria.properties}
    with_parent = next(d for d in cs.concepts() if d.parents)
    assert with_parent.parents[0] in cs.ancestors(with_parent.concept.code)
    assert with_parent.concept.code in cs.descendants(with_parent.parents[0])


# -- resolution and advertisement ------------------------------------------------------------

def test_context_resolution(store: Store) -> None:
    ctx = TxContext(store)
    found = ctx.code_system(UCUM)
    assert found is not None and found.version == "2.2"
    assert ctx.code_system(UCUM, "2.2") is found
    assert ctx.code_system(UCUM, "1.9") is None
    assert "2.2" in ctx.code_system_versions(UCUM)
    assert ctx.code_system("urn:ietf:bcp:47") is not None
    own = MemoryCodeSystem(CodeSystemInfo(UCUM, "9.9", content="complete"), ())
    assert TxContext(store, [own]).code_system(UCUM) is own  # the request's own comes first


def test_terminology_capabilities_lists_them() -> None:
    entries = {e["uri"]: e for e in terminology_capabilities("http://x/fhir", [])["codeSystem"]}
    ucum = entries[UCUM]["version"][0]
    assert ucum["code"] == "2.2" and ucum["isDefault"] is True
    assert {"code": "canonical", "op": ["=", "in"]} in ucum["filter"]
    assert {"urn:ietf:bcp:47", "urn:ietf:bcp:13", "urn:iso:std:iso:3166",
            "urn:iso:std:iso:3166:-2"} <= set(entries)


# -- over HTTP --------------------------------------------------------------------------------

def _post(client: TestClient, path: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/fhir/{path}", json={"resourceType": "Parameters",
                                           "parameter": list(parameters)})
    body: dict[str, Any] = r.json()
    body["_status"] = r.status_code
    return body


def _vs(system: str, **include: Any) -> dict[str, Any]:
    return {"name": "valueSet", "resource": {
        "resourceType": "ValueSet", "url": "http://example.org/vs", "status": "active",
        "compose": {"include": [{"system": system, **include}]}}}


def test_lookup_and_validate_over_http(client: TestClient) -> None:
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": UCUM, "code": "mg/dL"})
    assert r.status_code == 200
    got = params(r.json())
    assert got["name"][0]["valueString"] == "UCUM"
    assert got["version"][0]["valueString"] == "2.2"
    assert got["display"][0]["valueString"] == "mg/dL"
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": UCUM, "code": "kgXX"})
    assert params(r.json())["result"][0]["valueBoolean"] is False
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": "urn:ietf:bcp:47", "code": "en-US"})
    got = params(r.json())
    assert got["result"][0]["valueBoolean"] is True
    assert got["display"][0]["valueString"] == "English (United States)"
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": "urn:ietf:bcp:47", "code": "de-de",
                           "display": "Deutsch (Deutschland)"})
    got = params(r.json())
    assert got["result"][0]["valueBoolean"] is True
    assert got["normalized-code"][0]["valueCode"] == "de-DE"
    issues = got["issues"][0]["resource"]["issue"]
    assert [i["severity"] for i in issues] == ["information"]  # the case difference only
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": "urn:iso:std:iso:3166", "code": "AA"})
    got = params(r.json())
    assert got["result"][0]["valueBoolean"] is True
    assert got["version"][0]["valueString"] == "2018"
    r = client.get("/fhir/CodeSystem/$validate-code",
                   params={"url": "urn:ietf:bcp:13", "code": "application/fhir+json"})
    assert params(r.json())["result"][0]["valueBoolean"] is True


def test_value_set_validation(client: TestClient) -> None:
    def result(vs: dict[str, Any], system: str, code: str) -> bool:
        body = _post(client, "ValueSet/$validate-code", vs,
                     {"name": "system", "valueUri": system}, {"name": "code", "valueCode": code})
        return bool(params(body)["result"][0]["valueBoolean"])
    whole = _vs(UCUM)
    assert result(whole, UCUM, "mmol/L") and not result(whole, UCUM, "mmol/LL")
    grams = _vs(UCUM, filter=[{"property": "canonical", "op": "=", "value": "g"}])
    assert result(grams, UCUM, "kg") and not result(grams, UCUM, "mL")
    assert result(_vs("urn:ietf:bcp:47"), "urn:ietf:bcp:47", "de-AT")
    assert result(_vs("urn:ietf:bcp:47"), "urn:ietf:bcp:47", "de-at")  # case-insensitive
    assert not result(_vs("urn:ietf:bcp:47"), "urn:ietf:bcp:47", "de-YY")
    assert result(_vs("urn:ietf:bcp:13"), "urn:ietf:bcp:13", "image/png")
    assert result(_vs("urn:iso:std:iso:3166"), "urn:iso:std:iso:3166", "FRA")


def test_expansion(client: TestClient) -> None:
    body = _post(client, "ValueSet/$expand", _vs("urn:iso:std:iso:3166"),
                 {"name": "count", "valueInteger": 5})
    assert body["_status"] == 200
    assert body["expansion"]["total"] > 700 and len(body["expansion"]["contains"]) == 5
    alpha2 = _post(client, "ValueSet/$expand", _vs("urn:iso:std:iso:3166", filter=[
        {"property": "type", "op": "=", "value": "alpha-2"}]))
    codes = {c["code"] for c in alpha2["expansion"]["contains"]}
    assert "DE" in codes and "DEU" not in codes and len(codes) == 249
    for system in (UCUM, "urn:ietf:bcp:47", "urn:ietf:bcp:13"):
        refused = _post(client, "ValueSet/$expand", _vs(system))
        assert refused["_status"] == 422, refused
        assert refused["issue"][0]["code"] == "too-costly"
    listed = _post(client, "ValueSet/$expand", _vs(UCUM, concept=[
        {"code": "mg"}, {"code": "kg/m2"}, {"code": "nonsense"}]))
    assert {c["code"] for c in listed["expansion"]["contains"]} == {"mg", "kg/m2"}


def test_expansion_of_a_long_enumeration(client: TestClient) -> None:
    units = [f"{p}g" for p in ("", "k", "m", "u", "n", "p", "f")] + \
        [f"{p}mol/{q}L" for p in ("", "m", "u", "n", "p") for q in ("", "d", "c", "m", "u")] + \
        [f"{p}m{e}" for p in ("", "k", "c", "m", "u", "n") for e in ("", "2", "3", "4")]
    assert len(units) > 50
    listed = _post(client, "ValueSet/$expand", _vs(UCUM, concept=[{"code": u} for u in units]))
    assert listed["_status"] == 200, listed
    assert {c["code"] for c in listed["expansion"]["contains"]} == set(units)


def test_the_grammar_wins_over_a_stub_but_not_over_content(client: TestClient) -> None:
    stub = {"resourceType": "CodeSystem", "id": "ucum-stub", "url": UCUM, "version": "2.2",
            "status": "active", "content": "not-present"}
    assert client.put("/fhir/CodeSystem/ucum-stub", json=stub).status_code in (200, 201)
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": UCUM, "code": "mg/dL"})
    got = params(r.json())
    assert got["result"][0]["valueBoolean"] is True
    assert got["display"][0]["valueString"] == "mg/dL" and "issues" not in got  # not the stub
    country = "urn:iso:std:iso:3166"
    own = {"resourceType": "CodeSystem", "id": "iso-own", "url": country, "version": "2018",
           "status": "active", "content": "complete", "concept": [{"code": "ZZZ"}]}
    assert client.put("/fhir/CodeSystem/iso-own", json=own).status_code in (200, 201)
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": country, "code": "ZZZ"})
    assert params(r.json())["result"][0]["valueBoolean"] is True  # loaded content answers
