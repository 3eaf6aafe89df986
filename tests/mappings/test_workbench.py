"""The workbench facade on both backends: projects, re-import, worklist and progress, decide
(validation, audit trail, optimistic lock). Fixtures here are shared by test_workbench_*.py:
a tiny LOINC-like target code system and a local lab list imported through the facade."""

from __future__ import annotations

import time

import pytest

from loaders.base import CodeSystemContent
from mappings.importer import ImportResult, LocalCode
from mappings.model import MAIN, Project, Target
from mappings.workbench import Workbench
from termserver.errors import Conflict, InvalidRequest, NotFound
from termserver.ingest import save_code_system_content
from termserver.model import CodeSystemInfo, Concept, ConceptProperty, Designation, Record
from termserver.store import Store

LAB = "http://hospital.example/fhir/CodeSystem/lab"
LOINC = "http://loinc.org"
#: code → (display, COMPONENT, PROPERTY, SYSTEM)
TERMS = {
    "2345-7": ("Glucose [Mass/volume] in Serum or Plasma", "Glucose", "MCnc", "Ser/Plas"),
    "14749-6": ("Glucose [Moles/volume] in Serum or Plasma", "Glucose", "SCnc", "Ser/Plas"),
    "2160-0": ("Creatinine [Mass/volume] in Serum or Plasma", "Creatinine", "MCnc", "Ser/Plas"),
    "718-7": ("Hemoglobin [Mass/volume] in Blood", "Hemoglobin", "MCnc", "Bld"),
    "2951-2": ("Sodium [Moles/volume] in Serum or Plasma", "Sodium", "SCnc", "Ser/Plas"),
    "2823-3": ("Potassium [Moles/volume] in Serum or Plasma", "Potassium", "SCnc", "Ser/Plas"),
}
GERMAN = {"2160-0": "Kreatinin", "718-7": "Hämoglobin", "2951-2": "Natrium",
          "2823-3": "Kalium"}
ROWS = (LocalCode("GLU", "Glucose", "mg/dL", "Serum", frequency=120),
        LocalCode("GLUM", "Glucose molar", "mmol/L", "Serum"),
        LocalCode("CREA", "Kreatinin", "mg/dL", "Serum"),
        LocalCode("HB", "Hämoglobin", "g/dL", "Blut"),
        LocalCode("NA", "Natrium", "mmol/L", "Serum"),
        LocalCode("K", "Kalium", "mmol/L", "Serum"))
COLUMNS = ("code", "display", "unit", "specimen", "frequency")


def target_records() -> list[Record]:
    out: list[Record] = []
    for code, (display, component, prop, system) in TERMS.items():
        out.append(Concept(code, display))
        if code in GERMAN:
            out.append(Designation(code, GERMAN[code], "de"))
        out += [ConceptProperty(code, "COMPONENT", component, "string"),
                ConceptProperty(code, "PROPERTY", prop, "string"),
                ConceptProperty(code, "SYSTEM", system, "string"),
                ConceptProperty(code, "SCALE_TYP", "Qn", "string")]
    return out


def codes(rows: tuple[LocalCode, ...] = ROWS, columns: tuple[str, ...] = COLUMNS
          ) -> ImportResult:
    return ImportResult("lab.csv", rows, (), "utf-8", columns)


def project(**kw: object) -> Project:
    values: dict[str, object] = {"id": "lab", "title": "Lab to LOINC", "source_system": LAB,
                                 "source_version": "1", "target_system": LOINC}
    values.update(kw)
    return Project(**values)  # type: ignore[arg-type]


def make_workbench(store: Store) -> Workbench:
    """A workbench with the lab list imported (version 1), a tiny LOINC and project "lab"."""
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(LOINC, "2.80"),
                                                      iter(target_records())))
    bench = Workbench(store)
    outcome, _ = bench.import_codes(codes(), LAB, "1", name="Lab", author="anna")
    assert outcome == "created"
    bench.create_project(project(), "anna")
    return bench


