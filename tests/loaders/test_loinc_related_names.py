"""LOINC linguistic variants: RELATEDNAMES2 (German related names, ";"-separated) loaded as
designations in the variant's language (de-DE, de-AT) with use code RELATEDNAMES2, split and
deduplicated. The real-file tests read ../shared/data (skipped with a reason when absent).
No database.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from loaders.base import CodeSystemAddition, CodeSystemContent, LoadOptions
from loaders.loinc import LoincLoader
from loaders.loinc_variant import LoincVariantLoader, row_names
from termserver.model import Designation, Record
from tests.helpers import shared

SYSTEM = "http://loinc.org"
RELEASE = Path(__file__).resolve().parent.parent / "fixtures" / "loinc" / "release"
VARIANTS = "loinc/loinc-2.74-accessory/LinguisticVariants"
HEADER = ('"LOINC_NUM","COMPONENT","PROPERTY","TIME_ASPCT","SYSTEM","SCALE_TYP","METHOD_TYP",'
          '"CLASS","SHORTNAME","LONG_COMMON_NAME","RELATEDNAMES2","LinguisticVariantDisplayName"')


def _designations(path: Path) -> list[Designation]:
    items = list(LoincVariantLoader().read(path, LoadOptions(version="2.78")))
    assert len(items) == 1 and isinstance(items[0], CodeSystemAddition)
    records = list(items[0].records)
    assert all(isinstance(r, Designation) for r in records)
    return [r for r in records if isinstance(r, Designation)]


def _related(records: list[Designation]) -> list[Designation]:
    return [d for d in records if d.use_code == "RELATEDNAMES2"]


def test_row_names_split_strip_and_drop_empty_parts() -> None:
    assert row_names(" Ca; Kalzium ;; ", True) == ["Ca", "Kalzium"]
    assert row_names("Ca; Kalzium", False) == ["Ca; Kalzium"]
    assert row_names("", True) == [] and row_names("", False) == []


def test_related_names_split_and_deduplicated(tmp_path: Path) -> None:
    path = tmp_path / "deAT24LinguisticVariant.csv"
    path.write_text("\n".join((
        HEADER,
        # one related name repeats the display name (folded), one repeats another related name
        '"17861-6","","","","","","","","","","calcium  /s;Kalzium; KALZIUM;",'
        '"Calcium /S"',
        '"2160-0","","","","","","","","","","Krea; Kreatinin",""',
        '"6298-4","","","","","","","","","","","Kalium/Blut"')) + "\n", encoding="utf-8")
    records = _designations(path)
    assert [(d.code, d.value) for d in _related(records)] == [
        ("17861-6", "Kalzium"), ("2160-0", "Krea"), ("2160-0", "Kreatinin")]
    assert all((d.language, d.use_system) == ("de-AT", SYSTEM) for d in records)
    assert Designation("17861-6", "Calcium /S", "de-AT", SYSTEM, "LinguisticVariantDisplayName",
                       "LinguisticVariantDisplayName") in records


def test_full_release_keeps_the_austrian_related_name() -> None:
    items = list(LoincLoader().read(RELEASE, LoadOptions(version="2.79")))
    content = items[0]
    assert isinstance(content, CodeSystemContent)
    records: list[Record] = list(content.records)
    assert Designation("6298-4", "Kalium/B", "de-AT", SYSTEM, "RELATEDNAMES2",
                       "RELATEDNAMES2") in records
    assert Designation("6298-4", "Kalium/Blut", "de-AT", SYSTEM, "LinguisticVariantDisplayName",
                       "LinguisticVariantDisplayName") in records


@pytest.mark.shared_data
def test_real_german_variant_related_names() -> None:
    records = _designations(shared(f"{VARIANTS}/deDE15LinguisticVariant.csv.gz"))
    related = _related(records)
    # 2,962 rows carry related names: 4,172 names after splitting, none repeating a long name
    assert len(related) == 4_172
    assert len({d.code for d in related}) == 2_962
    assert all(d.language == "de-DE" for d in related)
    by_code = {(d.code, d.value) for d in related}
    assert {("14417-0", "Ca"), ("14417-0", "Kalzium"), ("13903-0", "ADH"),
            ("13903-0", "Antidiuretisches Hormon")} <= by_code
    assert len(records) == 16_011 + 4_172  # one long name per row, plus the related names


@pytest.mark.shared_data
def test_real_austrian_variant_related_names() -> None:
    records = _designations(shared(f"{VARIANTS}/deAT24LinguisticVariant.csv.gz"))
    related = _related(records)
    # 6,840 rows, 6,881 names; those equal to the row's display name (folded) are left out
    assert len(related) == 3_258
    assert all(d.language == "de-AT" for d in related)
    assert ("43730-1", "EBV-DNA qn. PCR") in {(d.code, d.value) for d in related}
    # the Austrian discharge letter has only related names (no display name): both kept
    assert {d.value for d in related if d.code == "94519-6"} == {
        "Bericht Entlassungsbrief aus stationärer Behandlung (Arzt)",
        "Ärztlicher Entlassungsbrief"}
    folded = Counter((d.code, " ".join(d.value.casefold().split())) for d in records)
    assert max(folded.values()) == 1


@pytest.mark.shared_data
def test_real_variant_gzip_and_plain_read_alike(tmp_path: Path) -> None:
    gz = shared(f"{VARIANTS}/deAT24LinguisticVariant.csv.gz")
    plain = tmp_path / "deAT24LinguisticVariant.csv"
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    assert _related(_designations(plain)) == _related(_designations(gz))
