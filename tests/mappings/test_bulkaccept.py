"""Bulk accept above a threshold (mappings.bulkaccept) on both backends: open codes whose top
kept suggestion scores ≥ the threshold are accepted, a random sample goes to needs-review,
decided codes stay as they are, and everything is in the audit trail."""

from __future__ import annotations

import random

import pytest

from mappings.bulkaccept import ACTION, sample_size
from mappings.model import Decision, StoredSuggestion, Target
from mappings.workbench import Workbench
from termserver.errors import InvalidRequest
from termserver.store import Store
from tests.mappings.test_workbench import make_workbench

#: source code → kept suggestions (target, score), best first
KEPT = {"GLU": [("2345-7", 0.95), ("14749-6", 0.6)], "CREA": [("2160-0", 0.93)],
        "NA": [("2951-2", 0.97)], "K": [("2823-3", 0.91)], "HB": [("718-7", 0.5)]}


@pytest.fixture
def wb(store: Store) -> Workbench:
    bench = make_workbench(store)
    pk = bench.get_project("lab").pk
    store.workbench.keep_suggestions(pk, {
        code: [StoredSuggestion(code, rank, target, None, score, "why")
               for rank, (target, score) in enumerate(found, start=1)]
        for code, found in KEPT.items()}, author="job", source_keys={})
    return bench


def _statuses(wb: Workbench) -> dict[str, str]:
    items, _ = wb.worklist("lab", count=100)
    return {i.source.code: i.decision.status for i in items}


def test_codes_above_the_threshold_are_accepted_and_a_sample_reviewed(wb: Workbench) -> None:
    state = random.getstate()
    result = wb.bulk_accept("lab", threshold=0.9, author="anna", seed=7)
    assert random.getstate() == state  # a private generator: the global state is untouched
    assert sorted(result.accepted + result.review) == ["CREA", "GLU", "K", "NA"]
    assert len(result.review) == 1 and len(result.accepted) == 3  # 10 % of 4, at least 1
    assert (result.below, result.unsuggested, result.skipped) == (1, 1, ())
    statuses = _statuses(wb)
    assert {c: statuses[c] for c in result.accepted} == dict.fromkeys(result.accepted,
                                                                     "accepted")
    assert statuses[result.review[0]] == "needs-review"
    assert (statuses["HB"], statuses["GLUM"]) == ("suggested", "unmapped")
    glu = wb.source_code("lab", "GLU").decision
    assert [t.code for t in glu.targets] == ["2345-7"]  # the top suggestion, not the second
    assert glu.targets[0].display == "Glucose [Mass/volume] in Serum or Plasma"
    # the audit trail: each code under the curator's name with the threshold, and a summary
    events = [e for e in wb.history("lab") if e.action == ACTION]
    per_code = [e for e in events if e.source_code is not None]
    assert sorted(e.source_code or "" for e in per_code) == ["CREA", "GLU", "K", "NA"]
    assert {e.author for e in events} == {"anna"}
    assert all("threshold 0.90" in str((e.after or {}).get("comment")) for e in per_code)
    summary = next(e for e in events if e.source_code is None).after or {}
    assert summary["threshold"] == 0.9 and summary["review_share"] == 0.1
    assert summary["review"] == list(result.review)
    assert summary["accepted"] == sorted(result.accepted)
    # a second run finds nothing open above the threshold
    again = wb.bulk_accept("lab", threshold=0.9, author="anna")
    assert (again.accepted, again.review, again.below) == ((), (), 1)


def test_decided_codes_stay_and_a_dry_run_writes_nothing(wb: Workbench) -> None:
    wb.decide("lab", "NA", status="rejected", author="ben")
    wb.decide("lab", "K", status="needs-review", targets=[Target("2823-3")], author="ben")
    before = wb.history("lab")
    plan = wb.bulk_accept("lab", threshold=0.9, author="anna", dry_run=True, seed=1)
    assert plan.dry_run and sorted(plan.accepted + plan.review) == ["CREA", "GLU"]
    assert wb.history("lab") == before  # nothing written, nothing audited
    assert plan == wb.bulk_accept("lab", threshold=0.9, author="anna", dry_run=True, seed=1)
    done = wb.bulk_accept("lab", threshold=0.9, author="anna", seed=1)
    assert (done.accepted, done.review) == (plan.accepted, plan.review)  # same seed
    statuses = _statuses(wb)
    assert (statuses["NA"], statuses["K"]) == ("rejected", "needs-review")


def test_the_sample_size_and_a_lower_threshold(wb: Workbench) -> None:
    assert [sample_size(n, 0.1) for n in (0, 1, 4, 10, 11, 100)] == [0, 1, 1, 1, 2, 10]
    assert sample_size(3, 1.0) == 3
    result = wb.bulk_accept("lab", threshold=0.5, author="anna", review_share=0.5, seed=3)
    assert len(result.accepted) + len(result.review) == 5 and len(result.review) == 3
    everything = wb.bulk_accept("lab", threshold=0.1, author="anna", review_share=1.0)
    assert everything.above == 0  # all decided by the first run


def test_a_target_out_of_scope_and_a_code_decided_meanwhile_are_skipped(
        wb: Workbench, store: Store) -> None:
    pk = wb.get_project("lab").pk
    store.workbench.keep_suggestions(pk, {"HB": [StoredSuggestion("HB", 1, "9999-9", None,
                                                                  0.99, "gone")]},
                                     author="job", source_keys={})
    result = wb.bulk_accept("lab", threshold=0.9, author="anna")
    assert "HB" in result.skipped and "HB" not in result.accepted + result.review
    # a decision someone made between reading and writing is kept (the `seen` check)
    wb.decide("lab", "GLUM", status="rejected", author="ben")
    written = store.workbench.save_unchanged(
        pk, [(Decision("GLUM", "accepted", (Target("2345-7", "x"),), author="anna"), None)],
        action=ACTION, seen={"GLUM": ""})
    assert written == [] and wb.source_code("lab", "GLUM").decision.status == "rejected"


@pytest.mark.parametrize("kwargs", [
    {"threshold": 0.0}, {"threshold": 1.5}, {"threshold": float("nan")},
    {"review_share": 0.0}, {"review_share": 2.0}, {"author": None}, {"author": ""},
    {"reviewer": "anna"}])
def test_bad_bulk_requests_are_refused(wb: Workbench, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"threshold": 0.9, "author": "anna", **kwargs}
    with pytest.raises(InvalidRequest):
        wb.bulk_accept("lab", **args)  # type: ignore[arg-type]
    assert _statuses(wb)["GLU"] == "suggested"
