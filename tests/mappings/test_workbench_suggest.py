"""Workbench suggestions on both backends: live suggestions with hints, learning from earlier
accepted decisions, the background batch job (progress, statuses, cancel), the v3 → v4
schema migration, dual mapping (Cohen's kappa, reconcile), decision import and publishing."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, inspect

from mappings.model import Decision, Target
from mappings.workbench import Workbench, agreement_of
from termserver.errors import InvalidRequest
from termserver.store import Store
from tests.mappings.test_workbench import LOINC, ROWS, TERMS, make_workbench, project


@pytest.fixture
def wb(store: Store) -> Workbench:
    return make_workbench(store)


def _wait(wb: Workbench, job_id: str, timeout: float = 60) -> None:
    wb.jobs.wait(job_id, timeout)
    deadline = time.monotonic() + timeout
    while wb.job(job_id).state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)


def test_live_suggestions_use_the_unit_hint(wb: Workbench) -> None:
    mass = wb.suggest("lab", "GLU")
    molar = wb.suggest("lab", "GLUM")
    assert mass[0].code == "2345-7" and molar[0].code == "14749-6"
    assert "MCnc" in mass[0].why  # the unit hint (mg/dL) is part of why
    assert wb.suggest("lab", "Natrium")[0].code == "2951-2"  # free text works too
    assert [s.code for s in wb.search_targets("lab", "creatinine")][:1] == ["2160-0"]
    assert wb.search_targets("lab", "  ") == []


def test_learning_puts_the_earlier_accepted_target_first(wb: Workbench) -> None:
    assert wb.suggest("lab", "GLU")[0].code == "2345-7"
    # a curator decided that local "Glucose" means the molar term, in another project
    wb.create_project(project(id="other"), "ben")
    wb.decide("other", "GLU", status="accepted", targets=[Target("14749-6")], author="ben")
    found = wb.suggest("lab", "GLU")
    assert found[0].code == "14749-6" and found[0].score == 1.0
    assert found[0].why == "accepted before for 'Glucose' in project other"
    assert [s.code for s in found].count("14749-6") == 1
    assert wb.suggest("lab", "CREA")[0].code == "2160-0"  # other texts are not affected
    wb.decide("other", "GLU", status="rejected", author="ben")  # no longer accepted
    assert wb.suggest("lab", "GLU")[0].code == "2345-7"


def test_batch_job_suggests_every_code(wb: Workbench) -> None:
    wb.decide("lab", "K", status="rejected", author="anna")
    job = wb.start_suggest_job("lab", author="bot")
    assert job.state == "queued" and job.project == "lab"
    _wait(wb, job.id)
    done = wb.job(job.id)
    assert (done.state, done.done, done.total, done.error) == ("done", 6, 6, None)
    assert done.finished
    items = {i.source.code: i for i in wb.worklist("lab")[0]}
    assert items["K"].decision.status == "rejected"  # a decided code keeps its status
    assert {c for c, i in items.items() if i.decision.status == "suggested"} == \
        {r.code for r in ROWS} - {"K"}
    glu = items["GLU"].suggestions
    assert glu[0].code == "2345-7" and [s.rank for s in glu] == list(range(1, len(glu) + 1))
    assert len(glu) <= 5 and glu[0].system == LOINC
    assert items["K"].suggestions[0].code == "2823-3"  # suggestions kept for every code
    event = wb.history("lab", "GLU")[0]
    assert (event.action, event.author, event.after and event.after["status"]) == \
        ("suggest", "bot", "suggested")
    assert wb.progress("lab").by_status["suggested"] == 5
    again = wb.start_suggest_job("lab")  # a re-run replaces the kept suggestions
    _wait(wb, again.id)
    assert wb.job(again.id).state == "done"
    assert len(wb.source_code("lab", "GLU").suggestions) == len(glu)


def test_job_cancel_and_failure(wb: Workbench, monkeypatch: pytest.MonkeyPatch) -> None:
    from mappings import jobs

    monkeypatch.setattr(jobs, "BATCH", 1)
    from mappings.targets import suggest_for as real

    calls: list[str] = []

    def slow(*args: object, **kw: object) -> object:
        calls.append("x")
        time.sleep(0.2)
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs, "suggest_for", slow)
    job = wb.start_suggest_job("lab")
    time.sleep(0.3)
    assert wb.cancel_job(job.id).id == job.id
    _wait(wb, job.id)
    stopped = wb.job(job.id)
    assert stopped.state == "cancelled" and stopped.done < stopped.total == 6

    def broken(*args: object, **kw: object) -> object:
        raise RuntimeError("index exploded")

    monkeypatch.setattr(jobs, "suggest_for", broken)
    failed = wb.start_suggest_job("lab")
    _wait(wb, failed.id)
    assert wb.job(failed.id).state == "failed"
    assert "index exploded" in (wb.job(failed.id).error or "")


def test_a_job_nobody_runs_any_more_is_reported_failed(wb: Workbench) -> None:
    from mappings.model import Job

    project_pk = wb.get_project("lab").pk
    wb.store.workbench.create_job(project_pk, Job("ghost", "lab", "suggest", "running",
                                                  started="2026-01-01T00:00:00Z"), "x")
    wb.store.workbench.update_job("ghost", done=3, total=6)  # progress just now: still running
    assert wb.job("ghost").state == "running"
    wb.store.workbench.create_job(project_pk, Job("old", "lab", "suggest", "running",
                                                  started="2026-01-01T00:00:00Z"), "x")
    gone = wb.job("old")
    assert gone.state == "failed" and "process running it stopped" in (gone.error or "")
    assert wb.cancel_job("ghost").state == "cancelled"


# -- dual mapping ------------------------------------------------------------------------------

def _d(code: str, status: str, target: str | None = None) -> Decision:
    return Decision(code, status, (Target(target),) if target else ())  # type: ignore[arg-type]


def test_kappa_hand_computed() -> None:
    # 10 codes. Categories A=(accepted, X), B=(accepted, Y), R=(rejected, None).
    # reviewer 1: A A A A A B B B R R ; reviewer 2: A A A A B B B R R R
    one = ["A"] * 5 + ["B"] * 3 + ["R"] * 2
    two = ["A"] * 4 + ["B"] * 3 + ["R"] * 3
    cat = {"A": ("accepted", "X"), "B": ("accepted", "Y"), "R": ("rejected", None)}
    pairs = [(_d(f"c{i}", *cat[a]), _d(f"c{i}", *cat[b]))
             for i, (a, b) in enumerate(zip(one, two, strict=True))]
    got = agreement_of(("anna", "ben"), pairs)
    # p_o = 8/10; p_e = (5*4 + 3*3 + 2*3) / 100 = 0.35; kappa = 0.45 / 0.65
    assert got.compared == 10 and got.agreed == 8 and got.observed == pytest.approx(0.8)
    assert got.kappa == pytest.approx(0.45 / 0.65, abs=1e-6)
    assert got.disagreements == ("c4", "c7")
    assert agreement_of(("a", "b"), []).kappa is None
    same = [(_d("x", "rejected"), _d("x", "rejected"))] * 3
    assert agreement_of(("a", "b"), same).kappa == 1.0


def test_dual_mapping_agreement_and_reconcile(wb: Workbench) -> None:
    wb.create_project(project(id="dual", dual=True), "lead")
    for code, a, b in (("GLU", "2345-7", "2345-7"), ("NA", "2951-2", "2951-2"),
                       ("CREA", "2160-0", "2345-7")):
        wb.decide("dual", code, status="accepted", targets=[Target(a)], author="anna",
                  reviewer="anna")
        wb.decide("dual", code, status="accepted", targets=[Target(b)], author="ben",
                  reviewer="ben")
    wb.decide("dual", "K", status="rejected", author="anna", reviewer="anna")  # ben: none
    got = wb.agreement("dual", "anna", "ben")
    assert (got.compared, got.agreed, got.disagreements) == (3, 2, ("CREA",))
    # categories anna: G, N, C; ben: G, N, G -> p_o 2/3, p_e (1*2 + 1*1 + 0) / 9
    p_o, p_e = 2 / 3, 3 / 9
    assert got.kappa == pytest.approx((p_o - p_e) / (1 - p_e), abs=1e-6)
    assert wb.decisions("dual") == []  # blind rounds do not touch the main decisions
    main = wb.reconcile("dual", "CREA", targets=[Target("2160-0")], status="accepted",
                        author="lead", comment="anna was right")
    assert main.reviewer == "" and main.targets[0].code == "2160-0"
    assert wb.history("dual", "CREA")[0].action == "reconcile"
    assert [d.source_code for d in wb.decisions("dual")] == ["CREA"]
    assert wb.progress("dual", reviewer="anna").by_status["accepted"] == 3


# -- import, publish, export -----------------------------------------------------------------

def test_import_decisions_is_audited_and_validated(wb: Workbench) -> None:
    n = wb.import_decisions("lab", [
        Decision("NA", "accepted", (Target("2951-2"),), comment="from old map"),
        Decision("GONE", "accepted", (Target("2345-7"),), source_display="Alte Glukose")],
        "importer")
    assert n == 2
    stored = {d.source_code: d for d in wb.decisions("lab")}
    assert stored["NA"].author == "importer" and stored["NA"].source_display == "Natrium"
    assert stored["GONE"].targets[0].display == TERMS["2345-7"][0]
    assert [e.action for e in wb.history("lab", "NA")] == ["import"]
    with pytest.raises(InvalidRequest):  # all or nothing
        wb.import_decisions("lab", [Decision("K", "accepted", (Target("2823-3"),)),
                                    Decision("HB", "accepted", (Target("0000-0"),))], "x")
    assert "K" not in {d.source_code for d in wb.decisions("lab")}


def test_publish_and_export_go_through_the_facade(wb: Workbench, store: Store) -> None:
    pytest.importorskip("mappings.publish")
    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    result = wb.publish("lab", version="1", status="draft", author="anna")
    assert result.elements == 1 and result.outcome == "created"
    assert wb.history("lab")[0].action == "publish"
    assert store.map_rows("NA", "http://hospital.example/fhir/CodeSystem/lab")
    media, text = wb.export("lab", "csv")
    assert "2951-2" in text and media.startswith("text/")


# -- migration -------------------------------------------------------------------------------

@pytest.mark.parametrize("version", [3, 4])
def test_an_older_database_upgrades_to_the_workbench_schema(db_url: str, version: int) -> None:
    from termserver.store import migrations
    from termserver.store.schema import SOURCE_SCOPE_TABLES, WORKBENCH_TABLES, metadata
    from tests.helpers import set_legacy_version

    engine = create_engine(db_url)
    added = (*(WORKBENCH_TABLES if version < 4 else ()), *SOURCE_SCOPE_TABLES)
    old = [t for t in metadata.sorted_tables if t not in added]
    with engine.begin() as conn:
        metadata.create_all(conn, tables=old)
        set_legacy_version(conn, version)
    engine.dispose()
    store = Store(db_url)
    try:
        names = set(inspect(store.engine).get_table_names())
        assert {t.name for t in added} <= names
        with store.engine.connect() as conn:
            assert migrations.current(conn).revision == migrations.head()
        assert store.workbench.projects() == []
        assert store.workbench.source_stamp(1) is None
    finally:
        store.close()


def test_indexed_scopes_use_the_database_text_search(wb: Workbench, store: Store,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mappings.textsearch import IndexNotReady, StoreTargetSearch
    from termserver.store import search

    cs = store.resolve_code_system(LOINC)
    assert cs is not None
    monkeypatch.setattr(search, "SEARCH_MIN", 1)  # as big as a real LOINC: it gets an index
    wb.create_project(project(id="db"), "anna")
    with pytest.raises(IndexNotReady):  # not built yet: a clear state, no silent build
        wb.suggest("db", "NA")
    with store.engine.begin() as conn:
        search.build(conn, cs.pk)
    assert isinstance(wb.scopes.searcher(wb.get_project("db")), StoreTargetSearch)
    assert wb.suggest("db", "NA")[0].code == "2951-2"
    assert wb.search_targets("db", "creatinine")[0].code == "2160-0"
    with store.engine.begin() as conn:  # `termserver reindex` drops and rebuilds it
        search.drop(conn, cs.pk)
    with pytest.raises(IndexNotReady):
        wb.search_targets("db", "creatinine")
    job = wb.start_suggest_job("db", author="anna")  # says why, instead of a stack trace
    _wait(wb, job.id)
    done = wb.job(job.id)
    assert done.state == "failed" and done.error and "being built" in done.error


def test_opening_the_worklist_builds_the_index_in_the_background(wb: Workbench) -> None:
    scope = wb.scopes.scope(wb.get_project("lab"))
    assert scope.stamp not in wb.scopes._searchers
    wb.worklist("lab")
    deadline = time.monotonic() + 30
    while scope.stamp not in wb.scopes._searchers and time.monotonic() < deadline:
        time.sleep(0.02)
    assert scope.stamp in wb.scopes._searchers


def test_revalidate_goes_through_the_facade(wb: Workbench, store: Store) -> None:
    pytest.importorskip("mappings.revalidate")
    from loaders.base import CodeSystemContent
    from termserver.ingest import save_code_system_content
    from termserver.model import CodeSystemInfo, Concept

    wb.decide("lab", "NA", status="accepted", targets=[Target("2951-2")], author="anna")
    wb.decide("lab", "K", status="accepted", targets=[Target("2823-3")], author="anna")
    newer = [Concept(c, d) for c, (d, *_) in TERMS.items() if c != "2951-2"]
    with store.writer() as w:
        save_code_system_content(w, CodeSystemContent(CodeSystemInfo(LOINC, "2.81"),
                                                      iter(newer)))
    flags = wb.revalidate("lab", "2.81")
    assert [(f.source_code, f.target_code, f.problem) for f in flags] == \
        [("NA", "2951-2", "missing")]


def test_only_active_selectable_loinc_terms_are_suggested() -> None:
    from mappings.targets import suggestible
    from termserver.model import Concept

    loinc = "http://loinc.org"
    assert suggestible(loinc, Concept("2160-0", "Creatinine"))
    for part in ("LP38557-2", "LA6576-8", "LG1314-6"):
        assert not suggestible(loinc, Concept(part, "a Part, answer or group"))
    assert not suggestible(loinc, Concept("1-8", "old", inactive=True))
    assert not suggestible("http://example.org/cs", Concept("A", "grouper", abstract=True))
    assert suggestible("http://example.org/cs", Concept("LP1", "any code elsewhere"))


def test_target_labels_give_names_in_the_project_language(wb: Workbench) -> None:
    labels = wb.target_labels("lab", ["2160-0", "2345-7", "2823-3", "nope"])
    assert labels == {"2160-0": "Kreatinin", "2823-3": "Kalium"}  # 2345-7 has no German name
    wb.update_project("lab", author="anna", language="en")
    assert wb.target_labels("lab", ["2160-0"]) == {}


def test_warm_all_prepares_every_project_before_anyone_asks(wb: Workbench) -> None:
    """A server's start (api.app lifespan) warms each project: the searcher is kept, so the
    first suggestion after a restart builds nothing."""
    scope = wb.scopes.scope(wb.get_project("lab"))
    assert wb.scopes._usable(scope) is None
    wb.warm_all().join(60)
    assert wb.scopes._usable(scope) is not None
    assert wb.scopes.preparing(wb.get_project("lab")) is None
