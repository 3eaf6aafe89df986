"""Upload limits (loaders.bounded): decompression bombs, row and cell caps, bad file names,
XLSX with a DTD, JSON nested too deep. Every refusal is a 4xx OperationOutcome naming the
upload (never a server temp path), on SQLite and PostgreSQL. Correctness only: the memory
these keep to is measured by bench/upload_memory.py."""

from __future__ import annotations

import gzip
import io
import zipfile
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest
from fastapi.testclient import TestClient

from loaders.bounded import MAX_LISTED, byte_lines, upload_name
from mappings.importer import ColumnMapping, read_code_list_bytes
from mappings.mapimport import decisions_from_csv
from termserver.errors import InvalidRequest, LoadError

API = "/workbench/api"
LAB = "http://hospital.example/CodeSystem/lab"
ME = {"X-Curator": "anna"}


def _upload(client: TestClient, name: str, raw: bytes, **form: str) -> Any:
    return client.post(f"{API}/codesystems/import", files={"file": (name, raw, "text/csv")},
                       data={"url": LAB, "version": "1", **form}, headers=ME)


def _refused(r: Any, *words: str) -> str:
    """The OperationOutcome text of a 4xx answer, checked for `words` and for no temp path."""
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    text: str = body["issue"][0]["details"]["text"]
    for word in words:
        assert word in text, text
    assert "/tmp" not in text and "termserver-upload" not in text
    return text


def _gz(raw: bytes) -> bytes:
    return gzip.compress(raw, compresslevel=9)


# -- decompression bombs and row caps ---------------------------------------------------------


def test_a_gzip_bomb_is_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "16")
    row = b"A" * 1000_000 + b",x\n"  # 50 rows of 1 MB each
    bomb = _gz(b"code,display\n" + row * 50)
    assert len(bomb) < 200_000
    _refused(_upload(client, "bomb.csv.gz", bomb), "bomb.csv.gz",
             "decompressed size exceeds 16 MB", "TERMSERVER_MAX_DECOMPRESSED_MB")


def test_a_bomb_without_gz_suffix_is_recognised_by_its_magic(client: TestClient) -> None:
    bomb = _gz(b"code,display\n" + (b"A" * 1000_000 + b",x\n") * 40)  # past the 32 MB default
    _refused(_upload(client, "codes.csv", bomb), "decompressed size exceeds 32 MB")


def test_a_bomb_of_blank_lines_is_refused(client: TestClient) -> None:
    bomb = _gz(b"code,display\n" + b"\n" * (40 * 1024 * 1024))
    _refused(_upload(client, "blank.csv.gz", bomb), "more than 1,600,000 lines")


def test_two_hundred_thousand_duplicate_rows_are_refused_early(client: TestClient) -> None:
    raw = _gz(b"code,display\n" + b"K,Kalium\n" * 200_000)
    _refused(_upload(client, "dups.csv.gz", raw), "more than 100,000 rows",
             "TERMSERVER_MAX_UPLOAD_ROWS")


def test_the_row_limit_is_a_setting(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_UPLOAD_ROWS", "10")
    ok = b"code,display\n" + b"".join(b"C%d,x\n" % i for i in range(10))
    assert _upload(client, "ten.csv", ok).status_code == 200
    _refused(_upload(client, "eleven.csv", ok + b"C99,y\n"), "more than 10 rows")
    monkeypatch.setenv("TERMSERVER_MAX_UPLOAD_ROWS", "lots")
    _refused(_upload(client, "ten.csv", ok), "TERMSERVER_MAX_UPLOAD_ROWS")


def test_bad_rows_are_listed_up_to_a_limit_and_counted(client: TestClient) -> None:
    raw = b"code,display\nK,Kalium\n" + b"K,doppelt\n" * 2999
    r = _upload(client, "dups.csv", raw)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["total_rows"]) == (1, 3000)
    assert len(report["bad_rows"]) == MAX_LISTED == 1000
    assert report["bad_rows"][0]["line"] == 3


