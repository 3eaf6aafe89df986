"""Local code list import: CSV/TSV/XLSX reading, bad-row reports, CodeSystem content, diff, CLI."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mappings.importer import (
    ColumnMapping,
    LocalCode,
    diff,
    read_code_list,
    to_code_system,
)
from termserver.api.app import create_app
from termserver.cli import main
from termserver.errors import LoadError
from termserver.model import Concept, ConceptProperty
from termserver.settings import Settings
from termserver.store import Store
from tests.helpers import parameters_by_name

URL = "http://example.org/fhir/CodeSystem/lab-local"
LAB = ColumnMapping(code="Kürzel", display="Bezeichnung", unit="Einheit", specimen="Material",
                    frequency="Anzahl")


def write_big_csv(path: Path) -> dict[int, str]:
    """10,000 data rows, UTF-8 with BOM and umlauts; returns line → expected reason prefix."""
    lines = ["Kürzel;Bezeichnung;Einheit;Material;Anzahl".encode()]
    bad: dict[int, str] = {}
    for i in range(10_000):
        line_no = i + 2
        code, display = f"L{i:05d}", f"Glucose {i} im Blut (Kälte)"
        if i % 1000 == 17:
            code = ""
            bad[line_no] = "missing code"
        elif i % 1000 == 42:
            code = "L00003"
            bad[line_no] = "duplicate code 'L00003' (first on line 5)"
        row = f"{code};{display};mg/dl;Serum;{i}".encode()
        if i % 1000 == 99:
            row = f"{code};Gl\xfccose falsch kodiert;mmol/L;Urin;1".encode("cp1252")
            bad[line_no] = "text does not decode"
        lines.append(row)
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n")
    return bad


def test_10000_rows_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "labor.csv"
    expected_bad = write_big_csv(path)
    result = read_code_list(path, LAB)
    assert result.encoding == "utf-8"
    assert {b.line: b.reason for b in result.bad_rows} == expected_bad
    assert len(expected_bad) == 30
    assert len(result.rows) == 10_000 - 30
    assert result.total_rows == 10_000
    first = result.rows[0]
    assert first == LocalCode("L00000", "Glucose 0 im Blut (Kälte)", unit="mg/dl",
                              specimen="Serum", frequency=0, line=2)
    assert [r.code for r in result.rows].count("L00003") == 1
    assert all(r.code != "L00099" for r in result.rows)


def test_legacy_encoding_file_falls_back_to_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "alt.csv"
    path.write_bytes("code,display\nA,Blutzucker nüchtern\nB,Kalium – Serum\n".encode("cp1252"))
    result = read_code_list(path)
    assert result.encoding == "cp1252"
    assert not result.bad_rows
    assert [r.display for r in result.rows] == ["Blutzucker nüchtern", "Kalium – Serum"]


def test_tsv_gz_with_quoted_multiline_field(tmp_path: Path) -> None:
    path = tmp_path / "codes.tsv.gz"
    text = ('CODE\tText\tKommentar\n"X1"\tNatrium\t"zwei\nZeilen"\n\t\tohne Code\n'
            'X2\tKalium\t\n')
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    result = read_code_list(path, ColumnMapping(code="code", display="text",
                                                comment="kommentar"))
    assert [(r.code, r.display, r.comment, r.line) for r in result.rows] == [
        ("X1", "Natrium", "zwei\nZeilen", 2), ("X2", "Kalium", None, 5)]
    assert [(b.line, b.reason) for b in result.bad_rows] == [(4, "missing code")]


def test_xlsx_sheet(tmp_path: Path) -> None:
    path = tmp_path / "codes.xlsx"
    frame = pd.DataFrame({"Code": [101, 102, None, 101], "Name": ["Hb", "CRP", "leer", "Hb"],
                          "Units": ["g/dl", "mg/l", None, "g/dl"]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="Info", index=False)
        frame.to_excel(writer, sheet_name="Labor", index=False)
    mapping = ColumnMapping(code="code", display="name", unit="units")
    result = read_code_list(path, mapping, sheet="Labor")
    assert result.encoding is None
    assert [(r.code, r.display, r.unit, r.line) for r in result.rows] == [
        ("101", "Hb", "g/dl", 2), ("102", "CRP", "mg/l", 3)]
    assert [(b.line, b.reason) for b in result.bad_rows] == [
        (4, "missing code"), (5, "duplicate code '101' (first on line 2)")]
    with pytest.raises(LoadError, match="no sheet 'Nope'"):
        read_code_list(path, mapping, sheet="Nope")


def test_missing_column_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,label\n1,a\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"no column 'code' for the code .*'id', 'label'"):
        read_code_list(path)


def test_non_numeric_frequency_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("code,display,n\nA,a,12\nB,b,viele\nC,c,3.0\n", encoding="utf-8")
    result = read_code_list(path, ColumnMapping(frequency="n"))
    assert [(r.code, r.frequency) for r in result.rows] == [("A", 12), ("C", 3)]
    assert [str(b) for b in result.bad_rows] == [
        "line 3: frequency 'viele' is not a whole number"]


def test_to_code_system_properties(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("code;display;unit;anzahl\nGLU;Glucose;mg/dl;7\nNA;Natrium;;\n",
                    encoding="utf-8")
    result = read_code_list(path, ColumnMapping(unit="unit", frequency="anzahl"))
    content = to_code_system(result, URL, "1", "LabLocal")
    resource = content.info.resource
    assert resource is not None
    assert resource["count"] == 2
    assert [p["code"] for p in resource["property"]] == ["unit", "frequency"]
    assert list(content.records) == [
        Concept("GLU", "Glucose"), ConceptProperty("GLU", "unit", "mg/dl"),
        ConceptProperty("GLU", "frequency", "7", "integer"), Concept("NA", "Natrium")]


def test_reimport_diff(tmp_path: Path) -> None:
    old_path, new_path = tmp_path / "v1.csv", tmp_path / "v2.csv"
    old_path.write_text("code,display,unit\nA,Alpha,mg\nB,Beta,g\nC,Gamma,l\n", "utf-8")
    new_path.write_text("code,display,unit\nA,Alpha,mg\nB,Beta neu,kg\nD,Delta,ml\n", "utf-8")
    mapping = ColumnMapping(unit="unit")
    changes = diff(read_code_list(old_path, mapping), read_code_list(new_path, mapping))
    assert changes.added == ("D",)
    assert changes.removed == ("C",)
    assert [(c.code, c.fields) for c in changes.changed] == [("B", ("display", "unit"))]
    same = read_code_list(old_path, mapping)
    assert diff(same, same).unchanged


def test_cli_stores_and_lookup_finds(tmp_path: Path, db_url: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "labor.csv"
    path.write_bytes("Kürzel;Bezeichnung;Einheit\nGLU;Glukose im Serum;mg/dl\n;ohne;\n"
                     "GLU;doppelt;\n".encode())
    code = main(["import-codes", str(path), "--url", URL, "--version", "2025",
                 "--code-column", "Kürzel", "--display-column", "Bezeichnung",
                 "--unit-column", "Einheit", "--db", db_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"1 codes imported as {URL}|2025" in out
    assert "  line 3: missing code" in out
    assert "  line 4: duplicate code 'GLU' (first on line 2)" in out
    assert "1 added, 0 removed, 0 changed" in out  # nothing was stored before
    path.write_bytes("Kürzel;Bezeichnung;Einheit\nGLU;Glucose im Serum;mg/dl\nNA;Natrium;\n"
                     .encode())
    assert main(["import-codes", str(path), "--url", URL, "--version", "2025",
                 "--code-column", "Kürzel", "--display-column", "Bezeichnung",
                 "--unit-column", "Einheit", "--db", db_url]) == 0
    again, _ = capsys.readouterr()
    assert "2 codes imported" in again and "(updated)" in again
    assert "1 added, 0 removed, 1 changed" in again
    path.write_bytes("Kürzel;Bezeichnung;Einheit\nGLU;Glukose im Serum;mg/dl\n;ohne;\n"
                     "GLU;doppelt;\n".encode())
    assert main(["import-codes", str(path), "--url", URL, "--version", "2025",
                 "--code-column", "Kürzel", "--display-column", "Bezeichnung",
                 "--unit-column", "Einheit", "--db", db_url]) == 0
    capsys.readouterr()
    store = Store(db_url)
    try:
        with TestClient(create_app(Settings(db=db_url, base_url="http://testserver/fhir"),
                                   store)) as client:
            r = client.get("/fhir/CodeSystem/$lookup",
                           params={"system": URL, "code": "GLU", "version": "2025"})
    finally:
        store.close()
    assert r.status_code == 200, r.text
    params = parameters_by_name(r.json())
    assert params["display"][0]["valueString"] == "Glukose im Serum"
    units = [p for p in params.get("property", [])
             if any(part.get("valueCode") == "unit" for part in p["part"])]
    assert units, params


def test_cli_error_is_one_line(tmp_path: Path, db_url: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,label\n1,a\n", encoding="utf-8")
    code = main(["import-codes", str(path), "--url", URL, "--version", "1", "--db", db_url])
    _, err = capsys.readouterr()
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("termserver: error: ")
    assert "no column 'code'" in lines[0]
