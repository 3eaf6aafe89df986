"""Package limits (loaders.bounded): a .tgz whose members decompress past the limits, JSON
nested too deep, too many values, NUL characters: each a clear LoadError before anything is
yielded, and `termserver load` prints one line and exits 1. Correctness only: the memory is
measured by bench/upload_memory.py."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from loaders.base import LoadOptions
from loaders.bounded import check_json_budget, parse_json, read_capped
from loaders.fhir_package import FhirPackageLoader
from termserver.cli import main
from termserver.errors import LoadError
from tests.helpers import code_system, make_package, value_set


class _Zeros(io.RawIOBase):
    """`size` zero bytes, made as they are read (a big member without holding it)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def _package_with(path: Path, name: str, size: int) -> Path:
    """A valid package plus one member `name` of `size` zero bytes."""
    make_package(path, [code_system("http://example.org/cs")])
    with tarfile.open(path, "r:gz") as tar:
        entries = [(m, tar.extractfile(m).read()) for m in tar if m.isfile()]  # type: ignore[union-attr]
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for member, raw in entries:
            tar.addfile(member, io.BytesIO(raw))
        info = tarfile.TarInfo(name)
        info.size = size
        tar.addfile(info, io.BufferedReader(_Zeros(size)))
    return path


def _refused(path: Path, *words: str) -> str:
    yielded: list[object] = []
    with pytest.raises(LoadError) as info:
        for item in FhirPackageLoader().read(path, LoadOptions()):
            yielded.append(item)
    assert yielded == []
    for word in words:
        assert word in info.value.message, info.value.message
    return info.value.message


def test_a_large_highly_compressible_member_is_refused(tmp_path: Path) -> None:
    path = _package_with(tmp_path / "bomb.tgz", "package/CodeSystem-big.json", 80 << 20)
    assert path.stat().st_size < 1 << 20
    _refused(path, "package/CodeSystem-big.json", "decompressed size 80 MB exceeds 32 MB",
             "TERMSERVER_MAX_DECOMPRESSED_MB")


def test_the_member_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _package_with(tmp_path / "p.tgz", "package/ValueSet-big.json", 3 << 20)
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "2")
    _refused(path, "decompressed size 3 MB exceeds 2 MB")


def test_members_over_the_total_limit_are_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "1")  # total: 16 MB
    files = {f"package/other/blob-{i}.bin": b"\0" * (1 << 20) for i in range(17)}
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs")], files=files)
    _refused(path, "total decompressed size exceeds 16 MB")


def test_json_nested_a_hundred_thousand_deep_is_refused(tmp_path: Path) -> None:
    deep = b'{"resourceType": "ValueSet", "url": "http://x", "extension": ' + b"[" * 100_000
    path = make_package(tmp_path / "p.tgz", [], files={"package/ValueSet-deep.json": deep})
    _refused(path, "package/ValueSet-deep.json", "nested deeper than 100 levels")
    nested: object = "x"
    for _ in range(150):  # parses, but deeper than any resource needs
        nested = [nested]
    vs = value_set("http://x", extension=nested)
    path = make_package(tmp_path / "q.tgz", [vs])
    _refused(path, "nested deeper than 100 levels")


def test_nul_characters_are_refused(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs",
                                                         codes=("a\x00b",))])
    _refused(path, "NUL")


def test_json_with_too_many_values_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERMSERVER_MAX_DECOMPRESSED_MB", "1")  # JSON budget: 4 MB
    many = b'{"resourceType": "Basic", "x": [' + b"{}," * 300_000 + b"{}]}"
    assert len(many) < 1 << 20
    path = make_package(tmp_path / "p.tgz", [], files={"package/Basic-many.json": many})
    _refused(path, "JSON too large")


def test_the_real_packages_fit_the_json_budget() -> None:
    from tests.helpers import DEMO_THO

    with tarfile.open(DEMO_THO, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".json"):
                check_json_budget(tar.extractfile(member).read(), member.name)  # type: ignore[union-attr]


def test_parse_json_and_read_capped_on_their_own() -> None:
    assert parse_json(b'{"a": [1, {"b": "c"}]}', "t") == {"a": [1, {"b": "c"}]}
    with pytest.raises(LoadError, match="invalid JSON"):
        parse_json(b"{", "t")
    with pytest.raises(LoadError, match="not UTF-8"):
        parse_json(b'"\xff"', "t")
    with pytest.raises(LoadError, match="decompressed size exceeds 1 MB"):
        read_capped(io.BytesIO(b"x" * ((1 << 20) + 1)), "t", 1 << 20)
    assert read_capped(io.BytesIO(b"x" * (1 << 20)), "t", 1 << 20) == b"x" * (1 << 20)


# -- the CLI -----------------------------------------------------------------------------------


def test_load_prints_one_line_for_a_bad_package(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    deep = b'{"resourceType": "ValueSet", "url": "http://x", "extension": ' + b"[" * 100_000
    path = make_package(tmp_path / "p.tgz", [], files={"package/ValueSet-deep.json": deep})
    db = f"sqlite:///{tmp_path / 't.db'}"
    assert main(["load", str(path), "--format", "fhir-package", "--db", db]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "nested deeper" in err and str(path) in err


def test_load_turns_an_unexpected_error_into_one_line(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import termserver.ingest

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("A string literal cannot contain NUL (0x00) characters.\nSQL: …")

    monkeypatch.setattr(termserver.ingest, "load_path", broken)
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs")])
    db = f"sqlite:///{tmp_path / 't.db'}"
    assert main(["load", str(path), "--db", db]) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert str(path) in err and "ValueError: A string literal cannot contain NUL" in err


def test_a_good_package_still_loads(tmp_path: Path) -> None:
    path = make_package(tmp_path / "p.tgz", [code_system("http://example.org/cs"),
                                             value_set("http://example.org/vs")])
    items = list(FhirPackageLoader().read(path, LoadOptions()))
    assert len(items) == 2
    assert json.dumps([i.resource for i in items])  # type: ignore[union-attr]
