"""Request and response bodies of the workbench JSON API (pydantic, so /docs shows them).

Responses are built from the records in mappings.model with `from_attributes`, so a field
added there only needs adding here to reach the wire.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mappings.model import MAIN


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProjectIn(BaseModel):
    """A new map project: one source code system to one target code system."""

    id: str = Field(description="URL-safe slug, unique", examples=["lab-loinc"])
    title: str
    source_system: str = Field(description="canonical URL of the imported local code system")
    source_version: str | None = None
    target_system: str = Field(examples=["http://loinc.org"])
    target_version: str | None = Field(None, description="None: the newest stored version")
    source_valueset: str | None = None
    target_valueset: str | None = None
    language: str = "de"
    map_url: str | None = Field(None, description="canonical URL of the published ConceptMap")
    dual: bool = Field(False, description="blind dual mapping: one decision per curator")
    description: str | None = None
    author: str | None = None


class ProjectPatch(BaseModel):
    """Fields to change on a project; omitted fields keep their value."""

    title: str | None = None
    source_version: str | None = None
    target_version: str | None = None
    source_valueset: str | None = None
    target_valueset: str | None = None
    language: str | None = None
    map_url: str | None = None
    dual: bool | None = None
    description: str | None = None


class ProjectOut(_Out):
    id: str
    title: str
    source_system: str
    source_version: str | None
    target_system: str
    target_version: str | None
    source_valueset: str | None
    target_valueset: str | None
    language: str
    map_url: str | None
    dual: bool
    description: str | None
    created: str


class BadRowOut(_Out):
    line: int
    reason: str
    code: str | None = None


class CodeChangeOut(_Out):
    code: str
    fields: list[str]


class DiffOut(_Out):
    added: list[str]
    removed: list[str]
    changed: list[CodeChangeOut]


class ImportReport(BaseModel):
    """What an import of a local code list stored, which rows it refused and what changed."""

    url: str
    version: str | None
    outcome: str = Field(description="created, updated or unchanged")
    rows: int = Field(description="rows imported")
    total_rows: int = Field(description="data rows read (good and bad)")
    bad_rows: list[BadRowOut]
    diff: DiffOut


class SourceCodeOut(_Out):
    code: str
    display: str | None = None
    unit: str | None = None
    specimen: str | None = None
    category: str | None = None
    frequency: int | None = None
    comment: str | None = None


class TargetIO(_Out):
    """One target of a decision, with its R5 ConceptMap relationship."""

    code: str
    display: str | None = None
    relationship: str = "equivalent"
    system: str | None = None
    version: str | None = None
    comment: str | None = None


class DecisionOut(_Out):
    source_code: str
    status: str
    targets: list[TargetIO]
    comment: str | None = None
    reviewer: str = MAIN
    author: str | None = None
    updated: str = ""
    source_display: str | None = None


class StoredSuggestionOut(_Out):
    rank: int
    code: str
    display: str | None
    score: float
    why: str
    system: str | None = None


class SuggestionOut(_Out):
    code: str
    display: str
    score: float
    why: str
    label: str | None = Field(None, description="the target's name in the project's language")


class WorkItemOut(_Out):
    source: SourceCodeOut
    decision: DecisionOut
    suggestions: list[StoredSuggestionOut]


class Worklist(BaseModel):
    total: int = Field(description="items matching the filters")
    offset: int
    count: int
    items: list[WorkItemOut]


class CodeDetail(BaseModel):
    """A worklist item with live suggestions for its source code."""

    item: WorkItemOut
    suggestions: list[SuggestionOut]


class ProgressOut(BaseModel):
    total: int
    reviewed: int
    by_status: dict[str, int]


class DecisionIn(BaseModel):
    """A curator's decision on one source code."""

    status: str = Field(description="unmapped, suggested, accepted, rejected or needs-review")
    targets: list[TargetIO] = Field(default_factory=list)
    comment: str | None = None
    author: str | None = Field(None, description="only on a server without tokens (else the "
                                                 "token's name); else the X-Curator header")
    reviewer: str = Field(MAIN, description="'' for the project decision; a curator in dual "
                                             "mapping")
    if_updated: str | None = Field(None, description="optimistic lock: the `updated` read")


class ReconcileIn(BaseModel):
    status: str
    targets: list[TargetIO] = Field(default_factory=list)
    comment: str | None = None
    author: str | None = None


class EventOut(_Out):
    project: str
    source_code: str | None
    action: str
    author: str | None
    at: str
    before: dict[str, object] | None = None
    after: dict[str, object] | None = None
    reviewer: str = MAIN
    seq: int = 0


class JobOut(_Out):
    id: str
    project: str
    kind: str
    state: str
    done: int = 0
    total: int = 0
    started: str = ""
    finished: str | None = None
    error: str | None = None


class AgreementOut(_Out):
    # a list, not a tuple: pydantic writes a tuple as JSON Schema 2020-12 `prefixItems`, which
    # OpenAPI 3.0 tooling (and schema-driven fuzzers) reject as an invalid schema
    reviewers: list[str] = Field(min_length=2, max_length=2, description="the two curators")
    compared: int
    agreed: int
    observed: float
    kappa: float | None
    disagreements: list[str]


class PublishIn(BaseModel):
    version: str
    status: str = Field("draft", description="draft or active")
    author: str | None = None


class PublishOut(_Out):
    url: str
    version: str
    id: str
    outcome: str
    elements: int


class FlagOut(_Out):
    source_code: str
    target_code: str
    problem: str
    target_version: str | None
    replacements: list[TargetIO]
    why: str = ""


class MapImportReport(BaseModel):
    imported: int = Field(description="decisions written")
    bad_rows: list[BadRowOut] = Field(default_factory=list)


class BulkAcceptIn(BaseModel):
    """Accept every open code whose top kept suggestion scores at least `threshold`."""

    threshold: float = Field(gt=0, le=1, examples=[0.9])
    review_share: float = Field(0.1, gt=0, le=1, description="share of those codes sent to "
                                "needs-review instead (a random sample, at least one)")
    dry_run: bool = Field(False, description="only count: write nothing")
    reviewer: str = MAIN
    author: str | None = None


class BulkAcceptOut(_Out):
    threshold: float
    review_share: float
    accepted: list[str]
    review: list[str] = Field(description="the random sample sent to needs-review")
    below: int = Field(description="open codes whose top suggestion scores under the threshold")
    unsuggested: int = Field(description="open codes without kept suggestions")
    skipped: list[str] = Field(description="target out of scope, or decided meanwhile")
    dry_run: bool
