"""UmsteigerLoader on its own: ICD-10-GM and OPS Überleitung layouts, plain, gzipped and zipped;
relationships per direction, A flags, displays from the title lists, errors. No database.
Hand-written fixtures in tests/fixtures/umsteiger; the real DIMDI ZIPs from ../shared/data.
"""

from __future__ import annotations

import gzip
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from loaders import detect, get_loader
from loaders.base import ConceptMapContent, LoadOptions
from loaders.umsteiger import (
    AUTO_BACKWARD,
    AUTO_FORWARD,
    ICD_SYSTEM,
    OPS_SYSTEM,
    UmsteigerLoader,
)
from termserver.errors import LoadError
from termserver.model import MapElement
from tests.helpers import shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "umsteiger"
ICD = FIXTURES / "icd10gm2098syst_umsteiger_2097_2098.txt"
Maps = dict[str, tuple[ConceptMapContent, list[MapElement]]]


def _read(path: Path, **options: str) -> Maps:
    out: Maps = {}
    for item in UmsteigerLoader().read(path, LoadOptions(**options)):
        assert isinstance(item, ConceptMapContent)
        out[item.info.url.rsplit("/", 1)[-1]] = (item, list(item.elements))
    return out


def _rows(elements: list[MapElement], code: str) -> dict[str | None, MapElement]:
    return {e.target_code: e for e in elements if e.source_code == code}


def _flags(e: MapElement) -> dict[str, str]:
    return {str(p["attribute"]): str(p["value"]) for p in e.product}


def test_icd_table_gives_one_map_per_direction() -> None:
    maps = _read(ICD)
    assert sorted(maps) == ["icd-10-gm-umsteiger-2097-2098", "icd-10-gm-umsteiger-2098-2097"]
    info = maps["icd-10-gm-umsteiger-2097-2098"][0].info
    assert info.url == "http://fhir.de/ConceptMap/bfarm/icd-10-gm-umsteiger-2097-2098"
    assert (info.version, info.source_system, info.source_version, info.target_system,
            info.target_version) == ("2098", ICD_SYSTEM, "2097", ICD_SYSTEM, "2098")
    assert info.copyright is not None and "BfArM" in info.copyright
    back = maps["icd-10-gm-umsteiger-2098-2097"][0].info
    assert (back.source_version, back.target_version, back.version) == ("2098", "2097", "2098")


def test_forward_relationships() -> None:
    _, rows = _read(ICD)["icd-10-gm-umsteiger-2097-2098"]
    assert _rows(rows, "A00.0")["A00.0"].relationship == "equivalent"
    split = _rows(rows, "B10.0")
    assert sorted(k or "" for k in split) == ["B10.00", "B10.01"]
    assert {(e.relationship, e.equivalence) for e in split.values()} == {
        ("source-is-broader-than-target", "narrower")}
    merge = [e for e in rows if e.target_code == "C20.1"]
    assert {(e.source_code, e.relationship, e.equivalence) for e in merge} == {
        ("C20.1", "source-is-narrower-than-target", "wider"),
        ("C20.2", "source-is-narrower-than-target", "wider")}
    assert _rows(rows, "D30.0")["D30.1"].equivalence == "equivalent"  # a 1:1 rename
    f50 = _rows(rows, "F50.0")  # F50.0 splits, F50.01 also takes in F50.1: n:m
    assert (f50["F50.00"].equivalence, f50["F50.01"].equivalence) == ("narrower", "relatedto")
    deleted = _rows(rows, "E40.0")[None]
    assert (deleted.relationship, deleted.equivalence) == ("not-related-to", "unmatched")
    assert not [e for e in rows if e.target_code == "G60.5"]  # a new code has no source
    assert all(e.source_version == "2097" and e.target_version == "2098" for e in rows)
    assert len(rows) == 13


def test_reverse_relationships_and_flags() -> None:
    _, rows = _read(ICD)["icd-10-gm-umsteiger-2098-2097"]
    b = _rows(rows, "B10.00")["B10.0"]
    assert (b.relationship, b.equivalence) == ("source-is-narrower-than-target", "wider")
    c = _rows(rows, "C20.1")
    assert {e.equivalence for e in c.values()} == {"narrower"} and len(c) == 2
    new = _rows(rows, "G60.5")[None]
    assert new.equivalence == "unmatched"
    # the A flags are relative to each map's direction: `B10.0;B10.00;;A`
    fwd = _rows(_read(ICD)["icd-10-gm-umsteiger-2097-2098"][1], "B10.0")["B10.00"]
    assert _flags(fwd) == {AUTO_FORWARD: "false", AUTO_BACKWARD: "true"}
    assert _flags(b) == {AUTO_FORWARD: "true", AUTO_BACKWARD: "false"}


