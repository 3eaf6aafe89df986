"""FhirPackageLoader on its own: what it yields, what it skips, how it fails. No database."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from loaders.base import LoadOptions
from loaders.fhir_package import FhirPackageLoader
from termserver.errors import LoadError
from termserver.model import ResourceRecord
from tests.helpers import DEMO_THO, code_system, make_package, value_set, write_tgz


def _read(path: Path) -> list[ResourceRecord]:
    items = list(FhirPackageLoader().read(path, LoadOptions()))
    assert all(isinstance(item, ResourceRecord) for item in items)
    return [item for item in items if isinstance(item, ResourceRecord)]


def _raw(resource: dict[str, Any]) -> bytes:
    return json.dumps(resource).encode()


def _concept_map(url: str) -> dict[str, Any]:
    return {"resourceType": "ConceptMap", "url": url, "version": "1", "status": "active",
            "group": [{"source": "http://a", "target": "http://b",
                       "element": [{"code": "x", "target": [{"code": "y",
                                                             "equivalence": "equivalent"}]}]}]}


def _load_error(path: Path) -> LoadError:
    """Read `path`, asserting it fails with LoadError before a single item is yielded."""
    yielded: list[object] = []
    with pytest.raises(LoadError) as info:
        for item in FhirPackageLoader().read(path, LoadOptions()):
            yielded.append(item)
    assert yielded == []
    assert str(path) in info.value.message
    return info.value


# -- what is yielded --------------------------------------------------------------------------


def test_yields_code_systems_value_sets_and_concept_maps(tmp_path: Path) -> None:
    pkg = make_package(tmp_path / "p.tgz", [
        code_system("http://example.org/cs", codes=("a", "b", "c")),
        value_set("http://example.org/vs"),
        _concept_map("http://example.org/cm"),
    ], name="example.pkg", version="2.0.0")
    items = _read(pkg)
    by_type = {item.resource["resourceType"]: item for item in items}
    assert sorted(by_type) == ["CodeSystem", "ConceptMap", "ValueSet"]
    assert len(items) == 3
    cs = by_type["CodeSystem"].resource
    assert cs["url"] == "http://example.org/cs"
    assert [c["code"] for c in cs["concept"]] == ["a", "b", "c"]
    assert by_type["ValueSet"].resource["url"] == "http://example.org/vs"
    assert by_type["ConceptMap"].resource["url"] == "http://example.org/cm"
    assert by_type["CodeSystem"].origin.startswith("example.pkg#2.0.0:package/CodeSystem-")


def test_other_resource_types_and_example_folder_are_ignored(tmp_path: Path) -> None:
    sd = {"resourceType": "StructureDefinition", "url": "http://example.org/sd", "id": "sd"}
    patient = {"resourceType": "Patient", "id": "p1"}
    pkg = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs"), sd, patient],
                       files={
                           "package/example/CodeSystem-ex.json":
                               _raw(code_system("http://example.org/in-example")),
                           "package/other/ValueSet-o.json":
                               _raw(value_set("http://example.org/in-other")),
                           "package/.index.json": b'{"index-version": 1, "files": []}',
                           "package/README.md": b"# not json",
                       })
    urls = [item.resource["url"] for item in _read(pkg)]
    assert urls == ["http://example.org/cs"]


def test_resources_without_url_are_skipped(tmp_path: Path) -> None:
    no_url = code_system("http://placeholder")
    del no_url["url"]
    empty_url = value_set("")
    pkg = make_package(tmp_path / "p.tgz", [no_url, empty_url, value_set("http://example.org/vs")])
    assert [item.resource["url"] for item in _read(pkg)] == ["http://example.org/vs"]


def test_different_versions_of_one_url_are_all_yielded(tmp_path: Path) -> None:
    pkg = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs", "1"),
                                            code_system("http://example.org/cs", "2"),
                                            code_system("http://example.org/cs", None)])
    versions = sorted(str(item.resource.get("version")) for item in _read(pkg))
    assert versions == ["1", "2", "None"]


# -- duplicate canonicals -----------------------------------------------------------------------


@pytest.mark.parametrize("complete_first", [True, False])
def test_duplicate_canonical_complete_beats_not_present(tmp_path: Path,
                                                        complete_first: bool) -> None:
    url = "http://example.org/dup"
    complete = ("package/b-complete.json", _raw(code_system(url, "1", codes=("x", "y"))))
    stub = ("package/a-stub.json", _raw(code_system(url, "1", content="not-present")))
    entries = [complete, stub] if complete_first else [stub, complete]
    pkg = make_package(tmp_path / "p.tgz", [], files=dict(entries))
    items = _read(pkg)
    assert len(items) == 1
    assert items[0].resource["content"] == "complete"
    assert [c["code"] for c in items[0].resource["concept"]] == ["x", "y"]
    assert items[0].origin.endswith(":package/b-complete.json")


def test_duplicate_canonical_complete_beats_fragment(tmp_path: Path) -> None:
    url = "http://example.org/dup"
    pkg = make_package(tmp_path / "p.tgz", [], files={
        "package/a-fragment.json": _raw(code_system(url, "1", content="fragment", codes=("x",))),
        "package/z-complete.json": _raw(code_system(url, "1", codes=("x", "y", "z"))),
    })
    items = _read(pkg)
    assert len(items) == 1
    assert items[0].resource["content"] == "complete"
    assert items[0].origin.endswith(":package/z-complete.json")


@pytest.mark.parametrize("order", [("m", "z", "c"), ("z", "c", "m"), ("c", "m", "z")])
def test_duplicate_canonical_equal_content_lexically_first_file_wins(
        tmp_path: Path, order: tuple[str, ...]) -> None:
    url = "http://example.org/vs"
    files = {f"package/{n}-vs.json": _raw(value_set(url, "1", title=f"from {n}")) for n in order}
    files.update({f"package/{n}-cs.json": _raw(code_system("http://example.org/cs", "1",
                                                           title=f"from {n}")) for n in order})
    pkg = make_package(tmp_path / "p.tgz", [], files=files)
    items = _read(pkg)
    assert len(items) == 2
    titles = {item.resource["resourceType"]: item.resource["title"] for item in items}
    assert titles == {"ValueSet": "from c", "CodeSystem": "from c"}


def test_same_url_different_resource_types_are_distinct(tmp_path: Path) -> None:
    url = "http://example.org/same"
    pkg = make_package(tmp_path / "p.tgz", [code_system(url, "1"), value_set(url, "1")])
    assert Counter(item.resource["resourceType"] for item in _read(pkg)) == {
        "CodeSystem": 1, "ValueSet": 1}


# -- detect -------------------------------------------------------------------------------------


def test_detect_package(tmp_path: Path) -> None:
    assert FhirPackageLoader().detect(make_package(tmp_path / "p.tgz", [value_set("http://v")]))
    assert FhirPackageLoader().detect(make_package(tmp_path / "p.tar.gz", []))


def test_detect_rejects_other_files(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    text_tgz = tmp_path / "notes.tgz"
    text_tgz.write_text("hello, not gzip\n")
    foreign = write_tgz(tmp_path / "foreign.tar.gz", {"src/main.c": b"int main(){}"})
    loader = FhirPackageLoader()
    assert loader.detect(text) is False
    assert loader.detect(text_tgz) is False
    assert loader.detect(foreign) is False
    assert loader.detect(tmp_path / "missing.tgz") is False
    assert loader.detect(tmp_path) is False


# -- errors -------------------------------------------------------------------------------------


def test_not_gzip_at_all(tmp_path: Path) -> None:
    path = tmp_path / "plain.tgz"
    path.write_text("this is just text\n" * 20)
    err = _load_error(path)
    assert "not a gzipped tar archive" in err.message


def test_tar_without_package_json(tmp_path: Path) -> None:
    path = write_tgz(tmp_path / "foreign.tgz", {
        "package/CodeSystem-x.json": _raw(code_system("http://example.org/x")),
    })
    err = _load_error(path)
    assert "not a FHIR npm package" in err.message
    assert "package/package.json" in err.message


def test_truncated_package(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.tgz", [
        code_system(f"http://example.org/cs{i}", codes=tuple(f"c{j}" for j in range(50)))
        for i in range(20)])
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    err = _load_error(path)
    assert "truncated or corrupt" in err.message


def test_invalid_json_names_member(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs")],
                        files={"package/ValueSet-broken.json": b'{"resourceType": "ValueSet",'})
    err = _load_error(path)
    assert "invalid JSON" in err.message
    assert "package/ValueSet-broken.json" in err.message
    assert err.where == "package/ValueSet-broken.json"


def test_json_that_is_not_an_object(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.tgz", [value_set("http://example.org/vs")],
                        files={"package/list.json": b"[1, 2, 3]"})
    err = _load_error(path)
    assert "expected a JSON object" in err.message
    assert "package/list.json" in err.message


def test_stu3_package_is_rejected(tmp_path: Path) -> None:
    manifest = {"name": "old.pkg", "version": "1.0.0", "fhirVersions": ["3.0.1"]}
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs")],
                        files={"package/package.json": json.dumps(manifest).encode()})
    err = _load_error(path)
    assert "unsupported FHIR version" in err.message
    assert "3.0.1" in err.message


def test_missing_file(tmp_path: Path) -> None:
    err = _load_error(tmp_path / "missing.tgz")
    assert "file not found" in err.message


# -- the real shared package --------------------------------------------------------------------


def test_demo_tho_package() -> None:
    if not DEMO_THO.exists():
        pytest.skip(f"needs {DEMO_THO}")
    assert FhirPackageLoader().detect(DEMO_THO)
    counts = Counter(item.resource["resourceType"] for item in _read(DEMO_THO))
    assert counts["CodeSystem"] == 897
    assert counts["ValueSet"] == 2499
    assert set(counts) <= {"CodeSystem", "ValueSet", "ConceptMap"}
