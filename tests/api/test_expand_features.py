"""$expand details from the tx-ecosystem IG: hierarchy, languages, supplements, properties,
version rules, versionsMatch, and the errors with their message ids."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import code_system, value_set

CS = "http://example.org/cs/x"
SUPP = "http://example.org/cs/x-supp"
SD = "http://hl7.org/fhir/StructureDefinition/"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _cs(version: str = "1.0", **extra: Any) -> dict[str, Any]:
    cs = code_system(CS, version, codes=(), language="en", **extra)
    cs["property"] = [{"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status",
                       "type": "code"},
                      {"code": "prop", "uri": "http://example.org/prop", "type": "code"}]
    cs["concept"] = [
        {"code": "a", "display": "Alpha", "definition": "The first",
         "designation": [{"language": "de", "value": "Alfa"},
                         {"language": "es", "value": "Alfa-es"}],
         "extension": [{"url": SD + "codesystem-conceptOrder", "valueInteger": 2}],
         "property": [{"code": "prop", "valueCode": "p1"}],
         "concept": [{"code": "a1", "display": "Alpha one",
                      "property": [{"code": "status", "valueCode": "retired"}],
                      "concept": [{"code": "a1x", "display": "Alpha one x"}]}]},
        {"code": "b", "display": "Beta"}]
    return cs


def _expand(client: TestClient, vs: dict[str, Any] | str, *resources: dict[str, Any],
            headers: dict[str, str] | None = None, **params: Any) -> Any:
    """POST $expand of `vs` (inline, or a url among `resources`) with tx-resources."""
    first = {"name": "url", "valueUri": vs} if isinstance(vs, str) else \
        {"name": "valueSet", "resource": vs}
    body: dict[str, Any] = {"resourceType": "Parameters", "parameter": [
        first, *({"name": "tx-resource", "resource": r} for r in resources)]}
    for name, value in params.items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            key = {bool: "valueBoolean", int: "valueInteger"}.get(type(v), "valueString")
            body["parameter"].append({"name": name, key: v})
    return client.post("/fhir/ValueSet/$expand", json=body, headers={**R5, **(headers or {})})


def _all(vs: dict[str, Any]) -> dict[str, Any]:
    return value_set("http://example.org/vs/all", compose={"include": [{"system": CS}]})


def _params(body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(p["name"], next(v for k, v in p.items() if k.startswith("value")))
            for p in body["expansion"].get("parameter", [])]


def test_hierarchy_kept_and_inactive_nodes_collapse(client: TestClient) -> None:
    got = _expand(client, _all({}), _cs()).json()
    top = got["expansion"]["contains"]
    assert [c["code"] for c in top] == ["a", "b"]
    a1 = top[0]["contains"][0]
    assert a1["code"] == "a1" and a1["inactive"] is True
    assert a1["property"] == [{"code": "status", "valueCode": "retired"}]
    assert a1["contains"][0]["code"] == "a1x"
    assert got["expansion"]["total"] == 4 and "offset" not in got["expansion"]
    assert {"code": "status", "uri": "http://hl7.org/fhir/concept-properties#status"} in \
        got["expansion"]["property"]
    active = _expand(client, _all({}), _cs(), activeOnly=True).json()["expansion"]
    assert [c["code"] for c in active["contains"][0]["contains"]] == ["a1x"]  # promoted
    flat = _expand(client, _all({}), _cs(), excludeNested=True, count=2, offset=1).json()
    assert [c["code"] for c in flat["expansion"]["contains"]] == ["a1", "a1x"]
    assert flat["expansion"]["offset"] == 1 and flat["expansion"]["total"] == 4


def test_display_language_and_designations(client: TestClient) -> None:
    got = _expand(client, _all({}), _cs(), displayLanguage="de", includeDesignations=True,
                  excludeNested=True).json()
    a = got["expansion"]["contains"][0]
    assert a["display"] == "Alfa"
    assert a["designation"][0] == {
        "language": "en", "value": "Alpha",
        "use": {"system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                "code": "preferredForLanguage", "display": "Preferred For Language"}}
    assert [d["language"] for d in a["designation"]] == ["en", "es"]  # de became the display
    assert ("displayLanguage", "de") in _params(got)
    hard = _expand(client, _all({}), _cs(), displayLanguage="de, *; q=0",
                   includeDesignations=True, excludeNested=True).json()
    b = hard["expansion"]["contains"][3]
    assert b["code"] == "b" and "display" not in b
    header = _expand(client, _all({}), _cs(), headers={"Accept-Language": "es"},
                     excludeNested=True).json()
    assert header["expansion"]["contains"][0]["display"] == "Alfa-es"
    only_es = _expand(client, _all({}), _cs(), includeDesignations=True, excludeNested=True,
                      designation="urn:ietf:bcp:47|es").json()
    assert only_es["expansion"]["contains"][0]["designation"] == [
        {"language": "es", "value": "Alfa-es"}]
    plain = _expand(client, _all({}), _cs(), excludeNested=True).json()
    assert "displayLanguage" not in dict(_params(plain))


def test_supplement_properties_and_extensions(client: TestClient) -> None:
    supp = code_system(SUPP, "2", codes=(), content="supplement", supplements=CS)
    supp["concept"] = [{"code": "a", "designation": [{"language": "nl", "value": "Alfa-nl"}],
                        "extension": [{"url": SD + "codesystem-label", "valueString": "A."}]}]
    vs = value_set("http://example.org/vs/enum", extension=[
        {"url": SD + "valueset-supplement", "valueCanonical": f"{SUPP}|2"}],
        compose={"include": [{"system": CS, "concept": [
            {"code": "a", "extension": [{"url": SD + "valueset-deprecated", "valueBoolean": True},
                                        {"url": SD + "itemWeight", "valueDecimal": 1.5}]}]}]})
    got = _expand(client, vs, _cs(), supp, includeDesignations=True,
                  property=["prop", "definition"]).json()
    exp = got["expansion"]
    a = exp["contains"][0]
    props = {p["code"]: next(v for k, v in p.items() if k.startswith("value"))
             for p in a["property"]}
    assert props == {"label": "A.", "order": 2, "weight": 1.5, "prop": "p1",
                     "definition": "The first"}
    assert a["extension"] == [{"url": SD + "valueset-deprecated", "valueBoolean": True}]
    assert "nl" in [d.get("language") for d in a["designation"]]
    assert ("used-supplement", f"{SUPP}|2") in _params(got)
    assert {"code": "prop", "uri": "http://example.org/prop"} in exp["property"]
    assert got["extension"] == vs["extension"]  # an enumerated value set keeps its extensions
    missing = _expand(client, _all({}), _cs(), useSupplement="http://example.org/none")
    assert missing.status_code == 404
    issue = missing.json()["issue"][0]
    assert issue["details"]["text"] == "Required supplement not found: http://example.org/none"
    assert issue["extension"][0]["valueString"] == "VALUESET_SUPPLEMENT_MISSING"


def test_r4_properties_travel_as_extensions(client: TestClient) -> None:
    r4 = {"Accept": "application/fhir+json; fhirVersion=4.0"}
    got = _expand(client, _all({}), _cs(), headers=r4, excludeNested=True).json()
    exp = got["expansion"]
    assert "property" not in exp
    assert exp["extension"][0]["url"].endswith("ValueSet.expansion.property")
    a1 = exp["contains"][1]
    assert "property" not in a1
    assert a1["extension"][0]["extension"] == [{"url": "code", "valueCode": "status"},
                                               {"url": "value", "valueCode": "retired"}]


def test_version_rules_and_several_versions(client: TestClient) -> None:
    v1, v2 = _cs("1.0"), _cs("2.0")
    v2["concept"].append({"code": "c", "display": "Gamma"})
    unversioned = value_set("http://example.org/vs/n", compose={"include": [
        {"system": CS, "concept": [{"code": "a"}, {"code": "c"}]}]})
    latest = _expand(client, unversioned, v1, v2).json()
    assert [c["code"] for c in latest["expansion"]["contains"]] == ["a", "c"]
    forced = _expand(client, unversioned, v1, v2, **{"force-system-version": f"{CS}|1.x"})
    assert ("force-system-version", f"{CS}|1.x") in _params(forced.json())
    assert [c["code"] for c in forced.json()["expansion"]["contains"]] == ["a"]
    checked = _expand(client, unversioned, v1, v2, **{"check-system-version": f"{CS}|1.x"})
    assert ("check-system-version", f"{CS}|1.x") in _params(checked.json())
    pinned = value_set("http://example.org/vs/p", compose={"include": [
        {"system": CS, "version": "2.0", "concept": [{"code": "a"}]}]})
    refused = _expand(client, pinned, v1, v2, **{"check-system-version": f"{CS}|1.x"})
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["code"] == "exception"
    both = value_set("http://example.org/vs/b", compose={"include": [
        {"system": CS, "version": "1.0", "concept": [{"code": "a"}]},
        {"system": CS, "version": "2.0", "concept": [{"code": "a"}]}]})
    got = _expand(client, both, v1, v2).json()
    assert [(c["code"], c["version"]) for c in got["expansion"]["contains"]] == [
        ("a", "2.0"), ("a", "1.0")]
    both["compose"]["extension"] = [{"url": SD + "valueset-expansion-parameter", "extension": [
        {"url": "name", "valueCode": "versionsMatch"}, {"url": "value", "valueString": "true"}]}]
    merged = _expand(client, both, v1, v2).json()
    assert [(c["code"], c["version"]) for c in merged["expansion"]["contains"]] == [("a", "2.0")]
    assert ("versionsMatch", True) in _params(merged)
    unknown = value_set("http://example.org/vs/u", compose={"include": [
        {"system": CS, "version": "9"}]})
    err = _expand(client, unknown, v1, v2).json()["issue"][0]
    assert err["details"]["text"].endswith("Valid versions: 1.0 or 2.0")


def test_expand_errors(client: TestClient) -> None:
    one = value_set("http://example.org/vs/c1", compose={"include": [
        {"valueSet": ["http://example.org/vs/c2"]}]})
    two = value_set("http://example.org/vs/c2", compose={"include": [
        {"valueSet": ["http://example.org/vs/c1"]}]})
    circle = _expand(client, "http://example.org/vs/c1", one, two)
    assert circle.status_code == 422
    issue = circle.json()["issue"][0]
    assert issue["code"] == "processing"
    assert issue["details"]["text"].startswith(
        "Found a circularity pointing to http://example.org/vs/c1|1.0 processing ValueSet "
        "with pathway [http://example.org/vs/c1|1.0, http://example.org/vs/c2|1.0]")
    broken = value_set("http://example.org/vs/f", compose={"include": [
        {"system": CS, "filter": [{"property": "concept", "op": "is-a"}]}]})
    err = _expand(client, broken, _cs())
    assert err.status_code == 400
    assert err.json()["issue"][0]["expression"] == ["ValueSet.compose.include[0].filter[0]"]
    costly = _expand(client, _all({}), _cs(), headers={"X-TOO-COSTLY-THRESHOLD": "2"})
    assert costly.status_code == 422
    assert costly.json()["issue"][0]["details"]["text"] == (
        "The value set 'http://example.org/vs/all|1.0' expansion has too many codes to "
        "produce (>2)")
    assert _expand(client, _all({}), _cs(), headers={"X-TOO-COSTLY-THRESHOLD": "2"},
                   count=1).status_code == 200
    pinned = value_set("http://example.org/vs/i", compose={"include": [
        {"valueSet": ["http://example.org/vs/missing|3"]}]})
    assert _expand(client, pinned).json()["issue"][0]["details"]["text"] == (
        "Unable to find included value set 'http://example.org/vs/missing' version '3'")
