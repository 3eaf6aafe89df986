"""`termserver translate` / `validate` / `lookup` (termserver.cli_bulk): CSV, TSV and NDJSON
in and out, every row kept in place, the summary and the exit codes, in-process (--db) and
against a live server (--server), stdin to stdout."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from termserver import cli_bulk
from termserver.settings import Settings
from termserver.store import Store
from tests.client.conftest import CM, LAB, LOINC, VS, app_with_bulk, resources
from tests.helpers import ROOT

ROWS = [["1", "NA", "140", "Natrium, Serum"], ["2", "K", "4.1", "Kälium"],
        ["3", "", "x", "leer"], ["4", "CL", "101", ""], ["5", "CRP", "5", "CRP"],
        ["6", "OLD", "1", "alt"], ["7", "NOPE", "2", "?"], ["8", "NA", "139", "Natrium"]]
HEADER = ["id", "code", "value", "text"]


@pytest.fixture
def db(db_url: str, settings: Settings, store: Store) -> str:
    """The database URL, holding the lab code system, the map and the value set."""
    with TestClient(app_with_bulk(settings, store)) as c:
        for r in resources():
            assert c.put(f"/fhir/{r['resourceType']}/{r['id']}", json=r).status_code == 201
    return db_url


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f, delimiter=delimiter))


def translate(db: str, src: Path, out: Path, *more: str) -> int:
    return cli_bulk.main(["translate", "--db", db, "-i", str(src), "-o", str(out),
                          "--system", LAB, "--conceptmap", CM, "--batch-size", "3", *more])


def test_translate_csv_keeps_every_row_and_adds_the_results(
        db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    assert translate(db, write_csv(tmp_path / "in.csv", ROWS), out) == 0
    got = read_csv(out)
    assert got[0] == [*HEADER, "target_system", "target_code", "target_display",
                      "relationship", "message"]
    assert [r[:4] for r in got[1:]] == ROWS  # every row, in order, untouched
    assert [r[5] for r in got[1:]] == ["2951-2", "2823-3", "", "", "1988-5", "", "", "2951-2"]
    assert got[1][4] == LOINC and got[1][7] == "equivalent"
    assert got[5][7] == "source-is-broader-than-target"
    assert got[3][4:] == ["", "", "", "", ""]  # no code: empty result columns
    assert got[4][4:8] == ["", "", "", ""] and got[4][8]  # unmapped: a message only
    err = capsys.readouterr().err
    assert "8 rows: 4 translated, 3 unmapped, 0 invalid, 1 empty" in err
    assert "2  unmapped: no match" in err and "1  unmapped: noMap (not-related-to)" in err
    assert "3  translated: equivalent" in err


def test_fail_on_unmapped_exit_code(db: str, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", ROWS)
    assert translate(db, src, tmp_path / "o.csv", "--fail-on-unmapped") == 3
    mapped = write_csv(tmp_path / "mapped.csv", [ROWS[0], ROWS[1], ROWS[2]])  # and an empty
    assert translate(db, mapped, tmp_path / "o2.csv", "--fail-on-unmapped") == 0


def test_validate_tsv_with_a_system_column(db: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.tsv"
    src.write_text("sys\tcode\n" f"{LAB}\tNA\n" "http://unknown.example\tX\n" f"{LAB}\tNOPE\n"
                   f"{LAB}\tCL\n", encoding="utf-8")
    out = tmp_path / "out.tsv"
    code = cli_bulk.main(["validate", "--db", db, "-i", str(src), "-o", str(out),
                          "--system-column", "sys", "--fail-on-unmapped"])
    assert code == 3
    got = read_csv(out, "\t")
    assert got[0] == ["sys", "code", "valid", "display", "message"]
    assert [r[2] for r in got[1:]] == ["true", "false", "false", "true"]
    assert got[1][3] == "Natrium" and "http://unknown.example" in got[2][4]
    err = capsys.readouterr().err
    assert "4 rows: 2 valid, 2 invalid, 0 empty" in err and "invalid: code-invalid" in err


def test_validate_against_a_value_set(db: str, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    assert cli_bulk.main(["validate", "--db", db, "-i", str(write_csv(tmp_path / "in.csv", ROWS)),
                          "-o", str(out), "--system", LAB, "--valueset", VS]) == 0
    assert [r[4] for r in read_csv(out)[1:]] == ["true", "true", "", "true", "false", "false",
                                                 "false", "true"]


def test_lookup_ndjson_in_and_out(db: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.ndjson"
    src.write_text('{"code": "K", "n": 1, "tags": ["a"]}\n\n{"code": "NOPE", "n": 2}\n'
                   '{"n": 3}\n', encoding="utf-8")
    out = tmp_path / "out.ndjson"
    assert cli_bulk.main(["lookup", "--db", db, "-i", str(src), "-o", str(out),
                          "--system", LAB, "--prefix", "lk_"]) == 0
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert got[0] == {"code": "K", "n": 1, "tags": ["a"], "lk_display": "Kalium",
                      "lk_inactive": None, "lk_message": None}
    assert got[1]["n"] == 2 and got[1]["lk_display"] is None and "NOPE" in got[1]["lk_message"]
    assert got[2] == {"n": 3, "lk_display": None, "lk_inactive": None, "lk_message": None}
    assert "3 rows: 1 found, 1 not found, 0 invalid, 1 empty" in capsys.readouterr().err


def test_csv_to_ndjson_output_format(db: str, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    assert translate(db, write_csv(tmp_path / "in.csv", ROWS[:2]), out,
                     "--output-format", "ndjson") == 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["text"] == "Natrium, Serum" and first["target_code"] == "2951-2"


def test_remote_server_gives_the_same_table(live: str, db_url: str, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "in.csv", ROWS * 3)
    local, remote = tmp_path / "local.csv", tmp_path / "remote.csv"
    assert translate(db_url, src, local) == 0
    assert cli_bulk.main(["translate", "--server", live, "-i", str(src), "-o", str(remote),
                          "--system", LAB, "--conceptmap", CM, "--batch-size", "5"]) == 0
    assert local.read_bytes() == remote.read_bytes()
    assert len(read_csv(remote)) == 1 + 3 * len(ROWS)


def test_stdin_to_stdout(db: str, tmp_path: Path) -> None:
    data = "code\tnote\nK\tx\nCL\ty\n"
    done = subprocess.run(
        [sys.executable, "-m", "termserver.cli_bulk", "translate", "--db", db, "--format",
         "tsv", "--system", LAB, "--conceptmap", CM, "--fail-on-unmapped", "--no-progress"],
        input=data.encode(), capture_output=True, cwd=ROOT, timeout=300)
    assert done.returncode == 3, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines[0].split("\t")[:3] == ["code", "note", "target_system"]
    assert lines[1].split("\t")[:4] == ["K", "x", LOINC, "2823-3"]
    assert lines[2].split("\t")[:2] == ["CL", "y"] and len(lines) == 3
    assert "2 rows: 1 translated, 1 unmapped" in done.stderr.decode()


@pytest.mark.parametrize(("flags", "expected"), [
    (["--system", LAB], "needs --conceptmap or --targetsystem"),
    (["--system", LAB, "--conceptmap", CM, "--column", "nope"], "no column 'nope'"),
    (["--system", LAB, "--conceptmap", CM, "--prefix", "", "--column", "id"], None),
    (["--system", LAB, "--conceptmap", CM, "--server", "http://x/fhir"], "not both"),
    (["--system", LAB, "--system-column", "code", "--conceptmap", CM], "not both"),
])
def test_usage_errors_exit_2(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             flags: list[str], expected: str | None) -> None:
    src = write_csv(tmp_path / "in.csv", ROWS[:1])
    code = cli_bulk.main(["translate", "--db", db, "-i", str(src), "-o",
                          str(tmp_path / "o.csv"), *flags])
    if expected is None:  # a valid call, for contrast
        assert code == 0
        return
    assert code == 2
    assert expected in capsys.readouterr().err


def test_an_unknown_format_and_a_clash_of_columns(db: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "in.xyz"
    odd.write_text("code\nK\n", encoding="utf-8")
    assert cli_bulk.main(["lookup", "--db", db, "-i", str(odd), "--system", LAB]) == 2
    assert "pass --format" in capsys.readouterr().err
    clash = tmp_path / "in.csv"
    clash.write_text("code,message\nK,x\n", encoding="utf-8")
    assert cli_bulk.main(["lookup", "--db", db, "-i", str(clash), "--system", LAB,
                          "-o", str(tmp_path / "o.csv")]) == 2
    assert "pass --prefix" in capsys.readouterr().err


def test_parquet_without_pyarrow_is_a_clear_usage_error(db: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        src = tmp_path / "in.parquet"
        src.write_bytes(b"PAR1")
        assert cli_bulk.main(["lookup", "--db", db, "-i", str(src), "--system", LAB]) == 2
        assert "Parquet needs pyarrow" in capsys.readouterr().err
        return
    pytest.skip("pyarrow is installed: see test_parquet_round_trip")


def test_parquet_round_trip(db: str, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"code": ["K", None, "CL"], "n": [1, 2, 3]}), src)
    out = tmp_path / "out.parquet"
    assert cli_bulk.main(["translate", "--db", db, "-i", str(src), "-o", str(out),
                          "--system", LAB, "--conceptmap", CM]) == 0
    got = pq.read_table(out).to_pylist()
    assert [(r["code"], r["n"], r["target_code"]) for r in got] == [
        ("K", 1, "2823-3"), (None, 2, None), ("CL", 3, None)]
