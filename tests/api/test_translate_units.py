"""Unit-aware lab $translate (termserver.service.units): a local lab code's unit, given as a
`dependency` (or a bulk line's `unit`), chooses unit-dependent map targets in UCUM form, is
checked against the target's LOINC PROPERTY (real LOINC 2.78 core rows, tests/fixtures/loinc),
comes back in UCUM form and with the factor to the target's unit; on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.api.app import create_app
from termserver.ingest import load_path
from termserver.service import units
from termserver.settings import Settings
from termserver.store import Store
from tests.api.test_bulk import NDJSON, with_bulk
from tests.api.test_translate_fastpath import with_fast_path

CORE = Path(__file__).resolve().parent.parent / "fixtures" / "loinc" / "LoincTableCore_2.78.csv"
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
LAB, MAP = "http://example.org/cs/lab", "http://example.org/cm/lab-loinc"
R5 = {"Accept": "application/fhir+json; fhirVersion=5.0"}


def _map() -> dict[str, Any]:
    """K: potassium, to the mass (22760-3, Ser/Plas) or the substance term (6298-4, Bld) by
    its unit; K-ANY: potassium without a unit rule, to 6298-4 (SCnc) in mmol/L."""
    return {"resourceType": "ConceptMap", "id": "lab-loinc", "url": MAP, "status": "active",
            "group": [{"source": LAB, "target": LOINC, "element": [
                {"code": "K", "target": [
                    {"code": "22760-3", "relationship": "equivalent",
                     "dependsOn": [{"attribute": "unit", "valueString": "mg/dL"}],
                     "product": [{"attribute": "unit",
                                  "valueCoding": {"system": UCUM, "code": "mg/L"}}]},
                    {"code": "6298-4", "relationship": "equivalent",
                     "dependsOn": [{"attribute": "unit", "valueString": "mmol/L"}]}]},
                {"code": "K-ANY", "target": [
                    {"code": "6298-4", "relationship": "equivalent",
                     "product": [{"attribute": "unit",
                                  "valueCoding": {"system": UCUM, "code": "mmol/L"}}]}]}]}]}


@pytest.fixture
def client(settings: Settings, store: Store) -> Iterator[TestClient]:
    load_path(store, LoincLoader(), CORE, LoadOptions(version="2.78"))
    with TestClient(with_bulk(create_app(settings, store))) as c:
        assert c.put("/fhir/ConceptMap/lab-loinc", json=_map()).status_code == 201
        yield c


def _translate(client: TestClient, code: str, unit: Any) -> dict[str, Any]:
    dependency: list[dict[str, Any]] = [{"name": "attribute", "valueUri": "unit"}]
    dependency.append({"name": "value", "valueCoding": {"system": UCUM, "code": unit}}
                      if isinstance(unit, str) else unit)
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": MAP}, {"name": "sourceCode", "valueCode": code},
        {"name": "sourceSystem", "valueUri": LAB},
        {"name": "dependency", "part": dependency}]}
    r = client.post("/fhir/ConceptMap/$translate", json=body, headers=R5)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _matches(out: dict[str, Any]) -> list[tuple[str, dict[str, list[Any]]]]:
    """(target code, {unit property: values}) of each match."""
    found = []
    for m in (x for x in out["parameter"] if x["name"] == "match"):
        code = next(p["valueCoding"]["code"] for p in m["part"] if p["name"] == "concept")
        props: dict[str, list[Any]] = {}
        for p in (p for p in m["part"] if p["name"] == "property"):
            uri, value = p["part"][0]["valueUri"], p["part"][1]
            props.setdefault(uri, []).append(next(v for k, v in value.items()
                                                  if k.startswith("value")))
        found.append((code, props))
    return found


def _message(out: dict[str, Any]) -> str:
    return next((p["valueString"] for p in out["parameter"] if p["name"] == "message"), "")


def test_unit_chooses_the_target_in_ucum_form_with_factor(client: TestClient) -> None:
    # mg/dl (lower-case litre) is the map's mg/dL: only the mass-concentration target
    out = _translate(client, "K", "mg/dl")
    ((code, props),) = _matches(out)
    assert code == "22760-3"
    assert props["unit-ucum"] == [{"system": UCUM, "code": "mg/dL"}]
    assert props["unit-target"] == [{"system": UCUM, "code": "mg/L"}]
    assert props["unit-factor"] == [10.0]  # 1 mg/dL = 10 mg/L
    assert "unit-warning" not in props  # MCnc takes a mass concentration
    assert "'mg/dl' is read as the UCUM unit 'mg/dL'" in _message(out)
    # written in capitals, as a valueString: the substance target
    ((code, props),) = _matches(_translate(client, "K", {"name": "value",
                                                         "valueString": "MMOL/L"}))
    assert code == "6298-4" and props["unit-ucum"] == [{"system": UCUM, "code": "mmol/L"}]
    assert "unit-warning" not in props


def test_unit_that_does_not_fit_the_property_is_said(client: TestClient) -> None:
    out = _translate(client, "K-ANY", "mg/dL")  # mass unit, SCnc target
    ((code, props),) = _matches(out)
    assert code == "6298-4"
    (warning, conversion) = props["unit-warning"]
    assert "mass concentration" in warning and "'SCnc'" in warning
    assert "molar mass" in conversion and "unit-factor" not in props
    assert "does not fit the PROPERTY 'SCnc'" in _message(out)
    # the same dimension converts: µmol/L → mmol/L
    ((_, props),) = _matches(_translate(client, "K-ANY", "umol/L"))
    assert "unit-warning" not in props and props["unit-factor"] == [0.001]


def test_unknown_unit_is_said_and_compared_as_given(client: TestClient) -> None:
    out = _translate(client, "K-ANY", "furlongs/fortnight")
    ((code, props),) = _matches(out)
    assert code == "6298-4"
    assert props["unit-warning"] == ["'furlongs/fortnight' is not valid UCUM"]
    assert "not valid UCUM" in _message(out) and "unknown" in _message(out)
    # a unit-dependent element: no target depends on this unit
    assert _matches(_translate(client, "K", "furlongs")) == []


def test_without_unit_every_target_and_no_unit_parts(client: TestClient) -> None:
    r = client.get("/fhir/ConceptMap/$translate",
                   params={"url": MAP, "code": "K", "system": LAB}, headers=R5)
    assert [(c, p) for c, p in _matches(r.json())] == [("22760-3", {}), ("6298-4", {})]


def test_translate_bulk_with_unit_lines(client: TestClient) -> None:
    lines = [{"id": 1, "code": "K", "unit": "mg/dl"}, {"id": 2, "code": "K-ANY", "unit": "mg/dL"},
             {"id": 3, "code": "K-ANY", "unit": "nonsense"}, {"id": 4, "code": "K"}]
    body = "\n".join(json.dumps(x) for x in lines) + "\n"
    r = client.post("/fhir/$translate-bulk", params={"conceptmap": MAP, "system": LAB},
                    content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [x["id"] for x in out] == [1, 2, 3, 4]
    (m,) = out[0]["matches"]
    assert m["code"] == "22760-3"
    assert m["unit"] == {"ucum": "mg/dL", "target": "mg/L", "factor": 10.0}
    (m,) = out[1]["matches"]
    assert m["code"] == "6298-4" and "'SCnc'" in m["unit"]["warnings"][0]
    (m,) = out[2]["matches"]
    assert m["unit"]["warnings"] == ["'nonsense' is not valid UCUM"]
    assert [m["code"] for m in out[3]["matches"]] == ["22760-3", "6298-4"]
    assert all("unit" not in m for m in out[3]["matches"])


@pytest.mark.parametrize(("given", "ucum", "kind"), [
    ("mg/dl", "mg/dL", "mass concentration"), ("MG/DL", "mg/dL", "mass concentration"),
    ("mmol/l", "mmol/L", "substance concentration"), ("U/L", "U/L", "catalytic concentration"),
    ("10^9/L", "10*9/L", "number concentration"), ("IU/mL", "[IU]/mL", "arbitrary concentration"),
    ("%", "%", "dimensionless (fraction, ratio, count)"), ("µg/L", "ug/L", "mass concentration"),
    ("mEq/L", "meq/L", "substance concentration"), ("min", "min", "time")])
def test_normalise_and_dimension_class(given: str, ucum: str, kind: str) -> None:
    unit = units.normalise(given)
    assert unit.ucum == ucum and unit.error is None
    assert units.describe_class(unit.dims) == kind


def test_factor_only_within_one_dimension() -> None:
    assert units.factor("mg/dL", "g/L") == pytest.approx(0.01)
    assert units.factor("mg/dL", "mmol/L") is None
    assert units.factor("Cel", "K") is None  # special units have no plain factor
    assert units.normalise("blorb").ucum is None


def test_fast_path_with_unit_answers_as_the_route(settings: Settings, store: Store) -> None:
    """GET $translate with `unit` (a text parameter, as a bulk line's): the fast path and the
    route answer alike (the fast path hands a unit to the full reader)."""
    load_path(store, LoincLoader(), CORE, LoadOptions(version="2.78"))
    fast = with_fast_path(create_app(settings, store), True)
    full = with_fast_path(create_app(settings, store), False)
    with TestClient(fast) as f, TestClient(full) as g:
        assert f.put("/fhir/ConceptMap/lab-loinc", json=_map()).status_code == 201
        for code, unit in (("K", "mg/dl"), ("K-ANY", "mg/dL"), ("K-ANY", "nonsense"),
                           ("K", "mmol/L")):
            for headers in ({}, R5):
                q = {"url": MAP, "code": code, "system": LAB, "unit": unit}
                a = f.get("/fhir/ConceptMap/$translate", params=q, headers=headers)
                b = g.get("/fhir/ConceptMap/$translate", params=q, headers=headers)
                assert a.status_code == b.status_code == 200 and a.json() == b.json()
        ((code, props),) = _matches(a.json())
        assert code == "6298-4" and props["unit-ucum"] == [{"system": UCUM, "code": "mmol/L"}]


def test_r4_dependency_element_and_concept(client: TestClient) -> None:
    """R4 form: dependency {element = the UCUM system, concept = a CodeableConcept}."""
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": MAP}, {"name": "code", "valueCode": "K"},
        {"name": "system", "valueUri": LAB},
        {"name": "dependency", "part": [
            {"name": "element", "valueUri": UCUM},
            {"name": "concept", "valueCodeableConcept": {"coding": [
                {"system": UCUM, "code": "mmol/l"}]}}]}]}
    r = client.post("/fhir/ConceptMap/$translate", json=body)
    assert r.status_code == 200, r.text
    ((code, props),) = _matches(r.json())
    assert code == "6298-4" and props["unit-ucum"] == [{"system": UCUM, "code": "mmol/L"}]
