"""The view of one SNOMED CT edition version that the ECL evaluator needs.

`EclGraph` is a Protocol: the store side implements it over its tables, tests use
`MemoryEclGraph`. All ids are SCTID strings. Conventions:

* Only *active* components count unless a method says otherwise: `parents`/`children`/
  `ancestors`/`descendants` follow active is-a relationships (116680003), `relationships`
  and `concrete_values` return active inferred (or stated, if that is all there is)
  relationships, `refset_members` returns active members, `descriptions` active descriptions.
* `ancestors`/`descendants` are strict (never contain the concept itself).
* Set-valued filters (`sources`, `type_ids`, `destinations`) restrict a query; `None`
  means "no restriction". The evaluator passes whichever restriction is cheapest, so an
  implementation must honour every filter given (exactly, not as a superset).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

IS_A = "116680003"
PREFERRED = "900000000000548007"
ACCEPTABLE = "900000000000549004"
FSN = "900000000000003001"
SYNONYM = "900000000000013009"
DEFINITION = "900000000000550004"
PRIMITIVE = "900000000000074008"
DEFINED = "900000000000073002"


@dataclass(frozen=True, slots=True)
class ConceptInfo:
    """A concept row (RF2 sct2_Concept)."""

    id: str
    active: bool = True
    module_id: str = "900000000000207008"
    effective_time: str = ""  # yyyymmdd
    definition_status_id: str = PRIMITIVE


@dataclass(frozen=True, slots=True)
class Relationship:
    """An active attribute relationship `source --type_id--> destination` in role group `group`."""

    source: str
    type_id: str
    destination: str
    group: int = 0


@dataclass(frozen=True, slots=True)
class ConcreteValue:
    """An active concrete-domain relationship; `value` is int, float (decimal) or str."""

    source: str
    type_id: str
    value: int | float | str
    group: int = 0


@dataclass(frozen=True, slots=True)
class Description:
    """An active description; `acceptability` maps language refset id -> PREFERRED/ACCEPTABLE."""

    id: str
    concept_id: str
    term: str
    type_id: str = SYNONYM
    language_code: str = "en"
    acceptability: Mapping[str, str] = field(default_factory=dict)
    module_id: str = "900000000000207008"
    effective_time: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class RefsetMember:
    """An active reference set member; `fields` holds the additional columns by RF2 name
    (e.g. `mapTarget`, `targetComponentId`, `acceptabilityId`)."""

    refset_id: str
    referenced_component_id: str
    fields: Mapping[str, str] = field(default_factory=dict)
    module_id: str = "900000000000207008"
    effective_time: str = ""
    id: str = ""


@runtime_checkable
class EclGraph(Protocol):
    """What ECL evaluation reads from one edition version (see module docstring)."""

    def concept_exists(self, code: str) -> bool:
        """True when the concept exists (active or not)."""
        ...

    def concepts(self, codes: Iterable[str]) -> Mapping[str, ConceptInfo]:
        """Concept rows for those of `codes` that exist (active or inactive)."""
        ...

    def all_concepts(self, *, include_inactive: bool = False) -> set[str]:
        """Every (active) concept: the meaning of the wildcard `*`."""
        ...

    def parents(self, code: str) -> set[str]:
        ...

    def children(self, code: str) -> set[str]:
        ...

    def ancestors(self, code: str) -> set[str]:
        ...

    def descendants(self, code: str) -> set[str]:
        ...

    def refset_members(self, refset_id: str) -> set[str]:
        """referencedComponentIds of the refset's active members (empty if no such refset)."""
        ...

    def refset_rows(self, refset_ids: set[str]) -> Iterable[RefsetMember]:
        """Full active member rows of the given refsets (member filters, field selection,
        history supplements via association refsets' `targetComponentId`)."""
        ...

    def relationships(self, *, sources: set[str] | None = None,
                      type_ids: set[str] | None = None,
                      destinations: set[str] | None = None) -> Iterable[Relationship]:
        """Active attribute relationships matching all given restrictions. Is-a is read
        through parents/children; is-a rows returned here are ignored."""
        ...

    def concrete_values(self, *, sources: set[str] | None = None,
                        type_ids: set[str] | None = None) -> Iterable[ConcreteValue]:
        """Active concrete-domain relationships matching the restrictions."""
        ...

    def descriptions(self, codes: set[str] | None = None) -> Iterable[Description]:
        """Active descriptions of `codes` (all concepts' when None)."""
        ...


