"""The `termserver` command run in-process: load, status, remove and their error handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from termserver.cli import main
from termserver.model import SearchQuery, StoredCodeSystem
from termserver.store import Store
from tests.helpers import DEMO_THO, code_system, make_package, shared, value_set

CS = "http://example.org/cs"
ICD = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def pkg(tmp_path: Path) -> Path:
    return make_package(tmp_path / "example.tgz", [
        code_system(CS, "1", codes=("a", "b", "c")),
        code_system(CS, "2", codes=("a", "b")),
        value_set("http://example.org/vs"),
    ])


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*args, "--db", db])
    out, err = capsys.readouterr()
    return code, out, err


def rows(db: str) -> dict[str, int]:
    store = Store(db)
    try:
        return store.count_rows()
    finally:
        store.close()


def resolve(db: str, url: str) -> StoredCodeSystem | None:
    store = Store(db)
    try:
        return store.resolve_code_system(url)
    finally:
        store.close()


def status_json(capsys: pytest.CaptureFixture[str], db: str) -> dict[str, Any]:
    code, out, err = run(capsys, db, "status", "--json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def assert_one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("termserver: error: ")
    assert "Traceback" not in err
    return lines[0]


# -- load / status ------------------------------------------------------------------------------


def test_load_prints_counts(capsys: pytest.CaptureFixture[str], db: str, pkg: Path) -> None:
    code, out, err = run(capsys, db, "load", str(pkg))
    assert code == 0, err
    assert out.startswith(f"{pkg}: ")
    assert "2 CodeSystem created" in out
    assert "1 ValueSet created" in out
    assert rows(db)["resource"] == 3


def test_status_lists_loaded_systems(capsys: pytest.CaptureFixture[str], db: str,
                                     pkg: Path) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    code, out, _ = run(capsys, db, "status")
    assert code == 0
    assert "2 code systems, 1 value sets, 0 concept maps" in out
    table = [line.split() for line in out.splitlines() if line.startswith(CS)]
    assert table == [[CS, "1", "complete", "3"], [CS, "2", "complete", "2"]]

    data = status_json(capsys, db)
    assert data["resources"] == {"CodeSystem": 2, "ValueSet": 1, "ConceptMap": 0}
    got = [(c["url"], c["version"], c["content"], c["concepts"]) for c in data["codeSystems"]]
    assert got == [(CS, "1", "complete", 3), (CS, "2", "complete", 2)]


def test_status_of_empty_database(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = status_json(capsys, db)
    assert data["codeSystems"] == []
    assert data["resources"] == {"CodeSystem": 0, "ValueSet": 0, "ConceptMap": 0}


def test_loading_twice_changes_nothing(capsys: pytest.CaptureFixture[str], db: str,
                                       pkg: Path) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    before = rows(db)
    code, out, err = run(capsys, db, "load", str(pkg))
    assert code == 0, err
    assert "2 CodeSystem unchanged" in out
    assert "1 ValueSet unchanged" in out
    assert "created" not in out and "updated" not in out
    assert rows(db) == before
    store = Store(db)
    try:
        _, found = store.search(SearchQuery("CodeSystem", url=CS))
    finally:
        store.close()
    assert [r.summary.version_id for r in found] == [1, 1]


def test_stub_does_not_replace_loaded_content(capsys: pytest.CaptureFixture[str], db: str,
                                              pkg: Path, tmp_path: Path) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    before = rows(db)
    stub = make_package(tmp_path / "stub.tgz", [code_system(CS, "1", content="not-present")])
    code, out, err = run(capsys, db, "load", str(stub))
    assert code == 0, err
    assert "1 CodeSystem kept" in out
    assert "note: kept CodeSystem/" in err
    assert rows(db) == before
    found = resolve(db, CS)
    assert found is not None and (found.version, found.content) == ("2", "complete")
    versions = [(c["version"], c["content"], c["concepts"])
                for c in status_json(capsys, db)["codeSystems"]]
    assert versions == [("1", "complete", 3), ("2", "complete", 2)]


# -- remove -------------------------------------------------------------------------------------


def test_remove_all_versions_then_again(capsys: pytest.CaptureFixture[str], db: str,
                                        pkg: Path) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    code, out, err = run(capsys, db, "remove", CS)
    assert code == 0, err
    assert out.splitlines() == [f"removed {CS}|1", f"removed {CS}|2"]
    assert status_json(capsys, db)["codeSystems"] == []
    assert rows(db)["concept"] == 0
    assert rows(db)["resource"] == 1  # the ValueSet stays

    code, out, err = run(capsys, db, "remove", CS)
    assert code == 1
    assert out == ""
    line = assert_one_error_line(err)
    assert CS in line


def test_remove_one_version(capsys: pytest.CaptureFixture[str], db: str, pkg: Path) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    code, out, err = run(capsys, db, "remove", CS, "--version", "1")
    assert code == 0, err
    assert out.splitlines() == [f"removed {CS}|1"]
    left = [(c["url"], c["version"]) for c in status_json(capsys, db)["codeSystems"]]
    assert left == [(CS, "2")]

    code, _, err = run(capsys, db, "remove", CS, "--version", "1")
    assert code == 1
    assert f"{CS}|1" in assert_one_error_line(err)


# -- load errors --------------------------------------------------------------------------------


def _bad_path(kind: str, tmp_path: Path) -> Path:
    if kind == "missing":
        return tmp_path / "does-not-exist.tgz"
    if kind == "text":
        path = tmp_path / "notes.txt"
        path.write_text("just some text\n")
        return path
    path = make_package(tmp_path / "truncated.tgz", [
        code_system(f"http://example.org/t{i}", codes=tuple(f"c{j}" for j in range(40)))
        for i in range(20)])
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


@pytest.mark.parametrize("kind,expected", [
    ("missing", "no such file or directory"),
    ("text", "cannot tell what this file is"),
    ("truncated", "truncated or corrupt"),
])
def test_load_error_leaves_database_unchanged(capsys: pytest.CaptureFixture[str], db: str,
                                              pkg: Path, tmp_path: Path, kind: str,
                                              expected: str) -> None:
    assert run(capsys, db, "load", str(pkg))[0] == 0
    before = rows(db)
    assert before["resource"] == 3
    bad = _bad_path(kind, tmp_path)
    code, _, err = run(capsys, db, "load", str(bad))
    assert code == 1
    line = assert_one_error_line(err)
    assert str(bad) in line
    assert expected in line
    if kind == "text":
        assert "fhir-package" in line
    assert rows(db) == before


def test_load_error_on_empty_database(capsys: pytest.CaptureFixture[str], db: str,
                                      tmp_path: Path) -> None:
    before = rows(db)
    code, _, err = run(capsys, db, "load", str(_bad_path("truncated", tmp_path)))
    assert code == 1
    assert_one_error_line(err)
    assert rows(db) == before
    assert sum(before.values()) == 0


def test_unknown_format(capsys: pytest.CaptureFixture[str], db: str, pkg: Path) -> None:
    code, _, err = run(capsys, db, "load", "--format", "nope", str(pkg))
    assert code == 1
    line = assert_one_error_line(err)
    assert "nope" in line
    assert "fhir-package" in line
    assert rows(db)["resource"] == 0


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert "usage: termserver" in out + err
    for command in ("serve", "load", "status", "remove"):
        assert command in out + err


# -- real packages from ../shared -----------------------------------------------------------------


def test_load_all_shared_packages(capsys: pytest.CaptureFixture[str], db: str) -> None:
    mii = shared("fhir-packages/mii")
    paths = [*sorted(mii.glob("*.tgz")), DEMO_THO]
    assert len(paths) > 2
    code, out, err = run(capsys, db, "load", *map(str, paths))
    assert code == 0, err
    assert len(out.splitlines()) == len(paths)
    data = status_json(capsys, db)
    icd = [c for c in data["codeSystems"] if c["url"] == ICD]
    assert [(c["version"], c["content"]) for c in icd] == [(None, "not-present")]
    assert len(data["codeSystems"]) > 900
    assert data["resources"]["CodeSystem"] == len(data["codeSystems"])


def _icd_package(tmp_path: Path) -> Path:
    cs = code_system(ICD, "2025", id="icd-10-gm", codes=("A00.0", "A00.1", "A00.9"))
    return make_package(tmp_path / "icd10gm-2025.tgz", [cs], name="test.icd10gm")


@pytest.mark.parametrize("real_first", [True, False])
def test_basisprofil_stub_does_not_shadow_real_icd(capsys: pytest.CaptureFixture[str], db: str,
                                                   tmp_path: Path, real_first: bool) -> None:
    basis = shared("fhir-packages/mii/de.basisprofil.r4-1.5.4.tgz")
    real = _icd_package(tmp_path)
    order = [real, basis] if real_first else [basis, real]
    for path in order:
        code, _, err = run(capsys, db, "load", str(path))
        assert code == 0, err
    found = resolve(db, ICD)
    assert found is not None
    assert (found.version, found.content, found.concept_count) == ("2025", "complete", 3)
    versions = {(c["version"], c["content"]) for c in status_json(capsys, db)["codeSystems"]
                if c["url"] == ICD}
    assert versions == {(None, "not-present"), ("2025", "complete")}



def test_the_demo_sets_up_loinc_and_a_map_project(tmp_path: Path, db: str) -> None:
    """The demo's LOINC subset, its German names and the demo project (the packages are left
    out here: they only take time)."""
    import shutil

    from mappings.workbench import Workbench
    from termserver.cli import _load_demo

    repo_demo = Path(__file__).resolve().parent.parent / "demo"
    demo = tmp_path / "demo"
    shutil.copytree(repo_demo / "loinc", demo / "loinc")
    shutil.copy(repo_demo / "labor-demo.csv", demo / "labor-demo.csv")
    store = Store(db)
    try:
        _load_demo(store, demo)
        wb = Workbench(store)
        items, total = wb.worklist("demo-labor", count=100)
        assert total == 40 and {i.source.code for i in items} >= {"NA", "K", "CREA", "HB"}
        assert [s.code for s in wb.suggest("demo-labor", "CREA")][:1] == ["2160-0"]
        assert wb.target_labels("demo-labor", ["2160-0"])["2160-0"].startswith("Creatinin")
        loinc = store.resolve_code_system("http://loinc.org")
        assert loinc is not None
        detail = store.concept_detail(loinc.pk, "2160-0")
        assert detail is not None  # the Universal Lab Orders flag of the demo subset
        assert [p.value for p in detail.properties if p.property == "ORDER_OBS"] == ["Both"]
        _load_demo(store, demo)  # a second start changes nothing
        assert len(wb.list_projects()) == 1
    finally:
        store.close()
