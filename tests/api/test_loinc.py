"""LOINC over HTTP: a loaded release answers $lookup (German displays, answer lists), $expand
and $validate-code with the LOINC filters, the implicit value sets http://loinc.org/vs[/LL…],
and a linguistic variant loaded on its own onto the loaded version (atomically)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from loaders.loinc_variant import LoincVariantLoader
from termserver.errors import LoadError, NotFound
from termserver.ingest import load_path
from termserver.store import Store
from tests.helpers import parameters_by_name, shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "loinc"
LOINC = "http://loinc.org"


def _load_release(store: Store) -> None:
    load_path(store, LoincLoader(), FIXTURES / "release", LoadOptions(version="2.79"))


def _lookup(client: TestClient, code: str, **extra: str | list[str]) -> dict[str, Any]:
    r = client.get("/fhir/CodeSystem/$lookup", params={"system": LOINC, "code": code, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _expand(client: TestClient, filters: list[dict[str, str]],
            **extra: Any) -> dict[str, Any]:
    vs = {"resourceType": "ValueSet", "status": "active",
          "compose": {"include": [{"system": LOINC, "filter": filters}]}}
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": vs},
        *({"name": k, "valueString": v} for k, v in extra.items())]}
    r = client.post("/fhir/ValueSet/$expand", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _codes(expansion: dict[str, Any]) -> list[str]:
    """Every code of the expansion, nested ones (an is-a expansion is a tree) included."""
    def walk(contains: list[dict[str, Any]]) -> list[str]:
        return [code for c in contains for code in [c["code"], *walk(c.get("contains", []))]]
    return walk(expansion["expansion"].get("contains", []))


# -- $lookup -------------------------------------------------------------------------------------


def test_lookup_german_display_and_properties(client: TestClient, store: Store) -> None:
    _load_release(store)
    out = parameters_by_name(_lookup(client, "6298-4", displayLanguage="de-DE"))
    assert out["display"][0]["valueString"] == "Kalium [Mol/Volumen] in Blut"
    assert out["version"][0]["valueString"] == "2.79"
    english = parameters_by_name(_lookup(client, "6298-4"))
    assert english["display"][0]["valueString"] == "Potassium [Moles/volume] in Blood"
    props = {p["part"][0]["valueCode"]: p["part"][1] for p in english["property"]}
    assert props["COMPONENT"]["valueCoding"]["display"] == "Potassium"
    assert props["STATUS"]["valueString"] == "ACTIVE"


def test_lookup_answer_list_property(client: TestClient, store: Store) -> None:
    _load_release(store)
    out = parameters_by_name(_lookup(client, "101421-6", property="answer-list"))
    values = [p["part"][1]["valueCoding"]["code"] for p in out["property"]
              if p["part"][0]["valueCode"] == "answer-list"]
    assert values == ["LL744-4"]


# -- filters in $expand and $validate-code --------------------------------------------------------


@pytest.mark.parametrize(("filters", "expected"), [
    ([{"property": "COMPONENT", "op": "=", "value": "Potassium"}],
     {"6298-4", "75940-7", "22760-3", "5927-9"}),
    ([{"property": "COMPONENT", "op": "=", "value": "Potassium"},
      {"property": "SYSTEM", "op": "=", "value": "Bld"}], {"6298-4", "75940-7"}),
    ([{"property": "PROPERTY", "op": "regex", "value": "MCnc|SCnc"},
      {"property": "STATUS", "op": "=", "value": "ACTIVE"}], {"6298-4", "75940-7"}),
    ([{"property": "STATUS", "op": "=", "value": "DISCOURAGED"}], {"22760-3"}),
    ([{"property": "ORDER_OBS", "op": "regex", "value": "Order|Both"},
      {"property": "CLASS", "op": "=", "value": "MICRO"}], {"101421-6"}),
    ([{"property": "CLASSTYPE", "op": "=", "value": "2"}], {"62580-6"}),
    ([{"property": "SCALE_TYP", "op": "=", "value": "Ord"},
      {"property": "METHOD_TYP", "op": "regex", "value": "Probe.*"}], {"101421-6"}),
    ([{"property": "LIST", "op": "=", "value": "LL744-4"}], {"LA11882-0", "LA11883-8"}),
])
def test_expand_with_loinc_filters(client: TestClient, store: Store,
                                   filters: list[dict[str, str]], expected: set[str]) -> None:
    _load_release(store)
    assert set(_codes(_expand(client, filters))) == expected


def test_axis_filter_by_part_code_and_german_expansion(client: TestClient, store: Store) -> None:
    _load_release(store)
    part = parameters_by_name(_lookup(client, "6298-4", property="COMPONENT"))["property"][0]
    code = part["part"][1]["valueCoding"]["code"]
    out = _expand(client, [{"property": "COMPONENT", "op": "=", "value": code},
                           {"property": "SYSTEM", "op": "=", "value": "Bld"}],
                  displayLanguage="de")
    shown = {c["code"]: c.get("display") for c in out["expansion"]["contains"]}
    assert shown == {"6298-4": "Kalium [Mol/Volumen] in Blut",
                     "75940-7": "Kalium [Masse/Volumen] in Blut"}


def test_hierarchy_is_a_filter(client: TestClient, store: Store) -> None:
    _load_release(store)
    parents = [p["part"][1]["valueCode"] for p in
               parameters_by_name(_lookup(client, "6298-4", property="parent"))["property"]]
    assert parents and all(p.startswith("LP") for p in parents)
    codes = _codes(_expand(client, [{"property": "concept", "op": "is-a", "value": parents[0]}]))
    assert "6298-4" in codes and "101421-6" not in codes


def test_validate_code_with_filters(client: TestClient, store: Store) -> None:
    _load_release(store)
    vs = {"resourceType": "ValueSet", "url": "http://example.org/vs/potassium-blood",
          "status": "active", "compose": {"include": [{"system": LOINC, "filter": [
              {"property": "COMPONENT", "op": "=", "value": "Potassium"},
              {"property": "SYSTEM", "op": "regex", "value": "Bld|Ser/Plas"}]}]}}

    def validate(code: str) -> bool:
        r = client.post("/fhir/ValueSet/$validate-code", json={
            "resourceType": "Parameters", "parameter": [
                {"name": "valueSet", "resource": vs},
                {"name": "coding", "valueCoding": {"system": LOINC, "code": code}}]})
        assert r.status_code == 200, r.text
        return bool(parameters_by_name(r.json())["result"][0]["valueBoolean"])

    assert validate("6298-4") and validate("22760-3")
    assert not validate("101421-6") and not validate("5927-9")


def test_deprecated_and_discouraged_status(client: TestClient, store: Store) -> None:
    _load_release(store)
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": LOINC, "code": "5927-9"})
    out = parameters_by_name(r.json())
    assert out["result"][0]["valueBoolean"] is True
    assert out["inactive"][0]["valueBoolean"] is True
    r = client.get("/fhir/CodeSystem/$validate-code", params={"url": LOINC, "code": "22760-3"})
    assert "deprecated" in parameters_by_name(r.json())["message"][0]["valueString"]


# -- implicit value sets -------------------------------------------------------------------------


def test_answer_list_value_set(client: TestClient, store: Store) -> None:
    _load_release(store)
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{LOINC}/vs/LL744-4"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["url"] == f"{LOINC}/vs/LL744-4" and body["title"] == "Detected|Not det"
    assert [(c["code"], c["display"]) for c in body["expansion"]["contains"]] == \
        [("LA11882-0", "Detected"), ("LA11883-8", "Not detected")]
    ok = client.get("/fhir/ValueSet/$validate-code", params={
        "url": f"{LOINC}/vs/LL744-4", "system": LOINC, "code": "LA11883-8"})
    assert parameters_by_name(ok.json())["result"][0]["valueBoolean"] is True
    bad = client.get("/fhir/ValueSet/$validate-code", params={
        "url": f"{LOINC}/vs/LL744-4", "system": LOINC, "code": "6298-4"})
    assert parameters_by_name(bad.json())["result"][0]["valueBoolean"] is False
    missing = client.get("/fhir/ValueSet/$expand", params={"url": f"{LOINC}/vs/LL1-1"})
    assert missing.status_code == 404


def test_all_of_loinc_value_set(client: TestClient, store: Store) -> None:
    _load_release(store)
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{LOINC}/vs", "count": "500"})
    assert r.status_code == 200, r.text
    codes = {c["code"] for c in r.json()["expansion"]["contains"]}
    assert {"6298-4", "5927-9", "LL744-4", "LA11882-0"} <= codes
    assert r.json()["expansion"]["total"] == store.resolve_code_system(LOINC).concept_count  # type: ignore[union-attr]


def test_no_loinc_no_implicit_value_set(client: TestClient) -> None:
    r = client.get("/fhir/ValueSet/$expand", params={"url": f"{LOINC}/vs"})
    assert r.status_code == 404


# -- a linguistic variant loaded on its own ------------------------------------------------------


def test_variant_loaded_onto_the_core_table(client: TestClient, store: Store) -> None:
    load_path(store, LoincLoader(), FIXTURES / "LoincTableCore_2.78.csv", LoadOptions())
    before = client.get("/fhir/CodeSystem/loinc-2.78").json()["meta"]["versionId"]
    english = parameters_by_name(_lookup(client, "2160-0", displayLanguage="de-DE"))
    assert english["display"][0]["valueString"] == "Creatinine [Mass/volume] in Serum or Plasma"
    for _ in range(2):  # loading again replaces, never duplicates
        report = load_path(store, LoincVariantLoader(),
                           FIXTURES / "deDE15LinguisticVariant.csv", LoadOptions())
        assert report.written == {"CodeSystem updated": 1}
    out = parameters_by_name(_lookup(client, "2160-0", displayLanguage="de-DE"))
    assert out["display"][0]["valueString"] == "Creatinin [Masse/Volumen] in Serum oder Plasma"
    german = [d for d in out["designation"] if d["part"][0].get("valueCode") == "de-DE"]
    assert len(german) == 1
    after = client.get("/fhir/CodeSystem/loinc-2.78").json()["meta"]["versionId"]
    assert int(after) == int(before) + 2


def test_a_failed_variant_load_keeps_the_previous_state(client: TestClient, store: Store,
                                                         tmp_path: Path) -> None:
    load_path(store, LoincLoader(), FIXTURES / "LoincTableCore_2.78.csv", LoadOptions())
    load_path(store, LoincVariantLoader(), FIXTURES / "deDE15LinguisticVariant.csv",
              LoadOptions())
    bad = tmp_path / "deDE15LinguisticVariant.csv"
    lines = (FIXTURES / "deDE15LinguisticVariant.csv").read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace("Creatinin", "Kreatinin"),
                              '"6298-4","Kalium"']) + "\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"deDE15LinguisticVariant.csv:3: 2 columns"):
        load_path(store, LoincVariantLoader(), bad, LoadOptions())
    out = parameters_by_name(_lookup(client, "2160-0", displayLanguage="de-DE"))
    assert out["display"][0]["valueString"] == "Creatinin [Masse/Volumen] in Serum oder Plasma"


def test_a_variant_needs_loinc_loaded(store: Store) -> None:
    with pytest.raises(NotFound, match="http://loinc.org is not loaded"):
        load_path(store, LoincVariantLoader(), FIXTURES / "deDE15LinguisticVariant.csv",
                  LoadOptions())


# -- acceptance with the real release files -----------------------------------------------------


@pytest.mark.shared_data
def test_real_core_table_with_the_german_variant(client: TestClient, store: Store) -> None:
    core = shared("loinc/LoincTableCore_2.78.csv.gz")
    german = shared("loinc/loinc-2.74-accessory/LinguisticVariants/deDE15LinguisticVariant.csv.gz")
    load_path(store, LoincLoader(), core, LoadOptions())
    cs = store.resolve_code_system(LOINC)
    assert cs is not None and (cs.version, cs.concept_count) == ("2.78", 104_054)
    load_path(store, LoincVariantLoader(), german, LoadOptions())
    out = parameters_by_name(_lookup(client, "2160-0", displayLanguage="de-DE"))
    assert out["display"][0]["valueString"] == "Creatinin [Masse/Volumen] in Serum oder Plasma"
