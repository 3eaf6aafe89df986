"""LOINC Part files (issue 14, defect 5): the axes of a term become `Coding` properties (Part
code + name, as in LOINC's own FHIR CodeSystem) when a release load has
`AccessoryFiles/PartFile/Part.csv` or `LoincPartLink_Primary.csv`, so the MII microbiology
filters (`PROPERTY = LP6870-2`) match as well as `PROPERTY = Susc`; without the Part data the
filter says so (`filter_notes`) instead of answering an empty set silently.

Real data from ../shared/data/loinc: the 2.78 core table (a slice of its rows, written to a
temporary folder) and the HL7 tx-ecosystem LOINC subset's Part files."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from loaders.base import CodeSystemContent, LoadOptions
from loaders.loinc import LoincLoader
from termserver.errors import LoadError
from termserver.ingest import load_path
from termserver.model import Concept, ConceptProperty, Filter, Record
from termserver.service.filters import filter_notes, filter_test
from termserver.service.provider import MemoryCodeSystem, StoredCodeSystemProvider
from termserver.store import Store
from tests.helpers import shared

CORE = "loinc/LoincTableCore_2.78.csv.gz"
SUBSET = "loinc/hl7-tx-ecosystem-loinc-subset"
LOINC = "http://loinc.org"
SUSC, MIC = "LP6870-2", "LP28723-2"
#: the MII phenotype value set's include (mii-vs-mikrobio-empfindlichkeit-phenotyp-loinc)
PHENOTYPE = (Filter("CLASS", "=", "ABXBACT"), Filter("PROPERTY", "=", SUSC),
             Filter("STATUS", "=", "ACTIVE"), Filter("ORDER_OBS", "=", "Observation"))


def _core_slice(folder: Path, wanted: int = 400) -> dict[str, dict[str, str]]:
    """The header and the first `wanted` ABXBACT rows of the real 2.78 core table, written as
    `folder/LoincTableCore_2.78.csv.gz`, plus the subset's terms; returns the rows by code."""
    with (shared(SUBSET) / "LoincTable" / "Loinc.csv").open(encoding="utf-8-sig") as table:
        subset = {row["LOINC_NUM"] for row in csv.DictReader(table)}
    lines: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    with gzip.open(shared(CORE), "rt", encoding="utf-8-sig", newline="") as f:
        header = f.readline()
        columns = next(csv.reader([header]))
        for line in f:
            values = next(csv.reader([line]))
            row = dict(zip(columns, values, strict=True))
            if (row["CLASS"] == "ABXBACT" and wanted > 0) or row["LOINC_NUM"] in subset:
                wanted -= row["CLASS"] == "ABXBACT"
                lines.append(line)
                rows[row["LOINC_NUM"]] = row
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "LoincTableCore_2.78.csv.gz", "wt", encoding="utf-8") as out:
        out.write(header + "".join(lines))
    return rows


def _with_parts(folder: Path) -> Path:
    target = folder / "AccessoryFiles" / "PartFile"
    shutil.copytree(shared(SUBSET) / "AccessoryFiles" / "PartFile", target)
    return folder


def _read(path: Path) -> tuple[CodeSystemContent, list[Record]]:
    items = list(LoincLoader().read(path, LoadOptions(version="2.78")))
    assert len(items) == 1 and isinstance(items[0], CodeSystemContent)
    return items[0], list(items[0].records)


def _memory(path: Path) -> MemoryCodeSystem:
    content, records = _read(path)
    return MemoryCodeSystem(content.info, records, source=content.info.resource)


def _matching(cs: MemoryCodeSystem, filters: tuple[Filter, ...]) -> set[str]:
    tests = [filter_test(cs, f) for f in filters]
    return {d.concept.code for d in cs.concepts() if all(t(d) for t in tests)}


def test_subset_release_axes_are_part_codings() -> None:
    _, records = _read(shared(SUBSET))
    props = [r for r in records if isinstance(r, ConceptProperty) and r.code == "100041-3"]
    prop = [p for p in props if p.property == "PROPERTY"]
    assert [(p.type, p.value, p.value_display) for p in prop] == [("Coding", SUSC, "Susc")]
    # every primary axis link names a Part that is a concept of the version
    concepts = {r.code for r in records if isinstance(r, Concept)}
    with (shared(SUBSET) / "AccessoryFiles" / "PartFile" / "LoincPartLink_Primary.csv").open(
            encoding="utf-8-sig") as f:
        linked = {row["PartNumber"] for row in csv.DictReader(f)}
    assert linked <= concepts


