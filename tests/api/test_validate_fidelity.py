"""$validate-code answers as the reference server gives them, where validators rely on them
(issue 14): stub code systems, display case, wildcard include versions, issue `location`.

Real data from ../shared/data: the basisprofil stubs (OPS, PZN, ASK, ATC, Alpha-ID), the
ICD-10-GM 2025 TXT release and the LOINC 2.78 core table; each test skips when it is absent."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.bfarm_txt import BfarmTxtLoader
from loaders.fhir_package import FhirPackageLoader
from loaders.loinc import LoincLoader
from termserver.ingest import load_path
from termserver.store import Store
from tests.helpers import code_system, shared, value_set

MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
OPS = "http://fhir.de/CodeSystem/bfarm/ops"
LOINC = "http://loinc.org"

#: every content=not-present stub of de.basisprofil.r4 1.5.4 a KDS example codes against
STUBS = {
    "ops": (OPS, "5-470.11"),
    "pzn": ("http://fhir.de/CodeSystem/ifa/pzn", "04324188"),
    "ask": ("http://fhir.de/CodeSystem/ask", "16779"),
    "atc": ("http://fhir.de/CodeSystem/bfarm/atc", "N02BE01"),
    "alpha-id": ("http://fhir.de/CodeSystem/bfarm/alpha-id", "I97525"),
}


def _param(body: dict[str, Any], name: str) -> Any:
    for p in body["parameter"]:
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value") or k == "resource")
    return None


def _issues(body: dict[str, Any]) -> list[dict[str, Any]]:
    oo = _param(body, "issues")
    return list(oo["issue"]) if oo else []


def _ids(body: dict[str, Any]) -> list[str | None]:
    return [next((e["valueString"] for e in i.get("extension", []) if e["url"] == MESSAGE_ID),
                 None) for i in _issues(body)]


def _post(client: TestClient, op: str, *params: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/fhir/{op}/$validate-code",
                    json={"resourceType": "Parameters", "parameter": list(params)})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _basisprofil(store: Store) -> None:
    load_path(store, FhirPackageLoader(),
              shared("fhir-packages/mii/de.basisprofil.r4-1.5.4.tgz"), LoadOptions())


# -- 1. content = not-present / example / fragment -------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("stub", sorted(STUBS))
def test_a_stub_code_system_cannot_validate_but_does_not_refuse(
        client: TestClient, store: Store, stub: str) -> None:
    """Only the basisprofil stub loaded: the system is known, its codes are not, so the code
    can be neither confirmed nor refused: result true with one warning, never
    Unknown_Code_in_Version (FHIRsmith: a code missing from non-complete content is not an
    error; tx-ecosystem IG: not-present content is not used to validate)."""
    _basisprofil(store)
    system, code = STUBS[stub]
    r = client.get("/fhir/CodeSystem/$validate-code", params={"system": system, "code": code})
    body = r.json()
    assert _param(body, "result") is True, body
    issues = _issues(body)
    assert [(i["severity"], i["code"]) for i in issues] == [("warning", "not-found")]
    assert "Unknown_Code_in_Version" not in _ids(body)
    assert "(mode = not-present)" in issues[0]["details"]["text"]
    assert _param(body, "message") == issues[0]["details"]["text"]


@pytest.mark.shared_data
def test_a_value_set_over_a_stub_decides_by_its_definition(client: TestClient,
                                                            store: Store) -> None:
    _basisprofil(store)
    coding = {"name": "coding", "valueCoding": {"system": OPS, "code": "5-470.11"}}
    whole = value_set("http://example.org/vs/ops-all", compose={"include": [{"system": OPS}]})
    body = _post(client, "ValueSet", coding, {"name": "valueSet", "resource": whole})
    assert _param(body, "result") is True
    assert [i["severity"] for i in _issues(body)] == ["warning"]
    listed = value_set("http://example.org/vs/ops-one", compose={"include": [
        {"system": OPS, "concept": [{"code": "5-470.11"}]}]})
    body = _post(client, "ValueSet", coding, {"name": "valueSet", "resource": listed})
    assert _param(body, "result") is True
    other = value_set("http://example.org/vs/ops-other", compose={"include": [
        {"system": OPS, "concept": [{"code": "1-100"}]}]})
    body = _post(client, "ValueSet", coding, {"name": "valueSet", "resource": other})
    assert _param(body, "result") is False
    assert "None_of_the_provided_codes_are_in_the_value_set_one" in _ids(body)


@pytest.mark.shared_data
def test_a_wildcard_include_matches_an_unversioned_stub(client: TestClient,
                                                        store: Store) -> None:
    """basisprofil's OPS ValueSet includes OPS `version: "*"`; only the unversioned stub is
    loaded. `*` matches it: the coding's unknown version 2020 is the only error, never an
    unknown version '*' (found by the MII validator replay)."""
    _basisprofil(store)
    coding = {"name": "coding", "valueCoding": {"system": OPS, "code": "5-470",
                                                "version": "2020"}}
    wild = value_set("http://example.org/vs/ops-wild",
                     compose={"include": [{"system": OPS, "version": "*"}]})
    body = _post(client, "ValueSet", coding, {"name": "valueSet", "resource": wild})
    texts = [i["details"]["text"] for i in _issues(body)]
    assert not any("version '*'" in t for t in texts), texts
    assert any("version '2020'" in t for t in texts), texts
    assert [p["valueCanonical"] for p in body["parameter"]
            if p["name"] == "x-caused-by-unknown-system"] == [f"{OPS}|2020"]


def test_a_fragment_code_outside_an_enumerated_value_set_is_not_a_member(
        client: TestClient) -> None:
    """A code missing from a fragment is no error (UNKNOWN_CODE_IN_FRAGMENT, a warning), but
    the value set still decides membership: here it lists other codes only."""
    frag = code_system("http://example.org/cs/frag", codes=("a", "b"), content="fragment")
    listed = value_set("http://example.org/vs/frag-a", compose={"include": [
        {"system": "http://example.org/cs/frag", "concept": [{"code": "a"}]}]})
    whole = value_set("http://example.org/vs/frag-all", compose={"include": [
        {"system": "http://example.org/cs/frag"}]})
    coding = {"name": "coding", "valueCoding": {"system": "http://example.org/cs/frag",
                                                "code": "zz"}}
    tx = {"name": "tx-resource", "resource": frag}
    body = _post(client, "ValueSet", coding, tx, {"name": "valueSet", "resource": listed})
    assert _param(body, "result") is False
    assert set(_ids(body)) == {"UNKNOWN_CODE_IN_FRAGMENT",
                               "None_of_the_provided_codes_are_in_the_value_set_one"}
    body = _post(client, "ValueSet", coding, tx, {"name": "valueSet", "resource": whole})
    assert _param(body, "result") is True and _ids(body) == ["UNKNOWN_CODE_IN_FRAGMENT"]


def test_example_content_is_never_taken_as_proof(client: TestClient) -> None:
    example = code_system("http://example.org/cs/ex", codes=("a",), content="example")
    tx = {"name": "tx-resource", "resource": example}
    for code in ("a", "zz"):
        body = _post(client, "CodeSystem", tx, {"name": "coding", "valueCoding": {
            "system": "http://example.org/cs/ex", "code": code}})
        assert _param(body, "result") is True
        assert [(i["severity"], i["details"]["text"].endswith("(mode = example)"))
                for i in _issues(body)] == [("warning", True)]


# -- 3. display compared without case --------------------------------------------------------


def test_a_display_differing_only_in_case_is_accepted(client: TestClient) -> None:
    cs = code_system("http://example.org/cs/disp", codes=())
    cs["concept"] = [{"code": "rr", "display": "Respiratory rate"}]
    tx = {"name": "tx-resource", "resource": cs}

    def check(display: str) -> dict[str, Any]:
        return _post(client, "CodeSystem", tx, {"name": "coding", "valueCoding": {
            "system": "http://example.org/cs/disp", "code": "rr", "display": display}})

    body = check("Respiratory Rate")
    assert _param(body, "result") is True and _issues(body) == []
    body = check("Respiratory  rate")  # whitespace is still a wrong display
    assert _param(body, "result") is False
    assert _ids(body) == ["Display_Name_WS_for__should_be_one_of__instead_of"]
    body = check("Breathing rate")
    assert _param(body, "result") is False
    assert _ids(body) == ["Display_Name_for__should_be_one_of__instead_of"]


@pytest.mark.shared_data
def test_real_loinc_display_case(client: TestClient, store: Store, tmp_path: Path) -> None:
    """9279-1 as the LOINC 2.78 core table has it (its header and that row, taken from the
    release file at test time: loading all 104,054 rows would only add time)."""
    with gzip.open(shared("loinc/LoincTableCore_2.78.csv.gz"), "rt", encoding="utf-8") as f:
        rows = [line for i, line in enumerate(f) if i == 0 or line.startswith('"9279-1"')]
    assert len(rows) == 2
    table = tmp_path / "LoincTableCore.csv"
    table.write_text("".join(rows), encoding="utf-8")
    load_path(store, LoincLoader(), table, LoadOptions(version="2.78"))
    r = client.get("/fhir/CodeSystem/$validate-code", params={
        "system": LOINC, "code": "9279-1", "display": "Respiratory Rate"})
    body = r.json()
    assert _param(body, "result") is True and _issues(body) == []
    assert _param(body, "display") == "Respiratory rate"


# -- 4. a wildcard include version is a pattern ----------------------------------------------


def _wildcard_case(client: TestClient, include_version: str,
                   tx: list[dict[str, Any]]) -> dict[str, Any]:
    vs = value_set("http://example.org/vs/icd-any", compose={"include": [
        {"system": ICD, "version": include_version}]})
    coding = {"name": "coding", "valueCoding": {"system": ICD, "version": "2020",
                                                "code": "A54.4"}}
    return _post(client, "ValueSet", coding, {"name": "valueSet", "resource": vs}, *tx)


@pytest.mark.parametrize("pattern", ["*", "x"])
def test_a_wildcard_include_admits_an_unloaded_coding_version(client: TestClient,
                                                               pattern: str) -> None:
    """The coding names version 2020, which is not loaded: that (and only that) is reported;
    `*` is a pattern the coding's version satisfies, not a version that differs from it."""
    icd = code_system(ICD, "2025", codes=("A54.4",))
    body = _wildcard_case(client, pattern, [{"name": "tx-resource", "resource": icd}])
    assert _ids(body) == ["UNKNOWN_CODESYSTEM_VERSION"]
    assert _param(body, "result") is False
    assert _param(body, "x-caused-by-unknown-system") == f"{ICD}|2020"
    assert _param(body, "version") == "2025"


