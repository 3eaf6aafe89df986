"""Concept properties recognised by their declared URI (issue 14, defect 2): the v3 code
systems of hl7.terminology.r4 keep their hierarchy in `subsumedBy`, declared with the URI
http://hl7.org/fhir/concept-properties#parent. Real data: the THO package in ../shared/data,
as a tx-resource (in memory) and loaded through `termserver load` (stored)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.fhir_package import FhirPackageLoader
from termserver.fhir.codesystem import code_system_info, code_system_records, property_meanings
from termserver.ingest import load_path
from termserver.model import Filter, ParentLink
from termserver.service.filters import filter_test
from termserver.service.provider import MemoryCodeSystem
from termserver.store import Store
from tests.helpers import make_package, shared

THO = "fhir-packages/hl7.terminology.r4-7.0.1.tgz"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PERSONAL = "http://terminology.hl7.org/ValueSet/v3-PersonalRelationshipRoleType"
PARENT_URI = "http://hl7.org/fhir/concept-properties#parent"


def _tho() -> dict[str, dict[str, Any]]:
    """Every CodeSystem and ValueSet of the THO package, by canonical url."""
    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(shared(THO), "r:gz") as tar:
        for member in tar:
            name = member.name.rsplit("/", 1)[-1]
            if not name.startswith(("CodeSystem-", "ValueSet-")) or not name.endswith(".json"):
                continue
            f = tar.extractfile(member)
            assert f is not None
            resource = json.load(f)
            out[resource["url"]] = resource
    return out


@pytest.fixture(scope="module")
def tho() -> dict[str, dict[str, Any]]:
    return _tho()


def _memory(data: dict[str, Any]) -> MemoryCodeSystem:
    return MemoryCodeSystem(code_system_info(data), code_system_records(data), source=data)


def test_every_tho_code_system_with_a_uri_declared_parent_gets_its_hierarchy(
        tho: dict[str, dict[str, Any]]) -> None:
    affected = {url: cs for url, cs in tho.items() if cs["resourceType"] == "CodeSystem" and
                any(m == "parent" and code != "parent"
                    for code, m in property_meanings(cs).items())}
    assert len(affected) == 16  # the v3 code systems (and conceptdomains) using subsumedBy
    for url, cs in affected.items():
        local = [c for c, m in property_meanings(cs).items() if m == "parent"]
        given = {(c["code"], p["valueCode"]) for c in _walk(cs.get("concept") or [])
                 for p in c.get("property") or [] if p["code"] in local}
        links = {(r.child, r.parent) for r in code_system_records(cs)
                 if isinstance(r, ParentLink)}
        assert given, url
        assert given <= links, url


def _walk(concepts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for c in concepts for x in (c, *_walk(c.get("concept") or []))]


def test_role_code_hierarchy_in_memory(tho: dict[str, dict[str, Any]]) -> None:
    cs = _memory(tho[ROLE_CODE])
    assert "_PersonalRelationshipRoleType" in cs.ancestors("MTH")  # MTH ⊂ PRN ⊂ FAMMEMB ⊂ …
    assert "PRN" in cs.ancestors("MTH")
    below = cs.descendants("_PersonalRelationshipRoleType")
    assert {"MTH", "FTH", "PRN", "FAMMEMB", "NBOR"} <= below
    assert "_AffiliationRoleType" not in below
    # the filter by `concept is-a`, by the FHIR name `parent`, by the local code and by URI
    detail = cs.lookup("MTH")
    assert detail is not None
    for f in (Filter("concept", "is-a", "_PersonalRelationshipRoleType"),
              Filter("parent", "=", "PRN"), Filter("subsumedBy", "=", "PRN"),
              Filter(PARENT_URI, "=", "PRN")):
        assert filter_test(cs, f)(detail), f
    assert not filter_test(cs, Filter("parent", "=", "FAMMEMB"))(detail)
    abstract = cs.lookup("_PersonalRelationshipRoleType")
    assert abstract is not None and abstract.concept.abstract


def test_not_selectable_declared_under_another_code(tho: dict[str, dict[str, Any]]) -> None:
    cs_json = tho["http://terminology.hl7.org/CodeSystem/crd-coverage-detail"]
    local = [c for c, m in property_meanings(cs_json).items() if m == "notSelectable"]
    assert local == ["abstract"]
    marked = {c["code"] for c in _walk(cs_json["concept"])
              for p in c.get("property") or [] if p["code"] == "abstract" and p["valueBoolean"]}
    assert marked
    cs = _memory(cs_json)
    for code in marked:
        detail = cs.lookup(code)
        assert detail is not None and detail.concept.abstract, code


def test_child_status_and_inactive_by_uri() -> None:
    data = {"resourceType": "CodeSystem", "url": "http://example.org/uri-props",
            "content": "complete", "property": [
                {"code": "narrower", "uri": "http://hl7.org/fhir/concept-properties#child",
                 "type": "code"},
                {"code": "state", "uri": "http://hl7.org/fhir/concept-properties#status",
                 "type": "code"}],
            "concept": [
                {"code": "top", "property": [{"code": "narrower", "valueCode": "leaf"}]},
                {"code": "leaf", "property": [{"code": "state", "valueCode": "retired"}]}]}
    cs = _memory(data)
    assert cs.ancestors("leaf") == {"top"}
    leaf = cs.lookup("leaf")
    assert leaf is not None and leaf.concept.inactive
    assert filter_test(cs, Filter("inactive", "=", "true"))(leaf)
    top = cs.lookup("top")
    assert top is not None and not filter_test(cs, Filter("inactive", "=", "true"))(top)


def test_a_uri_that_is_no_fhir_concept_property_leaves_the_code_its_meaning() -> None:
    """As the tx-ecosystem `notSelectable-unprop` code system: `#notSelectableX` is no FHIR
    concept property, so `notSelectable` still means what its code says."""
    data = {"resourceType": "CodeSystem", "url": "http://example.org/unprop",
            "content": "complete", "property": [
                {"code": "notSelectable", "type": "boolean",
                 "uri": "http://hl7.org/fhir/concept-properties#notSelectableX"},
                {"code": "broader", "type": "code",
                 "uri": "http://hl7.org/fhir/concept-properties#parentX"}],
            "concept": [
                {"code": "a"},
                {"code": "b", "property": [{"code": "notSelectable", "valueBoolean": True},
                                           {"code": "broader", "valueCode": "a"}]}]}
    assert property_meanings(data) == {}
    cs = _memory(data)
    b = cs.lookup("b")
    assert b is not None and b.concept.abstract and b.parents == ()


def test_stored_tho_subsumes_and_expands(tmp_path: Path, tho: dict[str, dict[str, Any]],
                                         client: TestClient, store: Store) -> None:
    """The real RoleCode and the value set, loaded as `termserver load` loads a package."""
    pkg = make_package(tmp_path / "tho.tgz", [tho[ROLE_CODE], tho[PERSONAL]],
                       name="hl7.terminology.r4", version="7.0.1")
    load_path(store, FhirPackageLoader(), pkg, LoadOptions())
    r = client.get("/fhir/CodeSystem/$subsumes", params={
        "system": ROLE_CODE, "codeA": "_PersonalRelationshipRoleType", "codeB": "MTH"})
    assert r.status_code == 200, r.text
    assert r.json()["parameter"][0]["valueCode"] == "subsumes"
    expected = _memory(tho[ROLE_CODE]).descendants("_PersonalRelationshipRoleType")
    assert len(expected) > 100
    for extra in ({}, {"count": "1000"}):  # in memory and paged from the database
        r = client.get("/fhir/ValueSet/$expand", params={"url": PERSONAL, **extra})
        assert r.status_code == 200, r.text
        codes = _codes(r.json()["expansion"].get("contains", []))
        assert set(codes) == expected, extra
        assert "_PersonalRelationshipRoleType" not in codes  # excluded by the value set


def _codes(contains: list[dict[str, Any]]) -> list[str]:
    return [code for c in contains for code in [c["code"], *_codes(c.get("contains", []))]]
