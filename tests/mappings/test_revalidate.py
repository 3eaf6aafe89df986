"""Re-validation of accepted targets against a newer target version: missing and inactive
codes, replacements from an Umsteiger-like ConceptMap (v1→v2, and chained v1→v2→v3), LOINC
MAP_TO and SNOMED CT historical associations."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator

import pytest

from loaders.base import ConceptMapContent, LoadOptions
from loaders.bfarm_txt import BfarmTxtLoader
from loaders.loinc import LoincLoader
from loaders.umsteiger import ICD_SYSTEM, UmsteigerLoader
from mappings.model import Decision, Flag, Project, Target
from mappings.revalidate import revalidate
from termserver.errors import NotFound
from termserver.ingest import load_path, save_concept_map_content
from termserver.model import (
    Concept,
    ConceptMapInfo,
    ConceptProperty,
    MapElement,
    RefsetMembership,
)
from termserver.store import Store
from tests.helpers import shared
from tests.mappings.test_publish import LAB, LOINC, load_code_system

TGT = "http://example.org/CodeSystem/diagnoses"
SNOMED = "http://snomed.info/sct"
PROJECT = Project(id="dx", title="Dx", source_system=LAB, source_version="1",
                  target_system=TGT, target_version="2023")


def _map(store: Store, old: str, new: str, rows: list[tuple[str, str | None, str]]) -> None:
    info = ConceptMapInfo(url=f"http://example.org/cm/umsteiger-{old}-{new}", version=new,
                          source_system=TGT, target_system=TGT, source_version=old,
                          target_version=new)
    elements = [MapElement(0, TGT, old, src, None, TGT, new, tgt, None, rel,
                           "unmatched" if tgt is None else "equivalent")
                for src, tgt, rel in rows]
    with store.writer() as w:
        save_concept_map_content(w, ConceptMapContent(info, iter(elements)))


@pytest.fixture
def versions(store: Store) -> Store:
    """2023: A–E; 2024: A, B inactive (MAP_TO F), C gone (successor E by the map), D retired,
    E, F, G gone without successor; 2025 renames E to E2 (a second map)."""
    load_code_system(store, TGT, "2023", [Concept(c, f"Concept {c}") for c in "ABCDEG"])
    load_code_system(store, TGT, "2024", [
        Concept("A", "Concept A"), Concept("B", "Concept B", inactive=True),
        ConceptProperty("B", "MAP_TO", "F", "Coding", TGT),
        Concept("D", "Concept D"), ConceptProperty("D", "status", "retired", "code"),
        Concept("E", "Concept E"), Concept("F", "Concept F")])
    _map(store, "2023", "2024", [("A", "A", "equivalent"), ("C", "E", "equivalent"),
                                 ("G", None, "not-related-to")])
    return store


def _decisions() -> list[Decision]:
    return [Decision(f"s{c}", "accepted", (Target(c),)) for c in "ABCDG"] + [
        Decision("sx", "rejected", (Target("C", relationship="not-related-to"),)),
        Decision("sy", "needs-review", (Target("C"),))]


def _summary(flags: list[Flag]) -> list[tuple[str, str, str, list[str]]]:
    return [(f.source_code, f.target_code, f.problem, [r.code for r in f.replacements])
            for f in flags]


def test_missing_and_inactive_targets_in_the_newest_version(versions: Store) -> None:
    flags = revalidate(versions, PROJECT, _decisions())
    assert _summary(flags) == [("sB", "B", "inactive", ["F"]), ("sC", "C", "missing", ["E"]),
                               ("sD", "D", "inactive", []), ("sG", "G", "missing", [])]
    assert {f.target_version for f in flags} == {"2024"}
    by = {f.target_code: f for f in flags}
    assert by["C"].replacements[0].display == "Concept E"
    assert by["C"].replacements[0].version == "2024"
    assert "umsteiger-2023-2024" in by["C"].why and "not in" in by["C"].why
    assert "LOINC MAP_TO" in by["B"].why and by["B"].replacements[0].display == "Concept F"


def test_the_old_version_itself_has_no_flags(versions: Store) -> None:
    assert revalidate(versions, PROJECT, _decisions(), new_version="2023") == []
    with pytest.raises(NotFound):
        revalidate(versions, PROJECT, _decisions(), new_version="2030")


def test_successor_found_through_a_chain_of_maps(versions: Store) -> None:
    load_code_system(versions, TGT, "2025", [Concept("A", "Concept A"), Concept("E2", "E new")])
    _map(versions, "2024", "2025", [("A", "A", "equivalent"), ("E", "E2", "equivalent")])
    flags = revalidate(versions, PROJECT, [Decision("sC", "accepted", (Target("C"),))])
    assert _summary(flags) == [("sC", "C", "missing", ["E2"])]
    assert flags[0].target_version == "2025"
    # without a pinned version the newest older version holding the code is the start
    unpinned = Project(id="dx", title="Dx", source_system=LAB, source_version="1",
                       target_system=TGT)
    flags = revalidate(versions, unpinned, [Decision("sE", "accepted", (Target("E"),))])
    assert _summary(flags) == [("sE", "E", "missing", ["E2"])]


def test_snomed_historical_associations(store: Store) -> None:
    load_code_system(store, SNOMED, "http://snomed.info/sct/900000000000207008/version/20250101", [
        Concept("100", "Old disorder", inactive=True), Concept("200", "New disorder"),
        Concept("300", "Maybe this"), Concept("400", "Old finding", inactive=True),
        RefsetMembership("900000000000526001", "100", "200"),
        RefsetMembership("900000000000523009", "100", "300"),
        RefsetMembership("900000000000527005", "400", "200")])
    project = Project(id="sn", title="Sn", source_system=LAB, source_version="1",
                      target_system=SNOMED)
    flags = revalidate(store, project, [Decision("a", "accepted", (Target("100"),)),
                                        Decision("b", "accepted", (Target("200"),)),
                                        Decision("c", "accepted", (Target("400"),))])
    assert _summary(flags) == [("a", "100", "inactive", ["200", "300"]),
                               ("c", "400", "inactive", ["200"])]
    first = flags[0].replacements
    assert [(r.relationship, r.comment, r.display) for r in first] == [
        ("equivalent", "REPLACED BY", "New disorder"),
        ("related-to", "POSSIBLY EQUIVALENT TO", "Maybe this")]
    assert "SAME AS" in flags[1].why


# -- real releases from ../shared/data (skipped when absent) -------------------------------


def _real_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(f"sqlite:///{tmp_path_factory.mktemp('real') / 'termserver.db'}")


ZIPS = "icd10gm/dimdi-metadaten-zips"


@pytest.fixture(scope="module")
def icd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """ICD-10-GM 2015, 2016 and 2017 (DIMDI) with the Umsteiger 2015→2016 and 2016→2017."""
    kodes = [shared(f"{ZIPS}/x1gmt{year}.zip") for year in (2015, 2016, 2017)]
    maps = [shared(f"{ZIPS}/x1gut{year}.zip") for year in (2016, 2017)]
    store = _real_store(tmp_path_factory)
    for path in kodes:
        load_path(store, BfarmTxtLoader(), path, LoadOptions())
    for path in maps:
        load_path(store, UmsteigerLoader(), path, LoadOptions())
    yield store
    store.close()


def _forward(year: int) -> dict[str, set[str]]:
    """Source code → successor codes of the Umsteiger into `year`, read by the loader."""
    out: dict[str, set[str]] = {}
    for item in UmsteigerLoader().read(shared(f"{ZIPS}/x1gut{year}.zip"), LoadOptions()):
        assert isinstance(item, ConceptMapContent)
        if item.info.target_version == str(year):
            for e in item.elements:
                out.setdefault(e.source_code, set())
                if e.target_code and e.relationship != "not-related-to":
                    out[e.source_code].add(e.target_code)
    return out


def test_real_icd10gm_codes_gone_get_umsteiger_successors_over_two_years(icd: Store) -> None:
    first, last = (icd.resolve_code_system(ICD_SYSTEM, v) for v in ("2015", "2017"))
    assert first is not None and last is not None
    in_2017 = icd.concept_codes(last.pk, include_inactive=True)
    gone = sorted(icd.concept_codes(first.pk, include_inactive=True) - in_2017)
    to_2016, to_2017 = _forward(2016), _forward(2017)
    want = {c: {t for mid in to_2016.get(c, set()) for t in to_2017.get(mid, set())} - {c}
            for c in gone}
    assert len(gone) >= 20 and sum(1 for c in gone if want[c]) >= 5
    project = Project(id="icd", title="ICD", source_system=LAB, source_version="1",
                      target_system=ICD_SYSTEM, target_version="2015")
    kept = sorted(in_2017)[:50]
    decisions = [Decision(f"s-{c}", "accepted", (Target(c),)) for c in gone + kept]
    flags = revalidate(icd, project, decisions, new_version="2017")
    assert [f.target_code for f in flags] == gone  # every gone code, no kept one
    assert {f.problem for f in flags} == {"missing"}
    got = {f.target_code: {r.code for r in f.replacements} for f in flags}
    assert got == want
    assert all(r.version == "2017" for f in flags for r in f.replacements)


@pytest.fixture(scope="module")
def loinc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """LOINC 2.78 Table Core with the (2.74) MapTo.csv beside it."""
    core = shared("loinc/LoincTableCore_2.78.csv.gz")
    map_to = shared("loinc/loinc-2.74-accessory/LoincTable/MapTo.csv")
    release = tmp_path_factory.mktemp("loinc")
    for src in (core, map_to):
        (release / src.name).symlink_to(src)
    store = _real_store(tmp_path_factory)
    load_path(store, LoincLoader(), release, LoadOptions())
    yield store
    store.close()


def test_real_loinc_deprecated_targets_with_map_to(loinc: Store) -> None:
    with gzip.open(shared("loinc/LoincTableCore_2.78.csv.gz"), "rt", encoding="utf-8") as f:
        status = {r["LOINC_NUM"]: r["STATUS"] for r in csv.DictReader(f)}
    with shared("loinc/loinc-2.74-accessory/LoincTable/MapTo.csv").open(encoding="utf-8") as f:
        map_to: dict[str, set[str]] = {}
        for r in csv.DictReader(f):
            if r["MAP_TO"] in status:
                map_to.setdefault(r["LOINC"], set()).add(r["MAP_TO"])
    deprecated = sorted(c for c, s in status.items() if s == "DEPRECATED" and c in map_to)[:60]
    deprecated += sorted(c for c, s in status.items() if s == "DEPRECATED"
                         and c not in map_to)[:20]
    active = sorted(c for c, s in status.items() if s == "ACTIVE")[:100]
    project = Project(id="lab", title="Lab", source_system=LAB, source_version="1",
                      target_system=LOINC)
    decisions = [Decision(f"s-{c}", "accepted", (Target(c),))
                 for c in deprecated + active + ["99999-9"]]
    flags = revalidate(loinc, project, decisions)
    assert [(f.target_code, f.problem) for f in flags] == \
        [(c, "inactive") for c in deprecated] + [("99999-9", "missing")]
    assert {f.target_version for f in flags} == {"2.78"}
    got = {f.target_code: {r.code for r in f.replacements} for f in flags}
    assert all(got[c] == map_to.get(c, set()) for c in deprecated)
    assert sum(1 for c in deprecated if got[c]) == 60
