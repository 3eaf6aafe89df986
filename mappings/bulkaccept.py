"""Bulk accept above a threshold: every open code (unmapped or suggested) whose top kept
suggestion (from "Suggest all") scores at least the curator's threshold is accepted with that
target, except a random sample (`review_share` of them, at least one) that goes to
needs-review with the same target, so a person checks how good the threshold is.

The score is the calibrated confidence that the suggestion is right (mappings.calibration:
fitted on the tuned halves of bench/mapping_eval.py's gold sets; on the held-out halves, of
the first suggestions at ≥ 0.9, the share right is given in bench/README.md), so the
threshold reads as "accept what is at least this likely right" (LOINC targets; other targets'
scores, mappings.othertargets, are not calibrated).

All in one transaction: each decision is audited as "bulk-accept" under the curator's name
with the score and threshold in its comment, and one project event records the threshold,
the review share and the codes accepted and sampled. A code someone decided between the
plan and the write is left alone. The sample comes from a private random generator (the
global `random` state is left alone); `seed` makes it repeatable.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace

from mappings.model import MAIN, Decision, Project, SourceCode, StoredSuggestion, Target
from mappings.targets import TargetScopes, source_key, source_text, target_code_system
from termserver.errors import InvalidRequest
from termserver.store import Store

#: Share of the codes above the threshold sent to review by default.
REVIEW_SHARE = 0.1
#: Decisions a bulk accept may take over: nobody decided them yet.
OPEN = ("unmapped", "suggested")
ACTION = "bulk-accept"

__all__ = ["ACTION", "OPEN", "REVIEW_SHARE", "BulkResult", "bulk_accept", "sample_size"]


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk accept did (or, with `dry_run`, would do)."""

    threshold: float
    review_share: float
    accepted: tuple[str, ...]  # source codes accepted with their top suggestion
    review: tuple[str, ...]  # the random sample sent to needs-review
    below: int  # open codes whose top suggestion scores under the threshold
    unsuggested: int  # open codes without kept suggestions (run "Suggest all" first)
    skipped: tuple[str, ...] = ()  # out of the target scope, or decided meanwhile
    dry_run: bool = False

    @property
    def above(self) -> int:
        return len(self.accepted) + len(self.review)


def sample_size(n: int, share: float) -> int:
    """Codes sent to review out of n: ceil(share × n), at least 1 (none when n is 0)."""
    return 0 if n <= 0 else min(n, max(1, math.ceil(share * n - 1e-9)))


def _check(threshold: float, review_share: float, author: str | None) -> None:
    if not (0.0 < threshold <= 1.0) or math.isnan(threshold):
        raise InvalidRequest(f"threshold must be above 0 and at most 1, not {threshold}",
                             expression=("threshold",))
    if not (0.0 < review_share <= 1.0) or math.isnan(review_share):
        raise InvalidRequest("review_share must be above 0 and at most 1 (a bulk accept always "
                             f"sends a sample to review), not {review_share}",
                             expression=("review_share",))
    if not author:
        raise InvalidRequest("who accepts? a bulk accept needs the curator's name",
                             expression=("author",))


def bulk_accept(store: Store, scopes: TargetScopes, project: Project,
                sources: Mapping[str, SourceCode], *, threshold: float, author: str | None,
                review_share: float = REVIEW_SHARE, reviewer: str = MAIN,
                dry_run: bool = False, seed: int | None = None) -> BulkResult:
    """Accept the open codes of `sources` whose top kept suggestion scores ≥ `threshold`,
    a random `review_share` of them (at least one) to needs-review instead (see module)."""
    _check(threshold, review_share, author)
    if reviewer != MAIN and not project.dual:
        raise InvalidRequest(f"project {project.id} is not a dual-mapping project",
                             expression=("reviewer",))
    wb = store.workbench
    current = {d.source_code: d for d in wb.decisions(project.pk, reviewer=reviewer)
               if d.source_code in sources}
    open_codes = [c for c in sources
                  if (current[c].status if c in current else "unmapped") in OPEN]
    kept = wb.suggestions(project.pk, open_codes)
    above: list[tuple[str, StoredSuggestion]] = []
    skipped: list[str] = []
    below = unsuggested = 0
    for code in open_codes:
        found = kept.get(code)
        if not found:
            unsuggested += 1
            continue
        top = min(found, key=lambda s: s.rank)
        if top.score + 1e-9 < threshold:
            below += 1
        elif top.system not in (None, "", project.target_system) or \
                not scopes.contains(project, top.code):
            skipped.append(code)  # the target left the scope since it was suggested
        else:
            above.append((code, top))
    rng = random.Random(seed)
    sampled = set(rng.sample([c for c, _ in above], sample_size(len(above), review_share)))
    if dry_run:
        return BulkResult(threshold, review_share,
                          tuple(c for c, _ in above if c not in sampled),
                          tuple(c for c, _ in above if c in sampled), below, unsuggested,
                          tuple(skipped), dry_run=True)
    cs = target_code_system(store, project)
    for i, (code, top) in enumerate(above):
        if not top.display:  # the target's display, as a single decision fills it in
            concept = store.concept(cs.pk, top.code)
            above[i] = (code, replace(top, display=concept.display if concept else None))
    decisions = [(_decision(code, top, code in sampled, threshold, sources[code],
                            current.get(code), reviewer, author),
                  source_key(source_text(sources[code]))) for code, top in above]
    seen = {c: current[c].updated if c in current else "" for c, _ in above}

    def summary(written: list[Decision]) -> dict[str, object]:
        return {"threshold": threshold, "review_share": review_share,
                "accepted": sorted(d.source_code for d in written if d.status == "accepted"),
                "review": sorted(d.source_code for d in written if d.status != "accepted"),
                "below": below, "unsuggested": unsuggested, "reviewer": reviewer,
                "skipped": sorted({*skipped, *(set(seen) - {d.source_code for d in written})})}

    written = wb.save_unchanged(project.pk, decisions, action=ACTION, seen=seen,
                                summary=summary, author=author)
    done = {d.source_code: d.status for d in written}
    return BulkResult(threshold, review_share,
                      tuple(c for c, s in done.items() if s == "accepted"),
                      tuple(c for c, s in done.items() if s != "accepted"), below, unsuggested,
                      tuple(sorted({*skipped, *(set(seen) - set(done))})))


def _decision(code: str, top: StoredSuggestion, sampled: bool, threshold: float,
              source: SourceCode, before: Decision | None, reviewer: str,
              author: str | None) -> Decision:
    note = (f"bulk accept: top suggestion's confidence {top.score:.2f} ≥ threshold "
            f"{threshold:.2f}"
            + ("; in the random review sample" if sampled else ""))
    comment = f"{before.comment} · {note}" if before is not None and before.comment else note
    return Decision(code, "needs-review" if sampled else "accepted",
                    (Target(top.code, top.display or None),), comment, reviewer, author, "",
                    source.display)