@pytest.fixture
def wb(store: Store) -> Workbench:
    return make_workbench(store)


# -- projects --------------------------------------------------------------------------------

def test_project_is_stored_and_listed(wb: Workbench) -> None:
    got = wb.get_project("lab")
    assert (got.source_system, got.target_system, got.pk > 0) == (LAB, LOINC, True)
    assert got.created
    assert [p.id for p in wb.list_projects()] == ["lab"]
    assert wb.history("lab")[0].action == "create"


@pytest.mark.parametrize(("changes", "error"), [
    ({"id": "bad id!"}, InvalidRequest),
    ({"title": " "}, InvalidRequest),
    ({"source_system": "http://nowhere.example"}, NotFound),
    ({"source_version": "9"}, NotFound),
    ({"target_system": "http://snomed.info/sct"}, NotFound),
    ({"target_valueset": "http://nowhere.example/vs"}, NotFound),
    ({"source_valueset": "http://example.org/vs/some-codes"}, NotFound),
    ({}, Conflict),  # id "lab" exists
])
def test_project_validation(wb: Workbench, changes: dict[str, object],
                            error: type[Exception]) -> None:
    with pytest.raises(error):
        wb.create_project(project(**changes), "anna")


def test_update_project(wb: Workbench) -> None:
    updated = wb.update_project("lab", title="Lab → LOINC", author="ben")
    assert wb.get_project("lab").title == updated.title == "Lab → LOINC"
    event = wb.history("lab")[0]
    assert (event.action, event.before and event.before["title"],
            event.after and event.after["title"]) == ("update-project", "Lab to LOINC",
                                                      "Lab → LOINC")
    with pytest.raises(InvalidRequest):
        wb.update_project("lab", id="other")
    with pytest.raises(NotFound):
        wb.update_project("lab", target_system="http://nowhere.example")
    with pytest.raises(NotFound):
        wb.get_project("nope")


# -- import, worklist, progress -------------------------------------------------------------

def test_worklist_pages_filters_and_carries_source_columns(wb: Workbench) -> None:
    items, total = wb.worklist("lab", offset=0, count=4)
    assert total == len(ROWS)
    assert [i.source.code for i in items] == ["GLU", "GLUM", "CREA", "HB"]
    assert (items[0].source.unit, items[0].source.specimen, items[0].source.frequency) == \
        ("mg/dL", "Serum", 120)
    assert all(i.decision.status == "unmapped" for i in items)
    items, total = wb.worklist("lab", offset=4, count=4)
    assert ([i.source.code for i in items], total) == (["NA", "K"], 6)
    items, total = wb.worklist("lab", text="gluc")
    assert ([i.source.code for i in items], total) == (["GLU", "GLUM"], 2)
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    items, total = wb.worklist("lab", status="accepted")
    assert ([i.source.code for i in items], total) == (["NA"], 1)
    assert items[0].decision.targets[0].display == TERMS["2951-2"][0]
    items, total = wb.worklist("lab", status="unmapped")
    assert total == 5 and "NA" not in [i.source.code for i in items]
    with pytest.raises(InvalidRequest):
        wb.worklist("lab", status="done")


def test_progress_counts_main_decisions(wb: Workbench) -> None:
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    wb.decide("lab", "K", status="rejected", author="anna")
    wb.decide("lab", "HB", status="needs-review", author="anna")
    p = wb.progress("lab")
    assert p.total == 6
    assert p.by_status == {"unmapped": 3, "suggested": 0, "accepted": 1, "rejected": 1,
                           "needs-review": 1}
    assert p.reviewed == 2


