"""SNOMED CT RF2 loader: identity, content mapping, closure, refsets, errors."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from loaders.base import CodeSystemContent, LoadOptions
from loaders.snomed import SnomedRf2Loader
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.model import Concept, ConceptProperty, ConceptRelationship, Designation
from termserver.store import Store
from termserver.store.write import hierarchy_closure
from tests.helpers import shared

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "snomed"
VERSION = "http://snomed.info/sct/900000000000207008/version/20250101"
TERMINOLOGY = "Snapshot/Terminology"


def load_fixture(store: Store, path: Path = FIXTURE) -> None:
    load_path(store, SnomedRf2Loader(), path, LoadOptions())


def _content(path: Path = FIXTURE) -> CodeSystemContent:
    items = list(SnomedRf2Loader().read(path, LoadOptions()))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    return items[0]


def test_version_names_module_and_release_date() -> None:
    content = _content()
    assert content.info.url == "http://snomed.info/sct"
    assert content.info.version == VERSION
    assert SnomedRf2Loader().detect(FIXTURE)


def test_concepts_designations_and_attributes() -> None:
    records = list(_content().records)
    concepts = {r.code: r for r in records if isinstance(r, Concept)}
    assert concepts["235856003"].display == "Disorder of liver"
    assert concepts["307530000"].inactive
    # the preferred term first, then the FSN, then acceptable synonyms; no inactive ones
    liver = [d for d in records if isinstance(d, Designation) and d.code == "235856003"]
    assert [(d.value, d.use_code) for d in liver] == [
        ("Disorder of liver", "900000000000013009"),
        ("Disorder of liver (disorder)", "900000000000003001"),
        ("Hepatopathy", "900000000000013009")]
    assert not any(isinstance(d, Designation) and d.value == "Liver struct" for d in records)
    props = {(p.code, p.property): p for p in records if isinstance(p, ConceptProperty)}
    assert props[("235856003", "363698007")].value == "10200004"
    assert props[("235856003", "272741003")].type == "integer"
    assert props[("307530000", "status")].value == "inactive"
    assert props[("235856003", "effectiveTime")].value == "2025-01-01"
    groups = [r for r in records if isinstance(r, ConceptRelationship)]
    assert ConceptRelationship("235856003", "363698007", "10200004", 1) in groups


def test_store_closure_refsets_and_relationships(store: Store) -> None:
    load_fixture(store)
    cs = store.resolve_code_system("http://snomed.info/sct")
    assert cs is not None and cs.version == VERSION
    assert store.ancestors(cs.pk, "235856003") == {"64572001", "404684003", "138875005"}
    assert "235856003" in store.descendants(cs.pk, "404684003")
    assert store.subsumed(cs.pk, "138875005", "10200004")
    assert not store.subsumed(cs.pk, "10200004", "138875005")
    assert store.memberships(cs.pk, "307530000")[0][:3] == (
        "900000000000526001", "307530000", "64572001")
    assert store.refset_members(cs.pk, "900000000000526001") == {"307530000"}
    rels = store.relationships(cs.pk, type_ids={"363698007"})
    assert rels == [("235856003", "363698007", "10200004", 1, None)]


def test_a_zip_release_loads_too(tmp_path: Path) -> None:
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in FIXTURE.rglob("*.txt"):
            z.write(f, f"SnomedCT_Test/{f.relative_to(FIXTURE)}")
    content = _content(archive)
    assert content.info.version == VERSION
    assert sum(isinstance(r, Concept) for r in content.records) == 12


def test_version_option_overrides(tmp_path: Path) -> None:
    items = list(SnomedRf2Loader().read(FIXTURE, LoadOptions(version="http://snomed.info/"
                                                              "xsct/31000003106/version/1")))
    assert isinstance(items[0], CodeSystemContent)
    assert items[0].info.version == "http://snomed.info/xsct/31000003106/version/1"


def _broken(tmp_path: Path, name: str, line: int, text: str | None) -> Path:
    copy = tmp_path / "release"
    shutil.copytree(FIXTURE, copy)
    target = copy / TERMINOLOGY / name
    if text is None:
        target.unlink()
        return copy
    lines = target.read_text().splitlines()
    lines[line - 1] = text
    target.write_text("\n".join(lines) + "\n")
    return copy


@pytest.mark.parametrize(("name", "line", "text", "message"), [
    ("sct2_Concept_Snapshot_INT_20250101.txt", 3, "404684003\t20250101\t1",
     "expected 5 tab-separated fields"),
    ("sct2_Concept_Snapshot_INT_20250101.txt", 4, "6457x001\t20250101\t1\t900000000000207008\t"
     "900000000000074008", "bad SCTID"),
    ("sct2_Relationship_Snapshot_INT_20250101.txt", 2, "1020\t20250101\t1\t900000000000207008"
     "\t404684003\t138875005\tx\t116680003\t900000000000011006\t900000000000451002",
     "bad relationshipGroup"),
])
def test_malformed_rows_name_file_and_line(tmp_path: Path, store: Store, name: str, line: int,
                                           text: str, message: str) -> None:
    broken = _broken(tmp_path, name, line, text)
    with pytest.raises(LoadError) as info:
        load_fixture(store, broken)
    assert message in str(info.value)
    assert f"{name}:{line}" in str(info.value)
    assert store.code_systems() == []  # atomic: nothing stored


def test_a_missing_file_is_named(tmp_path: Path, store: Store) -> None:
    broken = _broken(tmp_path, "sct2_Relationship_Snapshot_INT_20250101.txt", 0, None)
    with pytest.raises(LoadError, match="sct2_Relationship"):
        load_fixture(store, broken)


def test_hierarchy_closure_is_sorted_both_ways_and_survives_cycles() -> None:
    down, up = hierarchy_closure([("b", "a"), ("c", "b"), ("c", "a"), ("a", "c"), ("d", "b")])
    down_pairs, up_pairs = list(down), list(up)
    assert down_pairs == sorted(down_pairs) and up_pairs == sorted(up_pairs)
    assert ("a", "d") in down_pairs and ("d", "a") in up_pairs
    assert all(x != y for x, y in down_pairs)


def test_the_real_subset_loads(store: Store) -> None:
    path = shared("snomed-ct/hl7-tx-ecosystem-int-20250909-subontology")
    load_fixture(store, path)
    cs = store.resolve_code_system("http://snomed.info/sct")
    assert cs is not None and cs.concept_count == 2258
    assert len(store.descendants(cs.pk, "10200004")) == 309
