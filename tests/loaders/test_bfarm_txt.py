"""BfarmTxtLoader on its own: ICD-10-GM and OPS kodes files plain, gzipped, zipped (also nested)
and in a folder; encodings; hierarchy, flags and the version; malformed input. No database.
Hand-written fixtures in tests/fixtures/bfarm; the real BfArM/DIMDI files from ../shared/data.
"""

from __future__ import annotations

import gzip
import io
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from loaders import detect, get_loader
from loaders.base import CodeSystemContent, LoadOptions
from loaders.bfarm_txt import ATTRIBUTION, ICD_SYSTEM, OPS_SYSTEM, BfarmTxtLoader
from termserver.errors import LoadError
from termserver.model import Concept, ConceptProperty, ParentLink, Record
from tests.helpers import shared

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bfarm"
ICD_FILES = ("icd10gm2099syst_kodes.txt", "icd10gm2099syst_kapitel.txt",
             "icd10gm2099syst_gruppen.txt")
OPS_FILES = ("ops2099syst_kodes.txt", "ops2099syst_kapitel.txt", "ops2099syst_gruppen.txt",
             "ops2099syst_dreisteller.txt")


def _read(path: Path, **options: str) -> list[tuple[CodeSystemContent, list[Record]]]:
    out = []
    for item in BfarmTxtLoader().read(path, LoadOptions(**options)):
        assert isinstance(item, CodeSystemContent)
        out.append((item, list(item.records)))
    return out


def _one(path: Path, **options: str) -> tuple[CodeSystemContent, list[Record]]:
    items = _read(path, **options)
    assert len(items) == 1
    return items[0]


def _concepts(records: list[Record]) -> dict[str, Concept]:
    return {r.code: r for r in records if isinstance(r, Concept)}


def _props(records: list[Record], code: str) -> dict[str, str]:
    return {r.property: r.value for r in records
            if isinstance(r, ConceptProperty) and r.code == code}


def _parents(records: list[Record]) -> dict[str, str]:
    return {r.child: r.parent for r in records if isinstance(r, ParentLink)}


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _fixture_zip(tmp_path: Path, names: tuple[str, ...], folder: str) -> Path:
    files = {f"{folder}/{n}": (FIXTURES / n).read_bytes() for n in names}
    files["Vertragsbedingungen/downloadbedingungen.txt"] = b"not a kodes file"
    return _zip(tmp_path / "x1gmt2099.zip", files)


# -- ICD-10-GM ---------------------------------------------------------------------------------


def test_icd_zip_gives_hierarchy_titles_and_flags(tmp_path: Path) -> None:
    content, records = _one(_fixture_zip(tmp_path, ICD_FILES, "Klassifikationsdateien"))
    info = content.info
    assert (info.url, info.version, info.language) == (ICD_SYSTEM, "2099", "de")
    assert info.resource is not None and info.resource["copyright"] == ATTRIBUTION
    concepts = _concepts(records)
    kinds = Counter(p.value for p in records
                    if isinstance(p, ConceptProperty) and p.property == "kind")
    assert kinds == {"chapter": 3, "block": 4, "category": 12}
    assert info.resource["count"] == len(concepts) == 19
    # ISO-8859-1 detected; chapter and group titles from the kapitel/gruppen files
    assert concepts["A00.0"].display == "Testcholera durch Erreger Ä"
    assert concepts["I"].display == "Bestimmte infektiöse Testkrankheiten"
    assert concepts["I20-I25"].display == "Ischämische Testherzkrankheiten"
    parents = _parents(records)
    chain, code = [], "I25.11"
    while code in parents:
        code = parents[code]
        chain.append(code)
    assert chain == ["I25.1", "I25", "I20-I25", "IX"]
    assert parents["N05"] == "N00-N08"
    assert "XIV" not in parents and parents["N00-N08"] == "XIV"
    # non-terminal codes, blocks and chapters are abstract (notSelectable)
    assert concepts["I25.1"].abstract and concepts["I20-I25"].abstract and concepts["IX"].abstract
    assert not concepts["I25.11"].abstract
    assert _props(records, "I25.1")["notSelectable"] == "true"
    assert "notSelectable" not in _props(records, "I25.11")


