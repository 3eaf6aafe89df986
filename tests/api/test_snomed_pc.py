"""SNOMED CT conformance classes on the real HL7 tx-ecosystem subset (../shared/data): $lookup
names, labels and default properties; post-coordinated expressions checked against the
release's concept model (attribute names, MRCM ranges); the significant designations of an
expansion; inactive descriptions kept for display checks; edition names; how a too-costly
filtered expansion names its value set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.snomed import SnomedRf2Loader
from termserver.api.app import create_app
from termserver.api.routes import valueset as valueset_routes
from termserver.ingest import load_path
from termserver.service import messages
from termserver.service.snomed import SnomedProvider
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import shared

SCT = "http://snomed.info/sct"
VERSION = "http://snomed.info/xsct/31000003106/version/20250909"
SUBSET = "snomed-ct/hl7-tx-ecosystem-int-20250909-subontology"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, str]]:
    path = shared(SUBSET)
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('sct')) / 'sct.db'}"
    store = Store(url)
    load_path(store, SnomedRf2Loader(), path, LoadOptions(version=VERSION))
    yield store, url
    store.close()


@pytest.fixture(scope="module")
def api(loaded: tuple[Store, str]) -> Iterator[TestClient]:
    store, url = loaded
    with TestClient(create_app(Settings(db=url, base_url="http://testserver/fhir"),
                               store)) as c:
        yield c


@pytest.fixture(scope="module")
def provider(loaded: tuple[Store, str]) -> SnomedProvider:
    store, _ = loaded
    stored = store.resolve_code_system(SCT, VERSION)
    assert stored is not None
    return SnomedProvider(store, stored)


def _all(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in body["parameter"] if p["name"] == name]


def _parts(param: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: next(v for k, v in p.items() if k.startswith("value"))
            for p in param["part"]}


def _lookup(api: TestClient, code: str, *props: str) -> dict[str, Any]:
    params: list[tuple[str, str]] = [("system", SCT), ("version", VERSION), ("code", code)]
    params += [("property", p) for p in props]
    r = api.get("/fhir/CodeSystem/$lookup", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_lookup_names_the_edition_and_labels_properties(api: TestClient) -> None:
    body = _lookup(api, "367430006")
    assert _all(body, "name")[0]["valueString"] == f"{SCT}|{VERSION}"
    designations = [_parts(d) for d in _all(body, "designation")]
    assert [d["value"] for d in designations] == [
        "Repair of tendon of hand", "Repair of tendon of hand (procedure)", "Tenoplasty of hand"]
    assert all(d["use"]["system"] == SCT for d in designations)  # no preferredForLanguage
    props = [_parts(p) for p in _all(body, "property")]
    method = next(p for p in props if p["code"] == "260686004")
    assert method == {"code": "260686004", "code-display": "Method",
                      "description": "Repair - action", "value": "257903006"}
    parents = {p["value"]: p["description"] for p in props if p["code"] == "parent"}
    assert parents["119657005"] == "Hand repair"
    assert {p["code"] for p in props} >= {"effectiveTime", "inactive", "child"}
    assert not {"moduleId", "sufficientlyDefined"} & {p["code"] for p in props}
    asked = [_parts(p) for p in _all(_lookup(api, "367430006", "moduleId"), "property")]
    assert [p["value"] for p in asked if p["code"] == "moduleId"] == ["900000000000207008"]


def test_lookup_of_an_expression(api: TestClient) -> None:
    body = _lookup(api, "367430006:{272741003=24028007}")
    shown = "367430006|Repair of tendon of hand|:{272741003|Laterality|=24028007|Right|}"
    assert _all(body, "display")[0]["valueString"] == shown
    [designation] = [_parts(d) for d in _all(body, "designation")]
    assert designation["language"] == "en-US" and designation["value"] == shown
    assert designation["use"]["code"] == "preferredForLanguage"
    props = [_parts(p) for p in _all(body, "property")]
    assert {"code": "272741003", "code-display": "Laterality", "description": "Right",
            "value": "24028007"} in props
    assert {p["value"] for p in props if p["code"] == "parent"} == {
        "119657005", "274059009", "281760001"}  # the focus concept's


@pytest.mark.parametrize(("code", "reason"), [
    ("367430006:{272741003=240280071}", "Not a valid expression: Concept 240280071 not found"),
    ("367430006:{24028007=272741003}",
     "Not a valid expression: Concept 24028007 is not valid in this context (must be a "
     "descendent of one of 410662002,106237007)"),
    ("367430006:{272741003=10200004}", "Not a valid expression: Concept 10200004 is not in "
     "the range of the attribute 272741003 (<< 182353008 |Side (qualifier value)|)"),
    ("367430006:{272741003", "Not a valid expression: it does not follow the SNOMED CT "
     "compositional grammar"),
])
def test_invalid_expressions_say_why(provider: SnomedProvider, api: TestClient, code: str,
                                     reason: str) -> None:
    assert provider.lookup(code) is None
    assert provider.invalid_reason(code) == reason
    r = api.post("/fhir/CodeSystem/$validate-code", json={
        "resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": SCT}, {"name": "version", "valueString": VERSION},
            {"name": "code", "valueCode": code}]})
    assert _all(r.json(), "result")[0]["valueBoolean"] is False


def test_valid_expressions_carry_the_mrcm_note(provider: SnomedProvider) -> None:
    code = "128241005:{363698007=181268008}"
    detail = provider.lookup(code)
    assert detail is not None and provider.invalid_reason(code) is None
    assert detail.concept.display == \
        "128241005|Inflammatory disease of liver|:{363698007|Finding site|=181268008|Entire liver|}"
    assert provider.code_notes(code) == [
        "The expression is grammatically correct and the concepts are valid, but the "
        "expression has not been checked against the SNOMED CT concept model (MRCM)"]
    assert provider.code_notes("128241005") == []


def test_inactive_descriptions_are_kept_apart(provider: SnomedProvider) -> None:
    assert "Genus: Opisthorchis" in {d.value for d in provider.inactive_designations("42463004")}
    detail = provider.lookup("42463004")
    assert detail is not None
    assert "Genus: Opisthorchis" not in {d.value for d in detail.designations}
    assert not any(p.property == "inactiveDescription" for p in detail.properties)


def test_edition_name_follows_the_module_dependencies(provider: SnomedProvider) -> None:
    assert provider.edition_name == "International Edition"  # test module 31000003106


def _expand(api: TestClient, vs: dict[str, Any], *extra: dict[str, Any],
            headers: dict[str, str] | None = None) -> Any:
    return api.post("/fhir/ValueSet/$expand", headers=headers or {}, json={
        "resourceType": "Parameters",
        "parameter": [{"name": "valueSet", "resource": vs}, *extra]})


def _vs(concepts: list[str] | None = None, filters: list[dict[str, str]] | None = None
        ) -> dict[str, Any]:
    include: dict[str, Any] = {"system": SCT, "version": VERSION}
    if concepts:
        include["concept"] = [{"code": c} for c in concepts]
    if filters:
        include["filter"] = filters
    return {"resourceType": "ValueSet", "url": "http://example.org/vs/sct", "version": "1.0",
            "status": "active", "compose": {"include": [include]}}


def test_expansion_designations_are_the_significant_ones(api: TestClient) -> None:
    with_designations = {"name": "includeDesignations", "valueBoolean": True}
    r = _expand(api, _vs(["42463004"]), with_designations)
    [entry] = r.json()["expansion"]["contains"]
    assert [(d["use"]["code"], d["value"]) for d in entry["designation"]] == [
        ("900000000000003001", "Genus Opisthorchis (organism)"),
        ("900000000000013009", "Opisthorchis")]
    r = _expand(api, _vs(["42463004"]), with_designations,
                {"name": "designation", "valueString": f"{SCT}|900000000000013009"})
    [entry] = r.json()["expansion"]["contains"]
    assert {d["value"] for d in entry["designation"]} >= {
        "Opisthorchis", "Genus Opisthorchis", "Opisthorchis species"}


def test_too_costly_names_a_filtered_value_set_by_its_url(api: TestClient) -> None:
    vs = _vs(filters=[{"property": "concept", "op": "is-a", "value": "138875005"}])
    r = _expand(api, vs, headers={"X-TOO-COSTLY-THRESHOLD": "100"})
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["details"]["text"] == (
        "The value set 'http://example.org/vs/sct' expansion has too many codes to produce "
        "(>100)")


# -- with the validate-code / $expand route changes proposed to their owners ------------------

def _proposed(module: ModuleType, name: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not hasattr(module, name), reason=(
        f"needs {module.__name__}.{name} (the change h6 proposed for that module)"))


def _validate(api: TestClient, code: str, display: str | None = None) -> dict[str, Any]:
    parameter = [{"name": "url", "valueUri": SCT}, {"name": "version", "valueString": VERSION},
                 {"name": "code", "valueCode": code}]
    if display is not None:
        parameter.append({"name": "display", "valueString": display})
    r = api.post("/fhir/CodeSystem/$validate-code",
                 json={"resourceType": "Parameters", "parameter": parameter})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = _all(body, "issues")
    return list(found[0]["resource"]["issue"]) if found else []


@_proposed(messages, "inactive_display_of")
def test_a_display_matching_an_inactive_description_is_a_warning(api: TestClient) -> None:
    body = _validate(api, "42463004", "Genus: Opisthorchis")
    assert _all(body, "result")[0]["valueBoolean"] is True
    [issue] = _issues(body)
    assert issue["severity"] == "warning"
    assert issue["details"]["text"] == (
        "'Genus: Opisthorchis' is no longer considered a correct display for code '42463004' "
        "(status = inactive). The correct display is one of \"Genus Opisthorchis\","
        "\"Genus Opisthorchis (organism)\",Opisthorchis,\"Opisthorchis species\".")
    body = _validate(api, "42463004", "Not a term of it")
    assert _all(body, "result")[0]["valueBoolean"] is False


@_proposed(messages, "invalid_code_reason")
def test_expression_reasons_and_notes_in_validate_code(api: TestClient) -> None:
    body = _validate(api, "367430006:{272741003=240280071}")
    texts = [i["details"]["text"] for i in _issues(body)]
    assert texts == [
        f"Unknown code '367430006:{{272741003=240280071}}' in the CodeSystem '{SCT}' version "
        f"'{VERSION}' (International Edition)",
        "Not a valid expression: Concept 240280071 not found"]
    body = _validate(api, "128241005:{363698007=181268008}")
    assert _all(body, "result")[0]["valueBoolean"] is True
    assert [i["details"]["coding"][0]["code"] for i in _issues(body)] == ["process-note"]


@_proposed(valueset_routes, "TOO_COSTLY_LIMIT_PARAMETER")
def test_the_limit_parameter_makes_an_expansion_too_costly(api: TestClient) -> None:
    vs = _vs(filters=[{"property": "concept", "op": "is-a", "value": "138875005"}])
    r = _expand(api, vs, {"name": "limit", "valueInteger": 1000})
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["code"] == "too-costly"