def test_reimport_keeps_decisions_and_reports_the_diff(wb: Workbench) -> None:
    wb.decide("lab", "CREA", status="accepted", targets=[Target("2160-0")], author="anna")
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    wb.decide("lab", "K", status="accepted", targets=[Target("2823-3")], author="anna")
    same_outcome, same = wb.import_codes(codes(), LAB, "1", author="ben")
    assert same_outcome == "unchanged" and not (same.added or same.removed or same.changed)
    rows = [r for r in ROWS if r.code != "K"]  # K removed
    rows[2] = LocalCode("CREA", "Kreatinin enzymatisch", "mg/dL", "Serum")  # display changed
    rows[4] = LocalCode("NA", "Natrium", "mmol/L", "Serum", comment="new note")  # comment only
    rows.append(LocalCode("CA", "Calcium", "mmol/L", "Serum"))
    outcome, change = wb.import_codes(codes(tuple(rows)), LAB, "1", author="ben")
    assert outcome == "updated"
    assert (change.added, change.removed) == (("CA",), ("K",))
    assert {c.code: c.fields for c in change.changed} == {"CREA": ("display",),
                                                          "NA": ("comment",)}
    crea = wb.source_code("lab", "CREA").decision
    assert (crea.status, crea.targets[0].code, crea.author) == ("needs-review", "2160-0", "ben")
    assert crea.source_display == "Kreatinin enzymatisch"
    assert wb.source_code("lab", "NA").decision.status == "accepted"  # a comment is harmless
    kept = {d.source_code: d.status for d in wb.decisions("lab")}
    assert kept["K"] == "accepted"  # a removed code keeps its decision
    event = wb.history("lab", "CREA")[0]
    assert event.action == "source-changed" and event.author == "ben"
    assert (event.before or {})["status"] == "accepted"
    assert (event.after or {})["status"] == "needs-review"
    imported = [e for e in wb.history("lab") if e.action == "import"][0]
    assert imported.after and imported.after["removed"] == ["K"]
    assert wb.worklist("lab")[1] == 6


# -- decide ---------------------------------------------------------------------------------

def test_decide_validation(wb: Workbench) -> None:
    with pytest.raises(InvalidRequest, match="not a code of the target scope"):
        wb.decide("lab", "NA", status="accepted", targets=[Target("9999-9")], author="anna")
    with pytest.raises(InvalidRequest, match="at least one target"):
        wb.decide("lab", "NA", status="accepted", author="anna")
    with pytest.raises(InvalidRequest, match="unknown status"):
        wb.decide("lab", "NA", status="done", author="anna")
    with pytest.raises(InvalidRequest, match="unknown relationship"):
        wb.decide("lab", "NA", status="accepted",
                  targets=[Target("2951-2", relationship="equal")], author="anna")
    with pytest.raises(InvalidRequest, match="given twice"):
        wb.decide("lab", "NA", status="accepted",
                  targets=[Target("2951-2"), Target("2951-2")], author="anna")
    with pytest.raises(InvalidRequest, match="not a dual-mapping project"):
        wb.decide("lab", "NA", status="rejected", author="anna", reviewer="anna")
    with pytest.raises(NotFound):
        wb.decide("lab", "NOPE", status="rejected", author="anna")
    assert wb.decisions("lab") == []
    assert [e.action for e in wb.history("lab")] == ["create"]


def test_decide_audits_before_and_after_newest_first(wb: Workbench) -> None:
    first = wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")],
                      comment="clear", author="anna")
    second = wb.decide("lab", "NA", status="rejected", comment="wrong specimen", author="ben")
    assert first.updated < second.updated
    events = wb.history("lab", "NA")
    assert [(e.action, e.author) for e in events] == [("decide", "ben"), ("decide", "anna")]
    assert events[1].before is None
    assert events[1].after == {"status": "accepted", "comment": "clear", "author": "anna",
                               "updated": first.updated,
                               "targets": [{"code": "2951-2", "display": TERMS["2951-2"][0],
                                            "relationship": "equivalent"}]}
    assert events[0].before == events[1].after
    assert events[0].after and events[0].after["status"] == "rejected"
    assert events[0].after["targets"] == []
    assert events[0].seq > events[1].seq
    assert wb.history("lab")[0] == events[0]
    stored = wb.decisions("lab")
    assert [(d.source_code, d.status, d.comment) for d in stored] == \
        [("NA", "rejected", "wrong specimen")]


