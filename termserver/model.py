"""Plain typed records shared by loaders, storage, the service and the wire layer.

Loaders yield these records; the store persists them; nothing here knows SQL or FHIR JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

#: The canonical resource types the server stores and serves.
RESOURCE_TYPES = ("CodeSystem", "ValueSet", "ConceptMap")

_CONTENT_RANK = {"complete": 4, "supplement": 3, "example": 2, "fragment": 1, "not-present": 0}


def content_rank(content: str | None) -> int:
    """How much real content a CodeSystem.content value means; higher wins, so a
    `not-present` or `fragment` stub never shadows complete content of the same url."""
    return _CONTENT_RANK.get(content or "complete", 2)


@dataclass(frozen=True, slots=True)
class CodeSystemInfo:
    """Identity and header of one code system version (the CodeSystem resource minus concepts)."""

    url: str
    version: str | None
    name: str | None = None
    title: str | None = None
    status: str = "active"
    content: str = "complete"
    hierarchy_meaning: str | None = None
    case_sensitive: bool | None = None
    language: str | None = None
    supplements: str | None = None
    id: str | None = None
    resource: Mapping[str, Any] | None = None  # the full header JSON when it came as FHIR


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    display: str | None = None
    definition: str | None = None
    inactive: bool = False
    abstract: bool = False


@dataclass(frozen=True, slots=True)
class Designation:
    code: str
    value: str
    language: str | None = None
    use_system: str | None = None
    use_code: str | None = None
    use_display: str | None = None


PropertyType = Literal["code", "Coding", "string", "integer", "boolean", "dateTime", "decimal"]


@dataclass(frozen=True, slots=True)
class ConceptProperty:
    code: str  # the concept's code
    property: str  # the property code, e.g. "parent", "status", "COMPONENT"
    value: str  # every value is stored as text; `type` says how to read it
    type: PropertyType = "string"
    value_system: str | None = None  # for Coding values
    value_display: str | None = None


@dataclass(frozen=True, slots=True)
class ParentLink:
    child: str
    parent: str


Record = Concept | Designation | ConceptProperty | ParentLink


@dataclass(frozen=True, slots=True)
class MapElement:
    """One source→target row of a ConceptMap, flattened for fast $translate."""

    group: int
    source_system: str | None
    source_version: str | None
    source_code: str
    source_display: str | None
    target_system: str | None
    target_version: str | None
    target_code: str | None
    target_display: str | None
    relationship: str  # R5 ConceptMapRelationship (equivalent, related-to, …, not-related-to)
    equivalence: str  # R4 ConceptMapEquivalence (equivalent, wider, …, unmatched)
    comment: str | None = None
    depends_on: tuple[Mapping[str, Any], ...] = ()
    product: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceSummary:
    """What the store knows about any stored canonical resource, for search and status."""

    resource_type: str
    id: str
    url: str | None
    version: str | None
    name: str | None
    title: str | None
    status: str | None
    version_id: int
    last_updated: str
    content: str | None = None
    concept_count: int | None = None


@dataclass(frozen=True, slots=True)
class StoredResource:
    summary: ResourceSummary
    resource: JSON


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    """A whole FHIR resource as a loader found it (e.g. in an npm package)."""

    resource: JSON
    origin: str  # where it came from, e.g. "de.basisprofil.r4#1.5.4:package/CodeSystem-ops.json"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Literal["fatal", "error", "warning", "information"]
    code: str  # FHIR IssueType
    text: str
    tx_code: str | None = None  # http://hl7.org/fhir/tools/CodeSystem/tx-issue-type
    expression: tuple[str, ...] = ()
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    resource_type: str
    id: str | None = None
    url: str | None = None
    version: str | None = None
    name: str | None = None
    title: str | None = None
    status: str | None = None
    count: int = 50
    offset: int = 0


@dataclass(slots=True)
class LoadReport:
    """Counts of what one load wrote, per kind, plus what it skipped and why."""

    written: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        self.written[kind] = self.written.get(kind, 0) + n


@dataclass(frozen=True, slots=True)
class StoredCodeSystem:
    """A code system version held in the store, as the service sees it."""

    pk: int
    resource_id: str
    url: str
    version: str | None
    name: str | None
    title: str | None
    status: str | None
    content: str
    case_sensitive: bool | None
    hierarchy_meaning: str | None
    language: str | None
    supplements: str | None
    concept_count: int


@dataclass(frozen=True, slots=True)
class ConceptDetail:
    """Everything the store holds about one concept: what $lookup needs."""

    concept: Concept
    designations: tuple[Designation, ...] = ()
    properties: tuple[ConceptProperty, ...] = ()
    parents: tuple[str, ...] = ()
    children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LookupRequest:
    system: str
    code: str
    version: str | None = None
    display_language: str | None = None
    properties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LookupResult:
    code_system: StoredCodeSystem
    detail: ConceptDetail
    display_language: str | None
    properties: tuple[str, ...]


# -- ValueSet definitions and expansions -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptReference:
    code: str
    display: str | None = None
    designations: tuple[Designation, ...] = ()


@dataclass(frozen=True, slots=True)
class Filter:
    property: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class ConceptSet:
    """One compose.include or compose.exclude entry."""

    system: str | None = None
    version: str | None = None
    concepts: tuple[ConceptReference, ...] = ()
    filters: tuple[Filter, ...] = ()
    value_sets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ValueSetDefinition:
    url: str | None
    version: str | None
    include: tuple[ConceptSet, ...] = ()
    exclude: tuple[ConceptSet, ...] = ()
    inactive: bool | None = None  # compose.inactive
    resource: Mapping[str, Any] = field(default_factory=dict)  # echoed in $expand output


@dataclass(frozen=True, slots=True)
class ExpandRequest:
    value_set: ValueSetDefinition
    count: int | None = None
    offset: int = 0
    filter: str | None = None
    active_only: bool = False
    exclude_nested: bool = False
    include_designations: bool = False
    display_language: str | None = None
    echo: tuple[tuple[str, str, Any], ...] = ()  # (name, value[x] type, value) to echo


@dataclass(frozen=True, slots=True)
class ExpansionEntry:
    system: str
    version: str | None
    code: str
    display: str | None
    inactive: bool = False
    abstract: bool = False
    designations: tuple[Designation, ...] = ()
    properties: tuple[ConceptProperty, ...] = ()


@dataclass(frozen=True, slots=True)
class Expansion:
    value_set: ValueSetDefinition
    total: int
    offset: int
    entries: tuple[ExpansionEntry, ...]
    parameters: tuple[tuple[str, str, Any], ...]  # (name, value[x] type, value)