class MemoryEclGraph:
    """A dict-based EclGraph for tests and small in-memory data."""

    def __init__(self) -> None:
        self._concepts: dict[str, ConceptInfo] = {}
        self._parents: dict[str, set[str]] = {}
        self._children: dict[str, set[str]] = {}
        self._rels: list[Relationship] = []
        self._concrete: list[ConcreteValue] = []
        self._descriptions: list[Description] = []
        self._members: list[RefsetMember] = []

    # -- building -------------------------------------------------------------------
    def add_concept(self, code: str, *parents: str, active: bool = True,
                    term: str | None = None, module_id: str = "900000000000207008",
                    effective_time: str = "", defined: bool = False) -> None:
        """Add a concept with is-a parents and (optionally) a preferred synonym `term`."""
        self._concepts[code] = ConceptInfo(code, active, module_id, effective_time,
                                           DEFINED if defined else PRIMITIVE)
        for parent in parents:
            self._parents.setdefault(code, set()).add(parent)
            self._children.setdefault(parent, set()).add(code)
        if term is not None:
            self.add_description(code, term, acceptability={"900000000000509007": PREFERRED})

    def add_relationship(self, source: str, type_id: str, destination: str,
                         group: int = 0) -> None:
        if type_id == IS_A:
            self._parents.setdefault(source, set()).add(destination)
            self._children.setdefault(destination, set()).add(source)
        else:
            self._rels.append(Relationship(source, type_id, destination, group))

    def add_concrete(self, source: str, type_id: str, value: int | float | str,
                     group: int = 0) -> None:
        self._concrete.append(ConcreteValue(source, type_id, value, group))

    def add_description(self, code: str, term: str, *, type_id: str = SYNONYM,
                        language_code: str = "en",
                        acceptability: Mapping[str, str] | None = None,
                        module_id: str = "900000000000207008", effective_time: str = "",
                        id: str | None = None) -> None:
        did = id or str(len(self._descriptions) + 1)
        self._descriptions.append(Description(did, code, term, type_id, language_code,
                                              dict(acceptability or {}), module_id,
                                              effective_time))

    def add_member(self, refset_id: str, referenced_component_id: str,
                   **fields: str) -> None:
        self._members.append(RefsetMember(refset_id, referenced_component_id, dict(fields)))

    # -- EclGraph -------------------------------------------------------------------
    def concept_exists(self, code: str) -> bool:
        return code in self._concepts

    def concepts(self, codes: Iterable[str]) -> Mapping[str, ConceptInfo]:
        return {c: self._concepts[c] for c in codes if c in self._concepts}

    def all_concepts(self, *, include_inactive: bool = False) -> set[str]:
        return {c for c, info in self._concepts.items() if include_inactive or info.active}

    def parents(self, code: str) -> set[str]:
        return set(self._parents.get(code, ()))

    def children(self, code: str) -> set[str]:
        return set(self._children.get(code, ()))

    def _closure(self, code: str, edges: dict[str, set[str]]) -> set[str]:
        seen: set[str] = set()
        todo = list(edges.get(code, ()))
        while todo:
            item = todo.pop()
            if item not in seen:
                seen.add(item)
                todo.extend(edges.get(item, ()))
        seen.discard(code)
        return seen

    def ancestors(self, code: str) -> set[str]:
        return self._closure(code, self._parents)

    def descendants(self, code: str) -> set[str]:
        return self._closure(code, self._children)

    def refset_members(self, refset_id: str) -> set[str]:
        return {m.referenced_component_id for m in self._members if m.refset_id == refset_id}

    def refset_rows(self, refset_ids: set[str]) -> Iterable[RefsetMember]:
        return [m for m in self._members if m.refset_id in refset_ids]

    def relationships(self, *, sources: set[str] | None = None,
                      type_ids: set[str] | None = None,
                      destinations: set[str] | None = None) -> Iterable[Relationship]:
        return [r for r in self._rels
                if (sources is None or r.source in sources)
                and (type_ids is None or r.type_id in type_ids)
                and (destinations is None or r.destination in destinations)]

    def concrete_values(self, *, sources: set[str] | None = None,
                        type_ids: set[str] | None = None) -> Iterable[ConcreteValue]:
        return [v for v in self._concrete
                if (sources is None or v.source in sources)
                and (type_ids is None or v.type_id in type_ids)]

    def descriptions(self, codes: set[str] | None = None) -> Iterable[Description]:
        return [d for d in self._descriptions if codes is None or d.concept_id in codes]