def test_icd_properties_use_the_claml_names(tmp_path: Path) -> None:
    _, records = _one(FIXTURES / "icd10gm2099syst_kodes.txt")
    i2511 = _props(records, "I25.11")
    assert i2511 == {"kind": "category", "Para295": "P", "Para301": "P", "MortL1Code": "1-001",
                     "MortL2Code": "2-001", "MortL3Code": "3-001", "MortL4Code": "4-001",
                     "MortBCode": "001", "AgeLow": "j015",
                     "AgeHigh": "j124", "AgeReject": "K", "RareDisease": "N", "Content": "J",
                     "Infectious": "N", "EBMLabor": "N"}
    assert _props(records, "N08.3")["usage"] == "aster"
    assert _props(records, "N08.3")["Para295"] == "O"
    b950 = _props(records, "B95.0")
    assert b950["usage"] == "optional" and "MortL1Code" not in b950  # UNDEF is left out
    assert _props(records, "N05")["SexCode"] == "W"
    assert "SexCode" not in _props(records, "I25.11")  # 9 = irrelevant: no restriction
    assert "AgeLow" not in _props(records, "N05")  # 9999 = irrelevant
    assert _props(records, "A00.0")["Infectious"] == "J"


def test_plain_file_builds_blocks_and_chapters_without_titles() -> None:
    content, records = _one(FIXTURES / "icd10gm2099syst_kodes.txt")
    concepts = _concepts(records)
    assert content.info.version == "2099"
    # no gruppen file: a block runs from the group's first to its last three-char code
    assert concepts["I20-I25"].display is None and concepts["IX"].display is None
    assert _parents(records)["B95"] == "B95-B95"
    assert sum(1 for c in concepts if c not in ("I", "IX", "XIV") and "-" not in c) == 12


def test_gz_nested_zip_folder_and_version_option(tmp_path: Path) -> None:
    raw = (FIXTURES / "icd10gm2099syst_kodes.txt").read_bytes()
    gz = tmp_path / "icd10gm2099syst_kodes.txt.gz"
    gz.write_bytes(gzip.compress(raw))
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("Klassifikationsdateien/icd10gm2099syst_kodes_20980915.txt", raw)
    nested = _zip(tmp_path / "icd10gm2099syst-meta.zip", {"icd10gm2099syst-meta.zip":
                                                            inner.getvalue()})
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ICD_FILES:
        shutil.copy(FIXTURES / name, folder / name)
    codes = {frozenset(c for c in _concepts(records) if "-" not in c) for _, records in
             (_one(gz), _one(nested), _one(folder))}
    assert len(codes) == 1
    assert _one(gz, version="2099-beta")[0].info.version == "2099-beta"
    assert detect(gz) is not None and detect(gz).name == "bfarm-txt"  # type: ignore[union-attr]
    assert BfarmTxtLoader().detect(nested)
    assert get_loader("bfarm-txt").name == "bfarm-txt"


def test_utf8_and_latin1_give_the_same_text(tmp_path: Path) -> None:
    text = (FIXTURES / "icd10gm2099syst_kodes.txt").read_bytes().decode("latin-1")
    utf8 = tmp_path / "icd10gm2099syst_kodes.txt"
    utf8.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))  # with a BOM
    latin = _concepts(_one(FIXTURES / "icd10gm2099syst_kodes.txt")[1])
    assert _concepts(_one(utf8)[1]) == latin


# -- OPS ---------------------------------------------------------------------------------------


def test_ops_hierarchy_three_char_titles_and_flags(tmp_path: Path) -> None:
    content, records = _one(_fixture_zip(tmp_path, OPS_FILES, "Klassifikationsdateien"))
    assert (content.info.url, content.info.version) == (OPS_SYSTEM, "2099")
    concepts = _concepts(records)
    parents = _parents(records)
    chain, code = [], "1-202.10"
    while code in parents:
        code = parents[code]
        chain.append(code)
    assert chain == ["1-202.1", "1-202", "1-20", "1-20...1-33", "1"]
    assert concepts["1-20"].display == "Neurologische Testdiagnostik"
    assert concepts["1-20...1-33"].display == "Testdiagnostik am Nervensystem"
    assert concepts["1"].display == "Diagnostische Testmaßnahmen"
    assert _props(records, "1-202.10") == {"kind": "category", "Seite": "J", "Para17bd": "J",
                                           "ZusatzK": "N", "EinmalK": "J"}
    assert _props(records, "5-930")["ZusatzK"] == "J"
    assert concepts["1-202"].abstract and not concepts["1-202.10"].abstract
    assert content.info.resource is not None
    assert content.info.resource["count"] == len(concepts) == 6 + 3 + 3 + 2


