"""LoincLoader and LoincVariantLoader on their own: what they yield from the full and the core
layout (folder, zip, single CSV, .gz), the version, and how malformed input fails. No database.
Fixture rows are real LOINC content (see tests/fixtures/loinc/README.md and LOINC_NOTICE.txt).
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from loaders import detect, get_loader
from loaders.base import CodeSystemAddition, CodeSystemContent, LoadOptions
from loaders.loinc import LoincLoader
from loaders.loinc_files import variant_language
from loaders.loinc_variant import LoincVariantLoader
from termserver.errors import LoadError
from termserver.model import Concept, ConceptProperty, Designation, ParentLink, Record

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "loinc"
RELEASE = FIXTURES / "release"
CORE = FIXTURES / "LoincTableCore_2.78.csv"
VARIANT = FIXTURES / "deDE15LinguisticVariant.csv"


def _content(path: Path, **options: str) -> tuple[CodeSystemContent, list[Record]]:
    items = list(LoincLoader().read(path, LoadOptions(**options)))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    return items[0], list(items[0].records)


def _props(records: list[Record], code: str) -> dict[str, list[ConceptProperty]]:
    out: dict[str, list[ConceptProperty]] = {}
    for r in records:
        if isinstance(r, ConceptProperty) and r.code == code:
            out.setdefault(r.property, []).append(r)
    return out


def _concepts(records: list[Record]) -> dict[str, Concept]:
    return {r.code: r for r in records if isinstance(r, Concept)}


# -- the full layout -----------------------------------------------------------------------------


def test_full_release_folder_gives_terms_parts_answers_hierarchy_and_german() -> None:
    content, records = _content(RELEASE, version="2.79")
    info = content.info
    assert (info.url, info.version, info.language, info.case_sensitive) == \
        ("http://loinc.org", "2.79", "en-US", False)
    concepts = _concepts(records)
    assert concepts["6298-4"].display == "Potassium [Moles/volume] in Blood"
    assert not concepts["6298-4"].inactive
    assert concepts["5927-9"].inactive  # DEPRECATED
    assert not concepts["22760-3"].inactive  # DISCOURAGED stays active, status deprecated
    assert {"LL744-4", "LA11882-0"} <= set(concepts)  # the answer list and an answer
    assert any(c.startswith("LP") for c in concepts)  # parts and hierarchy nodes
    props = _props(records, "6298-4")
    component = props["COMPONENT"][0]
    assert (component.type, component.value_display) == ("Coding", "Potassium")
    assert component.value.startswith("LP")
    assert props["CLASS"][0].value_display == "CHEM"
    assert props["ORDER_OBS"][0].value == "Both"
    assert props["STATUS"][0].value == "ACTIVE"
    assert _props(records, "22760-3")["status"][0].value == "deprecated"
    assert _props(records, "5927-9")["status"][0].value == "retired"
    assert _props(records, "62580-6")["status"][0].value == "experimental"
    assert _props(records, "101421-6")["answer-list"][0].value == "LL744-4"
    assert [p.value for p in _props(records, "LL744-4")["Answer"]] == ["LA11882-0", "LA11883-8"]
    assert _props(records, "LA11882-0")["LIST"][0].value == "LL744-4"
    assert any(isinstance(r, ParentLink) and r.child == "6298-4" for r in records)
    german = [r for r in records if isinstance(r, Designation) and r.code == "6298-4"
              and r.language == "de-DE"]
    assert german[0].value == "Kalium [Mol/Volumen] in Blut"
    assert german[0].use_code == "LONG_COMMON_NAME"
    assert any(isinstance(r, Designation) and r.language == "de-AT" for r in records)
    shortname = [r for r in records if isinstance(r, Designation) and r.code == "6298-4"
                 and r.use_code == "SHORTNAME"]
    assert shortname[0].value == "Potassium Bld-sCnc" and shortname[0].language == "en-US"


def test_the_version_comes_from_the_newest_version_last_changed_without_a_name() -> None:
    content, _ = _content(RELEASE)  # folder "release", no read-me
    assert content.info.version == "2.75"  # the newest VersionLastChanged of its six rows


def test_a_zip_release_reads_like_the_folder(tmp_path: Path) -> None:
    archive = tmp_path / "Loinc_2.79.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in RELEASE.rglob("*.csv"):
            zf.write(f, f"Loinc_2.79/{f.relative_to(RELEASE)}")
    content, records = _content(archive)
    _, from_folder = _content(RELEASE)
    assert content.info.version == "2.79"  # from the archive name
    assert sorted(map(repr, records)) == sorted(map(repr, from_folder))


# -- the core layout ----------------------------------------------------------------------------


def test_core_table_gz_without_parts_gives_string_axes(tmp_path: Path) -> None:
    gz = tmp_path / "LoincTableCore_2.78.csv.gz"
    gz.write_bytes(gzip.compress(CORE.read_bytes()))
    content, records = _content(gz)
    assert content.info.version == "2.78"  # from the file name
    concepts = _concepts(records)
    assert len(concepts) == 7
    assert concepts["2160-0"].display == "Creatinine [Mass/volume] in Serum or Plasma"
    props = _props(records, "2160-0")
    assert (props["COMPONENT"][0].type, props["COMPONENT"][0].value) == ("string", "Creatinine")
    assert props["CLASSTYPE"][0].value == "1"
    assert "METHOD_TYP" not in props  # empty column: no property
    assert "PROPERTY" not in _props(records, "62580-6")  # "-" means none
    types = {p["code"]: p["type"] for p in content.info.resource["property"]}  # type: ignore[index]
    assert types["COMPONENT"] == "string" and types["answer-list"] == "Coding"


def test_version_option_wins(tmp_path: Path) -> None:
    content, _ = _content(CORE, version="2.78-local")
    assert content.info.version == "2.78-local"


def test_detection_and_registry() -> None:
    assert isinstance(detect(CORE), LoincLoader)
    assert isinstance(detect(VARIANT), LoincVariantLoader)
    assert isinstance(get_loader("loinc-variant"), LoincVariantLoader)


# -- linguistic variants on their own ------------------------------------------------------------


@pytest.mark.parametrize(("name", "tag"), [("deDE15LinguisticVariant.csv", "de-DE"),
                                           ("deAT24LinguisticVariant.csv", "de-AT"),
                                           ("zhCN5LinguisticVariant.csv", "zh-CN"),
                                           ("Loinc.csv", None)])
def test_variant_language_from_the_file_name(name: str, tag: str | None) -> None:
    assert variant_language(name) == tag


def test_a_variant_file_is_an_addition_in_its_language(tmp_path: Path) -> None:
    gz = tmp_path / "deDE15LinguisticVariant.csv.gz"
    gz.write_bytes(gzip.compress(VARIANT.read_bytes()))
    for loader in (LoincVariantLoader(), LoincLoader()):
        items = list(loader.read(gz, LoadOptions(version="2.78")))
        assert len(items) == 1 and isinstance(items[0], CodeSystemAddition)
        addition = items[0]
        assert (addition.url, addition.version, addition.replace_languages) == \
            ("http://loinc.org", "2.78", ("de-DE",))
        records = list(addition.records)
        assert Designation("2160-0", "Creatinin [Masse/Volumen] in Serum oder Plasma", "de-DE",
                           "http://loinc.org", "LONG_COMMON_NAME", "LONG_COMMON_NAME") in records
        assert all(isinstance(r, Designation) for r in records)


# -- errors name file and line -------------------------------------------------------------------


def _copy_release(tmp_path: Path) -> Path:
    target = tmp_path / "release"
    shutil.copytree(RELEASE, target)
    return target


def _fails(path: Path, **options: str) -> str:
    with pytest.raises(LoadError) as info:
        for item in LoincLoader().read(path, LoadOptions(**options)):
            if isinstance(item, CodeSystemContent):
                list(item.records)
    return info.value.message


def test_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    release = _copy_release(tmp_path)
    table = release / "LoincTable" / "Loinc.csv"
    lines = table.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3] + ',"extra"'
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = _fails(release, version="1")
    assert f"{table}:4: 41 columns where the header has 40" in message


def test_bad_loinc_code_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "LoincTableCore_2.78.csv"
    lines = CORE.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"2160-0"', '"2160_0"')
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f"{bad}:3: LOINC_NUM '2160_0' is not a valid LOINC code" in _fails(bad)


def test_bad_part_code_in_the_hierarchy(tmp_path: Path) -> None:
    release = _copy_release(tmp_path)
    hierarchy = next(release.rglob("ComponentHierarchyBySystem.csv"))
    text = hierarchy.read_text(encoding="utf-8")
    hierarchy.write_text(text.replace('"LP29693-6","Laboratory"', '"XX29693-6","Laboratory"',
                                      1), encoding="utf-8")
    assert f"{hierarchy}:3:" in _fails(release, version="1")


def test_missing_column_and_missing_table(tmp_path: Path) -> None:
    bad = tmp_path / "LoincTableCore_2.78.csv"
    bad.write_text('"LOINC_NUM","COMPONENT"\n"2160-0","Creatinine"\n', encoding="utf-8")
    assert "missing column(s) LONG_COMMON_NAME, STATUS" in _fails(bad)
    empty = tmp_path / "Loinc_2.78"
    (empty / "AccessoryFiles").mkdir(parents=True)
    (empty / "AccessoryFiles" / "Part.csv").write_text('"PartNumber"\n', encoding="utf-8")
    assert "no LOINC table" in _fails(empty)


def test_a_gzip_that_is_not_a_csv(tmp_path: Path) -> None:
    bad = tmp_path / "LoincTableCore_2.78.csv.gz"
    bad.write_bytes(gzip.compress(b"\xff\xfe\x00garbage"))
    assert str(bad) in _fails(bad)


def test_duplicate_code_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "LoincTableCore_2.78.csv"
    lines = CORE.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([*lines, lines[2]]) + "\n", encoding="utf-8")
    assert f"{bad}:9: LOINC code 2160-0 appears twice" in _fails(bad)
