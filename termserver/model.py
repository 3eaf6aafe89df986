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


@dataclass(frozen=True, slots=True)
class ConceptRelationship:
    """A defining attribute with its role group (SNOMED CT): `source --type_id--> destination`,
    or a concrete value (`value` set, `destination` None)."""

    source: str
    type_id: str
    destination: str | None
    group: int = 0
    value: str | None = None  # concrete value as RF2 writes it: #12, #1.5 or "text"


@dataclass(frozen=True, slots=True)
class RefsetMembership:
    """An active reference set member: simple, map (`target` = mapTarget), association
    (`target` = targetComponentId) or attribute value (`target` = valueId); `attributes`
    holds the other additional fields by RF2 column name."""

    refset_id: str
    referenced_component_id: str
    target: str | None = None
    attributes: tuple[tuple[str, str], ...] = ()


Record = Concept | Designation | ConceptProperty | ParentLink | ConceptRelationship \
    | RefsetMembership


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
    use_supplements: tuple[str, ...] = ()  # useSupplement canonicals (url or url|version)


@dataclass(frozen=True, slots=True)
class LookupResult:
    code_system: CodeSystemInfo
    detail: ConceptDetail  # supplement properties merged in
    display_language: str | None
    properties: tuple[str, ...]
    display: str | None = None  # the display chosen for display_language
    used_supplements: tuple[str, ...] = ()  # url|version of each supplement applied
    supplement_designations: tuple[tuple[str, Designation], ...] = ()  # (source, designation)


# -- ValueSet definitions and expansions -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConceptReference:
    code: str
    display: str | None = None
    designations: tuple[Designation, ...] = ()
    extensions: tuple[Mapping[str, Any], ...] = ()  # compose.include.concept.extension
    designation_extensions: tuple[tuple[Mapping[str, Any], ...], ...] = ()  # per designation


@dataclass(frozen=True, slots=True)
class Filter:
    property: str
    op: str
    value: str
    has_value: bool = True  # False when the filter came without a value (an error)


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
    contained: tuple[ValueSetDefinition, ...] = ()  # contained ValueSets ("#id" imports)
    language: str | None = None  # ValueSet.language
    #: compose `valueset-expansion-parameter` extensions as (name, value), e.g. displayLanguage
    expansion_parameters: tuple[tuple[str, str], ...] = ()


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
    properties: tuple[str, ...] = ()  # the `property` parameter
    designations: tuple[str, ...] = ()  # the `designation` parameter, `system|code`
    supplements: tuple[str, ...] = ()  # `useSupplement` canonicals
    default_value_set_versions: tuple[str, ...] = ()  # `default-valueset-version` canonicals
    accept_language: str | None = None  # the HTTP Accept-Language header
    paged: bool = False  # `count` or `offset` was given


@dataclass(frozen=True, slots=True)
class ExpansionEntry:
    system: str
    version: str | None
    code: str
    display: str | None
    inactive: bool = False
    abstract: bool = False
    designations: tuple[Designation, ...] = ()
    properties: tuple[ConceptProperty, ...] = ()  # `property` = the property code
    extensions: tuple[Mapping[str, Any], ...] = ()  # contains.extension
    designation_extensions: tuple[tuple[Mapping[str, Any], ...], ...] = ()  # per designation
    contains: tuple[ExpansionEntry, ...] = ()  # children, in a hierarchical expansion
    show_display: bool = True  # False: the display is withheld (no match for the language)


@dataclass(frozen=True, slots=True)
class Expansion:
    value_set: ValueSetDefinition
    total: int | None  # None: left out (counting would cost more than the page)
    offset: int
    entries: tuple[ExpansionEntry, ...]
    parameters: tuple[tuple[str, str, Any], ...]  # (name, value[x] type, value)
    property_defs: tuple[tuple[str, str], ...] = ()  # expansion.property (code, uri)
    extensions: tuple[Mapping[str, Any], ...] = ()  # expansion.extension
    show_offset: bool = False
    versioned_systems: frozenset[str] = frozenset()  # systems whose contains carry `version`


