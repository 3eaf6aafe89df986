"""The curation workbench's records: map projects, decisions with their targets, the audit
trail and background jobs. Plain typed values shared by the store, the service and the web
layer; no behaviour beyond small helpers.

Vocabulary follows FHIR ConceptMap: a decision's target carries an R5 `relationship`
(equivalent, source-is-narrower-than-target, source-is-broader-than-target, related-to,
not-related-to); the R4 equivalence is derived from it when a map is published.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: A source code's place in the review workflow.
Status = Literal["unmapped", "suggested", "accepted", "rejected", "needs-review"]
STATUSES: tuple[Status, ...] = ("unmapped", "suggested", "accepted", "rejected", "needs-review")

#: R5 ConceptMap relationship codes a curator may choose.
RELATIONSHIPS = ("equivalent", "source-is-narrower-than-target", "source-is-broader-than-target",
                 "related-to", "not-related-to")

#: The reviewer name of the project's main (reconciled) decisions; blind dual-mapping rounds
#: store one decision per curator under the curator's own name instead.
MAIN = ""

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Project:
    """A map project: one source (a local code system or a ValueSet) to one target scope."""

    id: str  # URL-safe slug, unique
    title: str
    source_system: str  # canonical URL of the local CodeSystem (or the ValueSet's system)
    source_version: str | None
    target_system: str  # e.g. http://loinc.org
    target_version: str | None = None  # None: the newest stored version
    source_valueset: str | None = None  # canonical of a ValueSet restricting the source codes
    target_valueset: str | None = None  # canonical of a ValueSet restricting the targets
    language: str = "de"  # the language suggestions prefer and displays are shown in
    map_url: str | None = None  # canonical URL of the ConceptMap this project publishes
    dual: bool = False  # blind dual mapping: each curator decides under their own name
    description: str | None = None
    created: str = ""  # ISO-8601 timestamps, set by the store
    pk: int = 0


@dataclass(frozen=True, slots=True)
class SourceCode:
    """A source code as the worklist shows it (from the stored local code system)."""

    code: str
    display: str | None = None
    unit: str | None = None
    specimen: str | None = None
    category: str | None = None
    frequency: int | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a decision."""

    code: str
    display: str | None = None
    relationship: str = "equivalent"
    system: str | None = None  # None: the project's target system
    version: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """A curator's current decision on one source code (one per project, code and reviewer)."""

    source_code: str
    status: Status = "unmapped"
    targets: tuple[Target, ...] = ()
    comment: str | None = None
    reviewer: str = MAIN  # MAIN for the project's decision; a curator's name in dual mapping
    author: str | None = None  # who made the last change
    updated: str = ""  # when (ISO-8601, UTC)
    source_display: str | None = None  # at the time of the decision (for re-import reports)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the audit trail: who changed what, when, from what to what."""

    project: str
    source_code: str | None  # None for project-level events (create, import, publish)
    action: str  # e.g. "decide", "suggest", "import", "publish", "reconcile"
    author: str | None
    at: str
    before: dict[str, object] | None = None
    after: dict[str, object] | None = None
    reviewer: str = MAIN
    seq: int = 0


@dataclass(frozen=True, slots=True)
class StoredSuggestion:
    """A suggestion kept for a source code by a batch run (best first by `rank`)."""

    source_code: str
    rank: int
    code: str
    display: str | None
    score: float
    why: str
    system: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    """A background batch suggestion run with its progress."""

    id: str
    project: str
    kind: str  # "suggest"
    state: JobState
    done: int = 0
    total: int = 0
    started: str = ""
    finished: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    """Worklist counts per status (main decisions), for the progress bar."""

    total: int
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def reviewed(self) -> int:
        return sum(n for s, n in self.by_status.items() if s in ("accepted", "rejected"))


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One row of the worklist: the source code, its decision and its kept suggestions."""

    source: SourceCode
    decision: Decision
    suggestions: tuple[StoredSuggestion, ...] = ()


@dataclass(frozen=True, slots=True)
class Agreement:
    """Agreement of two curators' blind decisions over the codes both decided."""

    reviewers: tuple[str, str]
    compared: int  # codes both decided
    agreed: int  # same status and same target codes
    observed: float  # agreed / compared
    kappa: float | None  # Cohen's kappa over the category "status + first target"; None if n=0
    disagreements: tuple[str, ...] = ()  # source codes to reconcile


@dataclass(frozen=True, slots=True)
class Flag:
    """A re-validation finding: a mapped target that is inactive or gone in a newer version."""

    source_code: str
    target_code: str
    problem: Literal["inactive", "missing"]
    target_version: str | None
    replacements: tuple[Target, ...] = ()
    why: str = ""