def test_a_literal_include_version_still_differs(client: TestClient) -> None:
    icd = code_system(ICD, "2025", codes=("A54.4",))
    body = _wildcard_case(client, "2025", [{"name": "tx-resource", "resource": icd}])
    assert set(_ids(body)) == {"UNKNOWN_CODESYSTEM_VERSION", "VALUESET_VALUE_MISMATCH"}


@pytest.mark.shared_data
def test_real_icd10gm_wildcard_include(client: TestClient, store: Store) -> None:
    load_path(store, BfarmTxtLoader(),
              shared("icd10gm/bfarm-metadaten-txt/icd10gm2025syst_kodes.txt.gz"), LoadOptions())
    body = _wildcard_case(client, "*", [])
    assert _ids(body) == ["UNKNOWN_CODESYSTEM_VERSION"]
    assert "'*'" not in (_param(body, "message") or "")
    assert (_param(body, "version"), _param(body, "display")) == (
        "2025", "Gonokokkeninfektion des Muskel-Skelett-Systems")


# -- issue shape: expression, never location --------------------------------------------------


def test_issues_carry_expression_and_no_location(client: TestClient) -> None:
    """`location` is deprecated (R5: use expression); the reference server never sends it,
    and the tx-ecosystem expected files that do not list it reject it."""
    cs = code_system("http://example.org/cs/loc", codes=("a",))
    tx = {"name": "tx-resource", "resource": cs}
    vs = value_set("http://example.org/vs/loc", compose={"include": [
        {"system": "http://example.org/cs/loc"}]})
    for code, ids in (("zz", {"Unknown_Code_in_Version",
                              "None_of_the_provided_codes_are_in_the_value_set_one"}),
                      ("a", {"Display_Name_for__should_be_one_of__instead_of"})):
        body = _post(client, "ValueSet", tx, {"name": "valueSet", "resource": vs},
                     {"name": "coding", "valueCoding": {"system": "http://example.org/cs/loc",
                                                        "code": code, "display": "Zed"}})
        assert set(_ids(body)) == ids
        assert all("location" not in i and i["expression"] for i in _issues(body))