def test_ops_plain_file_synthesizes_three_char_codes() -> None:
    _, records = _one(FIXTURES / "ops2099syst_kodes.txt")
    concepts = _concepts(records)
    assert concepts["1-20"].display is None
    assert _parents(records)["1-20"] == "1-20...1-20"


# -- errors ------------------------------------------------------------------------------------


def test_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    lines = (FIXTURES / "icd10gm2099syst_kodes.txt").read_bytes().splitlines()
    lines[3] = lines[3] + b";extra"
    bad = tmp_path / "icd10gm2099syst_kodes.txt"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(LoadError, match=r"icd10gm2099syst_kodes.txt:4: 29 fields"):
        _read(bad)


def test_zip_without_kodes_file_and_renamed_file_without_year(tmp_path: Path) -> None:
    empty = _zip(tmp_path / "other.zip", {"readme.txt": b"nothing"})
    with pytest.raises(LoadError, match="no ICD-10-GM or OPS"):
        _read(empty)
    renamed = tmp_path / "icd10gm.csv"
    shutil.copy(FIXTURES / "icd10gm2099syst_kodes.txt", renamed)
    with pytest.raises(LoadError, match="--version"):
        _read(renamed)
    content, _ = _one(renamed, version="2099")
    assert content.info.url == ICD_SYSTEM  # recognised by its rows
    assert not BfarmTxtLoader().detect(empty)


# -- real BfArM/DIMDI releases (../shared/data) -------------------------------------------------


def _category_count(records: list[Record]) -> int:
    return sum(1 for r in records if isinstance(r, ConceptProperty) and r.property == "kind"
               and r.value == "category")


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "codes"), [("icd10gm2021syst_kodes.txt.gz", 16_203),
                                              ("icd10gm2024syst_kodes.txt.gz", 16_793),
                                              ("icd10gm2025syst_kodes.txt.gz", 16_817)])
def test_real_bfarm_kodes_files_give_exactly_their_codes(name: str, codes: int) -> None:
    path = shared(f"icd10gm/bfarm-metadaten-txt/{name}")
    lines = [line for line in gzip.decompress(path.read_bytes()).splitlines() if line.strip()]
    content, records = _one(path)
    assert content.info.version == name[7:11]
    assert _category_count(records) == len(lines) == codes
    concepts = _concepts(records)
    assert concepts["I25.11"].display == "Atherosklerotische Herzkrankheit: Ein-Gefäß-Erkrankung"
    assert all(p in concepts for p in _parents(records).values())


@pytest.mark.shared_data
@pytest.mark.parametrize(("year", "codes", "oid"), [("2015", 15_761, "1.2.276.0.76.5.424"),
                                                     ("2016", 15_821, "1.2.276.0.76.5.430"),
                                                     ("2017", 15_930, "1.2.276.0.76.5.463")])
def test_real_dimdi_zips_load_as_downloaded(year: str, codes: int, oid: str) -> None:
    content, records = _one(shared(f"icd10gm/dimdi-metadaten-zips/x1gmt{year}.zip"))
    assert content.info.version == year
    assert content.info.resource is not None
    assert content.info.resource["identifier"][0]["value"] == f"urn:oid:{oid}"
    assert _category_count(records) == codes
    concepts = _concepts(records)
    assert concepts["I"].display == "Bestimmte infektiöse und parasitäre Krankheiten"
    assert concepts["A00-A09"].display == "Infektiöse Darmkrankheiten"
    a500 = _props(records, "A50.0")  # the days/years format (fields 23/25), not 22/24
    assert a500["AgeLow"][0] in "tj" and a500["AgeHigh"][0] in "tj", a500