def test_a_table_name_differing_in_case_from_the_part_name_finds_the_part() -> None:
    """Loinc.csv says `Yellow Fever virus Ab.IgG`, the Part is `Yellow fever virus Ab.IgG`."""
    path = shared(SUBSET)
    with (path / "AccessoryFiles" / "PartFile" / "LoincPartLink_Primary.csv").open(
            encoding="utf-8-sig") as f:
        link = next(r for r in csv.DictReader(f) if r["PartName"] == "Yellow fever virus Ab.IgG")
    _, records = _read(path)
    component = [r for r in records if isinstance(r, ConceptProperty)
                 and r.code == link["LoincNumber"] and r.property == "COMPONENT"]
    assert [(c.type, c.value) for c in component] == [("Coding", link["PartNumber"])]


def test_core_table_with_part_files_matches_part_codes_and_names(tmp_path: Path) -> None:
    rows = _core_slice(tmp_path / "Loinc_2.78")
    cs = _memory(_with_parts(tmp_path / "Loinc_2.78"))
    expected = {c for c, r in rows.items() if r["CLASS"] == "ABXBACT" and
                r["PROPERTY"] == "Susc" and r["STATUS"] == "ACTIVE"}
    assert len(expected) > 100
    by_code = _matching(cs, PHENOTYPE[:3])
    assert by_code == expected
    assert _matching(cs, (*PHENOTYPE[:1], Filter("PROPERTY", "=", "Susc"), PHENOTYPE[2])) \
        == expected
    # the Part data is there: no note for the Part code; ORDER_OBS has no data in the core
    # table (no ORDER_OBS column, no lab orders file): that is said
    notes = filter_notes(cs, PHENOTYPE)
    assert len(notes) == 1 and "ORDER_OBS" in notes[0], notes
    # MIC is not in the subset's Part.csv: the exclude of the value set cannot be evaluated
    (note,) = filter_notes(cs, (Filter("METHOD_TYP", "=", MIC),))
    assert MIC in note and "Part" in note


def test_core_table_alone_says_the_part_filter_cannot_be_evaluated(tmp_path: Path) -> None:
    _core_slice(tmp_path / "core")
    cs = _memory(tmp_path / "core" / "LoincTableCore_2.78.csv.gz")
    assert _matching(cs, PHENOTYPE[:3]) == set()  # no Part codes: nothing matches …
    notes = filter_notes(cs, PHENOTYPE)
    assert any(SUSC in n and "Part" in n for n in notes), notes  # … and that is said
    assert any("ORDER_OBS" in n for n in notes), notes
    assert not any("CLASS" in n or "STATUS" in n for n in notes), notes
    assert filter_notes(cs, (Filter("PROPERTY", "=", "Susc"),)) == []


def test_part_files_alone_are_refused_with_a_hint(tmp_path: Path) -> None:
    folder = _with_parts(tmp_path / "Loinc_2.78_parts")
    with pytest.raises(LoadError) as info:
        list(LoincLoader().read(folder, LoadOptions()))
    assert "Part files" in info.value.message


def test_stored_part_filters_in_memory_and_paged(tmp_path: Path, client: TestClient,
                                                 store: Store) -> None:
    rows = _core_slice(tmp_path / "Loinc_2.78")
    load_path(store, LoincLoader(), _with_parts(tmp_path / "Loinc_2.78"),
              LoadOptions(version="2.78"))
    expected = {c for c, r in rows.items() if r["CLASS"] == "ABXBACT" and r["PROPERTY"] == "Susc"}
    wanted = [{"property": "CLASS", "op": "=", "value": "ABXBACT"},
              {"property": "PROPERTY", "op": "=", "value": SUSC}]
    include = {"system": LOINC, "filter": wanted}
    vs = {"resourceType": "ValueSet", "status": "active", "compose": {"include": [include]}}
    for extra in ([], [{"name": "count", "valueInteger": 1000}]):  # in memory / from SQL
        r = client.post("/fhir/ValueSet/$expand", json={"resourceType": "Parameters",
                        "parameter": [{"name": "valueSet", "resource": vs}, *extra]})
        assert r.status_code == 200, r.text
        codes = {c["code"] for c in r.json()["expansion"].get("contains", [])}
        assert codes == expected, extra
    stored = store.resolve_code_system(LOINC, "2.78")
    assert stored is not None
    provider = StoredCodeSystemProvider(store, stored)
    assert filter_notes(provider, tuple(
        Filter(f["property"], f["op"], f["value"]) for f in wanted)) == []
    notes = filter_notes(provider, PHENOTYPE)
    assert len(notes) == 1 and "ORDER_OBS" in notes[0], notes
