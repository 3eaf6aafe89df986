"""Map projects whose source codes a ValueSet restricts (on both backends): the worklist,
progress, decisions, suggestion jobs and publishing see only the ValueSet's members, and
follow the ValueSet when it is loaded again."""

from __future__ import annotations

import threading
import time

import pytest

from loaders.base import CodeSystemContent
from mappings.importer import ImportResult, LocalCode
from mappings.model import Target
from mappings.workbench import Workbench
from termserver.errors import InvalidRequest, NotFound
from termserver.ingest import save_code_system_content, save_resource
from termserver.model import CodeSystemInfo, Concept
from termserver.store import Store
from termserver.store.schema import SOURCE_SCOPE_TABLES, metadata
from tests.helpers import set_legacy_version
from tests.mappings.test_workbench import LOINC, TERMS, make_workbench, project

LIST = "http://hospital.example/fhir/CodeSystem/full-list"
VS = "http://hospital.example/fhir/ValueSet/chemistry"
ROWS = tuple(LocalCode(f"C{n:02d}", name, "mmol/L", "Serum")
             for n, name in enumerate(["Natrium", "Kalium", "Glucose", "Kreatinin"] * 8, 1))
COLUMNS = ("code", "display", "unit", "specimen")


def _import(bench: Workbench, rows: tuple[LocalCode, ...], url: str = LIST) -> None:
    bench.import_codes(ImportResult("full.csv", rows, (), "utf-8", COLUMNS), url, "1",
                       name="Full")


def _value_set(store: Store, codes: list[str], system: str = LIST) -> None:
    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": VS, "version": "1",
                          "status": "active", "compose": {"include": [{
                              "system": system, "concept": [{"code": c} for c in codes]}]}},
                      mode="canonical")


@pytest.fixture
def wb(store: Store) -> Workbench:
    bench = make_workbench(store)
    _import(bench, ROWS)
    _value_set(store, [f"C{n:02d}" for n in range(1, 11)])
    bench.create_project(project(id="chem", source_system=LIST, source_valueset=VS), "anna")
    return bench


def test_worklist_and_progress_hold_only_the_members(wb: Workbench) -> None:
    items, total = wb.worklist("chem", count=4)
    assert total == 10 and [i.source.code for i in items] == ["C01", "C02", "C03", "C04"]
    assert [i.source.code for i in wb.worklist("chem", offset=8, count=4)[0]] == ["C09", "C10"]
    assert wb.worklist("chem", text="kalium")[1] == 3  # C02, C06, C10
    assert wb.progress("chem").total == 10
    assert wb.worklist("lab")[1] == 6  # a project without a source ValueSet: every code


def test_codes_outside_the_valueset_are_not_in_the_project(wb: Workbench) -> None:
    wb.decide("chem", "C01", status="accepted", targets=[Target("2951-2")], author="anna")
    with pytest.raises(NotFound, match="C11"):
        wb.decide("chem", "C11", status="rejected", author="anna")
    with pytest.raises(NotFound):
        wb.source_code("chem", "C20")
    assert wb.progress("chem").by_status["accepted"] == 1
    assert wb.worklist("chem", status="accepted")[1] == 1


def test_the_suggestion_job_suggests_the_members_only(wb: Workbench) -> None:
    job = wb.start_suggest_job("chem", author="bot")
    deadline = time.monotonic() + 30
    while wb.job(job.id).state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    done = wb.job(job.id)
    assert (done.state, done.done, done.total) == ("done", 10, 10)
    assert wb.progress("chem").by_status["suggested"] == 10


def test_a_reloaded_valueset_changes_the_source_codes(wb: Workbench, store: Store) -> None:
    wb.decide("chem", "C02", status="accepted", targets=[Target("2823-3")], author="anna")
    wb.decide("chem", "C03", status="accepted", targets=[Target("2345-7")], author="anna")
    _value_set(store, ["C02", "C11", "C12"])
    items, total = wb.worklist("chem")
    assert total == 3 and [i.source.code for i in items] == ["C02", "C11", "C12"]
    # publishing leaves out the decision on C03, which the ValueSet no longer holds
    result = wb.publish("chem", version="1", author="anna")
    assert result.elements == 1
    assert store.map_rows("C02", LIST) and not store.map_rows("C03", LIST)


