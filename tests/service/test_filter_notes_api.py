"""A LOINC filter the loaded version has no data for is said, not answered with a silent empty
set (issue 14, defect 5): $expand marks the expansion unclosed with the reason, and
$validate-code adds a warning. Real data: the MII microbiology value sets, the LOINC 2.78 core
table (a slice) with and without the tx-ecosystem subset's Part files."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from loaders.base import LoadOptions
from loaders.loinc import LoincLoader
from termserver.ingest import load_path
from termserver.store import Store
from tests.helpers import shared
from tests.loaders.test_loinc_parts import MIC, SUSC, _core_slice, _with_parts

MIKROBIO = ("fhir-packages/mii/"
            "de.medizininformatikinitiative.kerndatensatz.mikrobiologie-2025.0.1.tgz")
UNCLOSED_REASON = "http://hl7.org/fhir/StructureDefinition/valueset-unclosed-reason"



def _value_set(name: str) -> dict[str, Any]:
    with tarfile.open(shared(MIKROBIO), "r:gz") as tar:
        f = tar.extractfile(f"package/{name}.json")
        assert f is not None
        return dict(json.load(f))


def _expand(client: TestClient, vs: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/fhir/ValueSet/$expand", json={"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": vs}]})
    assert r.status_code == 200, r.text
    return dict(r.json()["expansion"])


def _validate(client: TestClient, vs: dict[str, Any], code: str) -> dict[str, Any]:
    r = client.post("/fhir/ValueSet/$validate-code", json={
        "resourceType": "Parameters", "parameter": [
            {"name": "valueSet", "resource": vs}, {"name": "system", "valueUri": "http://loinc.org"},
            {"name": "code", "valueCode": code}]})
    assert r.status_code == 200, r.text
    return {p["name"]: p for p in r.json()["parameter"]}


def _reason(expansion: dict[str, Any]) -> str:
    return " ".join(e["valueString"] for e in expansion.get("extension", [])
                    if e["url"] == UNCLOSED_REASON)


def test_core_table_only_says_what_it_cannot_evaluate(tmp_path: Path, client: TestClient,
                                                      store: Store) -> None:
    _core_slice(tmp_path / "core")
    load_path(store, LoincLoader(), tmp_path / "core" / "LoincTableCore_2.78.csv.gz",
              LoadOptions(version="2.78"))
    vs = _value_set("mii-vs-mikrobio-empfindlichkeit-phenotyp-loinc")
    expansion = _expand(client, vs)
    assert expansion["total"] == 0
    reason = _reason(expansion)
    assert SUSC in reason and "ORDER_OBS" in reason and MIC in reason  # include and exclude
    out = _validate(client, vs, "100041-3")  # Aminoglycoside [Susceptibility]
    assert out["result"]["valueBoolean"] is False
    warnings = [i for i in out["issues"]["resource"]["issue"] if i["severity"] == "warning"]
    assert any(SUSC in i["details"]["text"] for i in warnings), warnings


def test_with_part_files_only_the_missing_part_is_said(tmp_path: Path, client: TestClient,
                                                       store: Store) -> None:
    rows = _core_slice(tmp_path / "Loinc_2.78")
    load_path(store, LoincLoader(), _with_parts(tmp_path / "Loinc_2.78"),
              LoadOptions(version="2.78"))
    vs = _value_set("mii-vs-mikrobio-empfindlichkeit-genotyp-loinc")  # CLASS, PROPERTY, METHOD
    expansion = _expand(client, vs)
    reason = _reason(expansion)
    assert MIC in reason and SUSC not in reason  # the subset's Part.csv has Susc, not MIC
    assert expansion["total"] == 0  # no term links to the unknown MIC Part
    assert any(r["PROPERTY"] == "Susc" and r["METHOD_TYP"] == "MIC" for r in rows.values())