# -- $validate-code ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodingInput:
    """One coding to validate, as the client sent it (any part may be missing)."""

    system: str | None
    code: str | None
    version: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    """CodeSystem or ValueSet $validate-code, already parsed.

    `form` says how the client sent the codes: as `code`/`system` parameters, one `coding`
    or a `codeableConcept`; it decides the issue expressions (`code`, `Coding.code`, ...).
    """

    codings: tuple[CodingInput, ...]
    form: Literal["code", "coding", "codeableConcept"]
    value_set: ValueSetDefinition | None = None  # None: CodeSystem/$validate-code
    display_language: str | None = None
    lenient_display: bool = False
    active_only: bool = False
    abstract_ok: bool = True
    membership_only: bool = False
    infer_system: bool = False
    default_value_set_versions: Mapping[str, str] = field(default_factory=dict)
    codeable_concept: Mapping[str, Any] | None = None  # echoed as given
    use_supplements: tuple[str, ...] = ()  # useSupplement canonicals


@dataclass(frozen=True, slots=True)
class ValidationResult:
    result: bool
    code: str | None = None
    system: str | None = None
    version: str | None = None
    display: str | None = None
    inactive: bool | None = None
    status: str | None = None
    normalized_code: str | None = None
    message: str | None = None
    issues: tuple[Issue, ...] = ()
    codeable_concept: Mapping[str, Any] | None = None
    unknown_systems: tuple[str, ...] = ()  # x-unknown-system
    caused_by: tuple[str, ...] = ()  # x-caused-by-unknown-system


# -- $translate, $subsumes, $closure -----------------------------------------------------------

#: MapElement.source_code of the row that carries a group's `unmapped` rule (no code is empty):
#: `comment` holds the mode (fixed, use-source-code, other-map), `target_code` the fixed code
#: or the other map's canonical.
UNMAPPED_SOURCE = ""


@dataclass(frozen=True, slots=True)
class ConceptMapContent:
    """A ConceptMap that came with a request, flattened into the rows a stored one has."""

    url: str | None
    version: str | None
    source_scope: str | None
    target_scope: str | None
    elements: tuple[MapElement, ...]


@dataclass(frozen=True, slots=True)
class TranslateRequest:
    """ConceptMap $translate, R4 and R5 parameter names folded into one direction-neutral form:
    `codings` are on the source side (forward) or the target side (`reverse`)."""

    codings: tuple[CodingInput, ...]
    reverse: bool = False
    url: str | None = None
    map_version: str | None = None
    concept_map: ConceptMapContent | None = None  # inline `conceptMap`
    source_scope: str | None = None  # value set scope of the source side
    target_scope: str | None = None
    other_system: str | None = None  # the system to translate into (targetSystem)
    dependencies: tuple[tuple[str, str], ...] = ()  # (attribute, code or value)
    target_version: str | None = None  # version of other_system wanted (`targetSystem=url|v`)


@dataclass(frozen=True, slots=True)
class TranslateMatch:
    relationship: str  # R5 ConceptMapRelationship
    equivalence: str  # R4 ConceptMapEquivalence
    concept: CodingInput | None  # the target concept (None for an unmatched row)
    source: CodingInput | None = None  # reverse: the source concept found
    origin_map: str | None = None  # url|version of the map
    comment: str | None = None
    depends_on: tuple[Mapping[str, Any], ...] = ()
    product: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class TranslateResult:
    result: bool
    matches: tuple[TranslateMatch, ...]
    message: str | None = None


SubsumptionOutcome = Literal["equivalent", "subsumes", "subsumed-by", "not-subsumed"]


@dataclass(frozen=True, slots=True)
class ClosureUpdate:
    """What one $closure call answers: the table version and its new (or resent) relations,
    each (system, specific code, general code)."""

    name: str
    version: int
    relations: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class ConceptMapInfo:
    """Identity and header of a ConceptMap that a release loader builds (e.g. from a BfArM
    Überleitung): the resource minus its elements, plus the one group's systems and versions."""

    url: str
    version: str | None
    source_system: str
    target_system: str
    source_version: str | None = None
    target_version: str | None = None
    name: str | None = None
    title: str | None = None
    status: str = "active"
    source_scope: str | None = None  # ValueSet canonical of the source side
    target_scope: str | None = None
    description: str | None = None
    copyright: str | None = None
    id: str | None = None