def test_project_checks_and_removing_the_valueset(wb: Workbench, store: Store) -> None:
    with pytest.raises(NotFound, match="source ValueSet"):
        wb.create_project(project(id="x", source_system=LIST,
                                  source_valueset="http://nowhere.example/vs"), "anna")
    with store.writer() as w:  # a ValueSet of another code system: no source code in it
        save_resource(w, {"resourceType": "ValueSet", "url": "http://example.org/vs/loinc",
                          "status": "active", "compose": {"include": [{
                              "system": LOINC, "concept": [{"code": "2345-7"}]}]}},
                      mode="canonical")
    with pytest.raises(InvalidRequest, match="no code of the source"):
        wb.create_project(project(id="x", source_system=LIST,
                                  source_valueset="http://example.org/vs/loinc"), "anna")
    wb.update_project("chem", source_valueset=None, author="anna")
    assert wb.worklist("chem")[1] == len(ROWS)


def test_exports_and_agreement_hold_only_the_members(wb: Workbench, store: Store) -> None:
    wb.create_project(project(id="dual", source_system=LIST, source_valueset=VS, dual=True),
                      "anna")
    for code, target in (("C01", "2951-2"), ("C02", "2823-3")):
        wb.decide("chem", code, status="accepted", targets=[Target(target)], author="anna")
        for reviewer in ("a", "b"):
            wb.decide("dual", code, status="accepted", targets=[Target(target)],
                      author=reviewer, reviewer=reviewer)
    assert wb.agreement("dual", "a", "b").compared == 2
    _value_set(store, [f"C{n:02d}" for n in range(2, 11)])  # C01 leaves the ValueSet
    assert wb.agreement("dual", "a", "b").compared == 1
    _, text = wb.export("chem", "csv")
    assert "C02" in text and "C01" not in text


def test_revalidate_flags_only_member_decisions(wb: Workbench, store: Store) -> None:
    for code in ("C01", "C05"):
        wb.decide("chem", code, status="accepted", targets=[Target("2951-2")], author="anna")
    newer = [Concept(c, d) for c, (d, *_) in TERMS.items() if c != "2951-2"]
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(LOINC, "2.81"),
                                                      iter(newer)))
    assert sorted(f.source_code for f in wb.revalidate("chem", "2.81")) == ["C01", "C05"]
    _value_set(store, [f"C{n:02d}" for n in range(2, 11)])
    assert [f.source_code for f in wb.revalidate("chem", "2.81")] == ["C05"]


def test_a_filter_valueset_selects_codes_by_a_column(wb: Workbench, store: Store) -> None:
    mixed = "http://hospital.example/fhir/CodeSystem/mixed"
    _import(wb, tuple(LocalCode(f"M{n:02d}", f"Test {n}", "mmol/L",
                                "Urin" if n % 3 == 0 else "Serum") for n in range(1, 31)), mixed)
    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": "http://hospital.example/vs/urine",
                          "status": "active", "compose": {"include": [{
                              "system": mixed, "filter": [{"property": "specimen", "op": "=",
                                                           "value": "Urin"}]}]}},
                      mode="canonical")
    wb.create_project(project(id="urine", source_system=mixed,
                              source_valueset="http://hospital.example/vs/urine"), "anna")
    items, total = wb.worklist("urine", count=3)
    assert total == 10 and [i.source.code for i in items] == ["M03", "M06", "M09"]
    assert wb.progress("urine").total == 10


def test_a_reimported_code_list_changes_the_source_codes(wb: Workbench) -> None:
    _import(wb, tuple(r for r in ROWS if r.code != "C05"))
    items, total = wb.worklist("chem")
    assert total == 9 and "C05" not in [i.source.code for i in items]
    with pytest.raises(NotFound):
        wb.source_code("chem", "C05")


def test_concurrent_requests_expand_a_reloaded_valueset_once(wb: Workbench,
                                                             store: Store) -> None:
    _value_set(store, ["C03", "C04", "C05"])
    totals: list[int] = []
    errors: list[BaseException] = []

    def load() -> None:
        try:
            totals.append(wb.worklist("chem")[1] if len(totals) % 2 else
                          wb.progress("chem").total)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and totals == [3] * 8


def test_a_version_4_database_upgrades_and_takes_a_source_valueset(db_url: str) -> None:
    store = Store(db_url)
    bench = make_workbench(store)
    _import(bench, ROWS)
    bench.create_project(project(id="chem", source_system=LIST), "anna")
    bench.decide("chem", "C02", status="accepted", targets=[Target("2823-3")], author="anna")
    with store.engine.begin() as conn:  # back to schema version 4, data kept
        metadata.drop_all(conn, tables=list(SOURCE_SCOPE_TABLES))
        set_legacy_version(conn, 4)
    store.close()
    store = Store(db_url)
    try:
        bench = Workbench(store)
        assert bench.worklist("chem")[1] == len(ROWS)
        _value_set(store, [f"C{n:02d}" for n in range(1, 11)])
        bench.update_project("chem", source_valueset=VS, author="anna")
        assert bench.worklist("chem")[1] == 10
        assert bench.source_code("chem", "C02").decision.status == "accepted"
    finally:
        store.close()