def test_a_row_of_a_million_cells_is_refused() -> None:
    with pytest.raises(LoadError, match="longer than 1 MB"):
        read_code_list_bytes(b"code,display\n" + b"," * (2 * 1024 * 1024), "wide.csv")


def test_too_many_cells_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_UPLOAD_ROWS", "10")  # 640 cells
    wide = b"code,display\n" + (b"a" + b"," * 99 + b"\n") * 8
    with pytest.raises(LoadError, match="more than 640 cells"):
        read_code_list_bytes(wide, "wide.csv")


# -- line endings, file names, temp paths ----------------------------------------------------


def test_a_csv_with_bare_cr_line_endings_is_read(client: TestClient) -> None:
    raw = b"code;display\rK;Kalium\rNA;Natrium\r\rK;doppelt\r"
    r = _upload(client, "mac.csv", raw, display_column="display")
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["rows"], report["total_rows"]) == (2, 3)
    assert [b["line"] for b in report["bad_rows"]] == [5]


@pytest.mark.parametrize("name", ["..", ".", "x" * 256])
def test_bad_upload_file_names_are_400(client: TestClient, name: str) -> None:
    _refused(_upload(client, name, b"code,display\nK,Kalium\n"), "file name")


def test_a_file_name_of_255_characters_is_fine(client: TestClient) -> None:
    assert _upload(client, "x" * 251 + ".csv", b"code,display\nK,Kalium\n").status_code == 200


def test_errors_name_the_upload_not_a_temp_path(client: TestClient) -> None:
    text = _refused(_upload(client, "labor.csv", b"code,display\nK,Kalium\n",
                            code_column="nummer"), "labor.csv", "nummer")
    assert text.startswith("labor.csv")