def test_ops_layouts(tmp_path: Path) -> None:
    maps = _read(FIXTURES / "ops2098syst_umsteiger_2097_2098.txt")
    info, rows = maps["ops-umsteiger-2097-2098"]
    assert info.info.source_system == OPS_SYSTEM
    assert {e.target_code for e in rows if e.source_code == "5-010.0"} == {"5-010.00", "5-010.01"}
    assert _rows(rows, "5-012.0")[None].equivalence == "unmatched"  # `None` = no successor
    assert _flags(_rows(rows, "5-011.0")["5-011.0"]) == {AUTO_FORWARD: "true",
                                                         AUTO_BACKWARD: "true"}
    assert _rows(maps["ops-umsteiger-2098-2097"][1], "5-013.1")[None].equivalence == "unmatched"
    old = _read(FIXTURES / "ops2097syst_umsteiger_2096_2097.txt")["ops-umsteiger-2096-2097"][1]
    assert _flags(_rows(old, "5-011.0")["5-011.1"]) == {AUTO_FORWARD: "true",
                                                        AUTO_BACKWARD: "false"}


def test_gzip_and_zip_with_title_lists(tmp_path: Path) -> None:
    gz = tmp_path / f"{ICD.name}.gz"
    gz.write_bytes(gzip.compress(ICD.read_bytes()))
    assert len(_read(gz)["icd-10-gm-umsteiger-2097-2098"][1]) == 13
    zipped = tmp_path / "x1gut2098.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.write(ICD, f"Klassifikationsdateien/{ICD.name}")
        zf.writestr("Klassifikationsdateien/icd10gm2097syst.txt",
                    "UNDEF;Undefined\r\nB10.0;Krankheit B, alt\r\n".encode("latin-1"))
        zf.writestr("Klassifikationsdateien/icd10gm2098syst.txt",
                    "B10.00;Krankheit B, früh\r\nB10.01;Krankheit B, spät\r\n".encode())
    assert UmsteigerLoader().detect(zipped)
    split = _rows(_read(zipped)["icd-10-gm-umsteiger-2097-2098"][1], "B10.0")
    assert split["B10.00"].source_display == "Krankheit B, alt"
    assert split["B10.01"].target_display == "Krankheit B, spät"


def test_detect_and_registry(tmp_path: Path) -> None:
    assert get_loader("bfarm-umsteiger").name == "bfarm-umsteiger"
    assert UmsteigerLoader().detect(ICD)
    other = tmp_path / "icd10gm2098syst_kodes.txt"
    other.write_text("x")
    assert not UmsteigerLoader().detect(other)
    found = detect(ICD)
    assert found is not None and found.name == "bfarm-umsteiger"


def test_version_option_and_errors(tmp_path: Path) -> None:
    plain = tmp_path / "umsteiger.txt"  # the 2004/05 name carries no years
    plain.write_bytes(ICD.read_bytes())
    with pytest.raises(LoadError, match="--version"):
        _read(plain)
    assert "icd-10-gm-umsteiger-2004-2005" in _read(plain, version="2004-2005")
    assert "icd-10-gm-umsteiger-2004-2005" in _read(plain, version="2005")
    bad = tmp_path / "icd10gm2098syst_umsteiger_2097_2098.txt"
    bad.write_text("A00.0;A00.0;A\r\n")
    with pytest.raises(LoadError, match="3 fields"):
        _read(bad)
    bad.write_text("A00.0;A00.0;A;A\r\nA00.1;A00.1;A\r\n")
    with pytest.raises(LoadError, match=r":2: 3 fields where the file has 4"):
        _read(bad)
    with pytest.raises(LoadError, match="no Überleitung"):
        _read(FIXTURES.parent / "bfarm")


def test_real_2016_2017_table() -> None:
    path = shared("icd10gm/dimdi-metadaten-zips/x1gut2017.zip")
    maps = _read(path)
    forward = maps["icd-10-gm-umsteiger-2016-2017"][1]
    backward = maps["icd-10-gm-umsteiger-2017-2016"][1]
    assert len(forward) == 13612 and len({e.source_code for e in forward}) == 13486
    assert len(backward) == 13607
    assert Counter(e.equivalence for e in forward) == {
        "equivalent": 13449, "narrower": 97, "relatedto": 57, "unmatched": 9}
    i89 = _rows(forward, "I89.0")
    assert sorted(k or "" for k in i89) == ["I89.00", "I89.01", "I89.02", "I89.03", "I89.04",
                                           "I89.05", "I89.08", "I89.09"]
    assert {e.equivalence for e in i89.values()} == {"narrower"}
    assert i89["I89.00"].source_display == "Lymphödem, anderenorts nicht klassifiziert"
    assert _rows(forward, "U06.0")[None].equivalence == "unmatched"
    assert _rows(backward, "I50.02")[None].equivalence == "unmatched"  # new in 2017