def test_optimistic_lock(wb: Workbench) -> None:
    seen = wb.decide("lab", "NA", status="needs-review", author="anna", if_updated="")
    with pytest.raises(Conflict):  # a second "first decision" from a stale page
        wb.decide("lab", "NA", status="rejected", author="ben", if_updated="")
    time.sleep(0.001)
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="ben",
              if_updated=seen.updated)
    with pytest.raises(Conflict, match="reload"):
        wb.decide("lab", "NA", status="rejected", author="anna", if_updated=seen.updated)
    assert wb.source_code("lab", "NA").decision.status == "accepted"


def test_targets_outside_the_target_valueset_are_refused(wb: Workbench, store: Store) -> None:
    from termserver.ingest import save_resource

    with store.writer() as w:
        save_resource(w, {"resourceType": "ValueSet", "url": "http://example.org/vs/glucose",
                          "status": "active", "compose": {"include": [{
                              "system": LOINC, "concept": [{"code": "2345-7"},
                                                           {"code": "14749-6"}]}]}},
                      mode="canonical")
    wb.create_project(project(id="glu", target_valueset="http://example.org/vs/glucose"), "a")
    wb.decide("glu", "GLU", status="accepted", targets=[Target("2345-7")], author="anna")
    with pytest.raises(InvalidRequest, match="ValueSet"):
        wb.decide("glu", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    assert {s.code for s in wb.search_targets("glu", "sodium")} <= {"2345-7", "14749-6"}


def test_main_reviewer_is_the_default(wb: Workbench) -> None:
    d = wb.decide("lab", "K", status="rejected", author="anna")
    assert d.reviewer == MAIN


def test_worklist_pages_10000_codes_quickly(wb: Workbench) -> None:
    rows = tuple(LocalCode(f"L{i:05d}", f"Parameter {i}", "mg/dL", "Serum")
                 for i in range(10_000))
    wb.import_codes(codes(rows, ("code", "display", "unit", "specimen")), LAB, "big")
    wb.create_project(project(id="big", source_version="big"), "anna")
    wb.decide("big", "L09999", status="rejected", author="anna")
    wb.worklist("big", offset=9_950)  # warm the connection pool
    start = time.perf_counter()
    items, total = wb.worklist("big", offset=9_950, count=50)
    unmapped, n_unmapped = wb.worklist("big", status="unmapped", offset=5_000, count=50)
    elapsed = (time.perf_counter() - start) / 2
    assert (total, len(items), items[-1].decision.status) == (10_000, 50, "rejected")
    assert items[0].source.code == "L09950" and items[0].source.unit == "mg/dL"
    assert (n_unmapped, unmapped[0].source.code) == (9_999, "L05000")
    assert elapsed < 0.5, f"a worklist page took {elapsed * 1000:.0f} ms"


def test_reimport_without_a_column_does_not_flag_decisions(wb: Workbench) -> None:
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    bare = tuple(LocalCode(r.code, r.display) for r in ROWS)
    outcome, change = wb.import_codes(codes(bare, ("code", "display")), LAB, "1")
    assert outcome == "updated" and {c.code for c in change.changed} == {r.code for r in ROWS}
    assert wb.source_code("lab", "NA").decision.status == "accepted"
    assert wb.source_code("lab", "NA").source.unit is None


def test_concurrent_first_decisions_one_wins(wb: Workbench) -> None:
    import threading

    barrier = threading.Barrier(8)
    results: list[str] = []

    def decide(i: int) -> None:
        barrier.wait()
        try:
            wb.decide("lab", "HB", status="rejected", comment=f"by {i}", author=f"c{i}",
                      if_updated="")
            results.append("ok")
        except Conflict:
            results.append("conflict")
        except Exception as exc:  # e.g. a unique violation would be a bug
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    assert len(wb.history("lab", "HB")) == 1