# -- XLSX --------------------------------------------------------------------------------------


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "display"])
    sheet.append(["K", "Kalium"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rewrite(xlsx: bytes, member: str, change: Any, extra: dict[str, bytes] | None = None
             ) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as src, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, change(data) if info.filename == member else data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def test_a_plain_xlsx_still_imports(client: TestClient) -> None:
    r = _upload(client, "codes.xlsx", _xlsx())
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 1


def test_an_xlsx_with_a_dtd_is_400(client: TestClient) -> None:
    dtd = (b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n')

    def add_dtd(data: bytes) -> bytes:
        return dtd + (data.split(b"?>", 1)[1].lstrip() if data.startswith(b"<?xml") else data)

    bad = _rewrite(_xlsx(), "xl/worksheets/sheet1.xml", add_dtd)
    _refused(_upload(client, "codes.xlsx", bad), "codes.xlsx!xl/worksheets/sheet1.xml", "DTD")


def test_an_xlsx_member_bomb_is_400(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "4")
    bomb = _rewrite(_xlsx(), "", lambda d: d, {"xl/media/padding.bin": b"\0" * (20 << 20)})
    assert len(bomb) < 100_000
    _refused(_upload(client, "codes.xlsx", bomb), "xl/media/padding.bin",
             "decompressed size exceeds 4 MB")


# -- map import --------------------------------------------------------------------------------


@pytest.fixture
def project(client: TestClient) -> TestClient:
    assert _upload(client, "lab.csv", b"code,display\nK,Kalium\n").status_code == 200
    body = {"id": "lab", "title": "Labor", "source_system": LAB, "source_version": "1",
            "target_system": LAB, "target_version": "1"}
    assert client.post(f"{API}/projects", json=body, headers=ME).status_code == 201
    return client


def _import_map(client: TestClient, name: str, raw: bytes) -> Any:
    return client.post(f"{API}/projects/lab/import-map", files={"file": (name, raw)},
                       headers=ME)


def test_a_map_nested_a_hundred_thousand_deep_is_400(project: TestClient) -> None:
    _refused(_import_map(project, "map.json", b"[" * 100_000), "map.json", "nested deeper")
    _refused(_import_map(project, "map.json", b'{"a":' * 100_000), "nested deeper")
    r = _import_map(project, "map.csv", b"[" * 100_000)  # not JSON by name: a CSV of one row
    assert r.status_code < 500, r.text


def test_a_map_with_nul_or_too_many_values_is_400(project: TestClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    nul = b'{"resourceType": "ConceptMap", "group": [{"element": [{"code": "a\\u0000b"}]}]}'
    _refused(_import_map(project, "map.json", nul), "NUL")
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "1")
    _refused(_import_map(project, "map.json", b"[" + b"{}," * 300_000 + b"{}]"),
             "JSON too large")


def test_a_csv_map_lists_a_limited_number_of_bad_rows() -> None:
    found = decisions_from_csv(b"source_code,target_code,relationship\n"
                               + b"K,1-8,bogus\n" * 1500)
    assert (len(found.bad_rows), found.unlisted_bad_rows) == (MAX_LISTED, 500)


def test_a_csv_map_has_a_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_UPLOAD_ROWS", "5")
    with pytest.raises(LoadError, match="more than 5 rows"):
        decisions_from_csv(b"source_code,target_code\n" + b"K,1-8\n" * 6)


def test_a_csv_map_with_bare_cr_is_read() -> None:
    found = decisions_from_csv(b"source_code,target_code\rK,1-8\rNA,2-6\r")
    assert sorted(d.source_code for d in found) == ["K", "NA"]


# -- the pieces --------------------------------------------------------------------------------


def test_byte_lines_split_at_every_line_ending_even_across_chunks() -> None:
    raw = b"a\r\nb\rc\n" + b"x" * 65533 + b"\r\nlast"  # the CRLF straddles a 64 KiB read
    lines = list(byte_lines(io.BytesIO(raw), "t"))
    assert lines == [b"a\r\n", b"b\r", b"c\n", b"x" * 65533 + b"\r\n", b"last"]


def test_upload_names() -> None:
    assert upload_name(None) == "upload.csv"
    assert upload_name("C:\\Users\\anna\\labor.csv") == "labor.csv"
    assert upload_name("../../etc/labor.csv") == "labor.csv"
    for bad in ("..", "a/..", "x" * 256, "ä" * 128, "a\x01b.csv"):
        with pytest.raises(InvalidRequest):
            upload_name(bad)


def test_read_code_list_bytes_with_a_column_mapping() -> None:
    result = read_code_list_bytes(b"Nr;Name\n1;eins\n", "l.csv",
                                  ColumnMapping(code="Nr", display="Name"))
    assert [(r.code, r.display) for r in result.rows] == [("1", "eins")]
    assert result.path == "l.csv"


def test_a_broken_xlsx_is_400(client: TestClient) -> None:
    truncated = _rewrite(_xlsx(), "xl/worksheets/sheet1.xml", lambda d: d[: len(d) // 2])
    _refused(_upload(client, "codes.xlsx", truncated), "codes.xlsx", "not a readable XLSX")


@pytest.mark.parametrize("body", [
    b'{"resourceType": "ConceptMap", "group": "x"}',
    b'{"resourceType": "ConceptMap", "group": [{"element": {"code": "K"}}]}',
    b'[1]',
])
def test_a_malformed_concept_map_is_400(project: TestClient, body: bytes) -> None:
    _refused(_import_map(project, "map.json", body))


def test_malformed_concept_map_elements_are_bad_rows(project: TestClient) -> None:
    body = (b'{"resourceType": "ConceptMap", "group": [{"element": [1, {"code": "K", '
            b'"target": "x"}, {"code": "K", "target": [{"code": "K", "equivalence": '
            b'"equivalent"}]}]}]}')
    r = _import_map(project, "map.json", body)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["imported"] == 1
    assert [b["line"] for b in report["bad_rows"]] == [1, 2]
