"""Map projects whose source codes a ValueSet restricts (on both backends): the worklist,
progress, decisions, suggestion jobs and publishing see only the ValueSet's members, and
follow the ValueSet when it is loaded again."""

from __future__ import annotations

import time

import pytest

from mappings.importer import ImportResult, LocalCode
from mappings.model import Target
from mappings.workbench import Workbench
from termserver.errors import InvalidRequest, NotFound
from termserver.ingest import save_resource
from termserver.store import Store
from tests.mappings.test_workbench import LOINC, make_workbench, project

LIST = "http://hospital.example/fhir/CodeSystem/full-list"
VS = "http://hospital.example/fhir/ValueSet/chemistry"
ROWS = tuple(LocalCode(f"C{n:02d}", name, "mmol/L", "Serum")
             for n, name in enumerate(["Natrium", "Kalium", "Glucose", "Kreatinin"] * 8, 1))


def _value_set(store: Store, codes: list[str], system: str = LIST) -> None:
    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": VS, "version": "1",
                          "status": "active", "compose": {"include": [{
                              "system": system, "concept": [{"code": c} for c in codes]}]}},
                      mode="canonical")


@pytest.fixture
def wb(store: Store) -> Workbench:
    bench = make_workbench(store)
    bench.import_codes(ImportResult("full.csv", ROWS, (), "utf-8",
                                    ("code", "display", "unit", "specimen")),
                       LIST, "1", name="Full")
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
