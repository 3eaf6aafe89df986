"""`EclGraph` implementations for SNOMED CT: over the store, and with one post-coordinated
expression added (so ECL membership of an expression is evaluated like that of a concept)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from termserver.service.ecl.graph import (
    DEFINED,
    PRIMITIVE,
    ConceptInfo,
    ConcreteValue,
    Description,
    EclGraph,
    RefsetMember,
    Relationship,
)
from termserver.store import Store

_CONCEPT_PROPERTIES = ("effectiveTime", "moduleId", "sufficientlyDefined")


class StoreEclGraph:
    """One stored SNOMED CT version (code system pk) as the ECL evaluator sees it. The
    hierarchy reads use the closure table; sets of codes go to the store in chunks."""

    def __init__(self, store: Store, cs_pk: int) -> None:
        self.store, self.cs_pk = store, cs_pk
        self._all: dict[bool, set[str]] = {}

    def concept_exists(self, code: str) -> bool:
        return bool(self.store.existing_codes(self.cs_pk, (code,)))

    def concepts(self, codes: Iterable[str]) -> Mapping[str, ConceptInfo]:
        wanted = set(codes)
        exists = self.store.existing_codes(self.cs_pk, wanted)
        props = self.store.property_values(self.cs_pk, exists, _CONCEPT_PROPERTIES)
        out: dict[str, ConceptInfo] = {}
        for code, inactive in exists.items():
            p = props.get(code, {})
            out[code] = ConceptInfo(
                code, not inactive, p.get("moduleId", "900000000000207008"),
                p.get("effectiveTime", "").replace("-", ""),
                DEFINED if p.get("sufficientlyDefined") == "true" else PRIMITIVE)
        return out

    def all_concepts(self, *, include_inactive: bool = False) -> set[str]:
        if include_inactive not in self._all:
            self._all[include_inactive] = self.store.concept_codes(
                self.cs_pk, include_inactive=include_inactive)
        return set(self._all[include_inactive])

    def parents(self, code: str) -> set[str]:
        return self.store.parent_links(self.cs_pk, (code,), up=True).get(code, set())

    def children(self, code: str) -> set[str]:
        return self.store.parent_links(self.cs_pk, (code,), up=False).get(code, set())

    def ancestors(self, code: str) -> set[str]:
        return self.store.ancestors(self.cs_pk, code)

    def descendants(self, code: str) -> set[str]:
        return self.store.descendants(self.cs_pk, code)

    def refset_members(self, refset_id: str) -> set[str]:
        return self.store.refset_members(self.cs_pk, refset_id)

    def refset_rows(self, refset_ids: set[str]) -> Iterable[RefsetMember]:
        return [RefsetMember(refset, component, attributes)
                for refset, component, _target, attributes
                in self.store.refset_rows(self.cs_pk, refset_ids)]

    def relationships(self, *, sources: set[str] | None = None,
                      type_ids: set[str] | None = None,
                      destinations: set[str] | None = None) -> Iterable[Relationship]:
        return [Relationship(s, t, d, g) for s, t, d, g, _ in self.store.relationships(
            self.cs_pk, sources=sources, type_ids=type_ids, destinations=destinations)
            if d is not None]

    def concrete_values(self, *, sources: set[str] | None = None,
                        type_ids: set[str] | None = None) -> Iterable[ConcreteValue]:
        out = []
        for s, t, d, g, value in self.store.relationships(self.cs_pk, sources=sources,
                                                          type_ids=type_ids):
            if d is None and value is not None:
                out.append(ConcreteValue(s, t, concrete(value), g))
        return out

    def descriptions(self, codes: set[str] | None = None) -> Iterable[Description]:
        return [Description(f"{code}#{i}", code, value, use or "", language or "en")
                for i, (code, language, use, value)
                in enumerate(self.store.designation_rows(self.cs_pk, codes))]


def concrete(value: str) -> int | float | str:
    """An RF2 concrete value (#5, #1.5, "text") as a Python value."""
    if value.startswith("#"):
        number = value[1:]
        try:
            return int(number)
        except ValueError:
            try:
                return float(number)
            except ValueError:
                return number
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


class ExpressionGraph:
    """`base` plus one virtual concept `code` (a post-coordinated expression) below its focus
    concepts with the expression's attributes. It is a descendant of its focus concepts'
    ancestors-or-self, but nobody's child: an expression has no classified place in the
    stated hierarchy, so `<!` / `<<!` never yield it."""

    def __init__(self, base: EclGraph, code: str, focus: set[str],
                 relationships: list[Relationship], values: list[ConcreteValue]) -> None:
        self.base, self.code, self.focus = base, code, set(focus)
        self.rels, self.values = relationships, values
        self.above = set(self.focus)
        for f in self.focus:
            self.above |= base.ancestors(f)

    def concept_exists(self, code: str) -> bool:
        return code == self.code or self.base.concept_exists(code)

    def concepts(self, codes: Iterable[str]) -> Mapping[str, ConceptInfo]:
        wanted = set(codes)
        out = dict(self.base.concepts(wanted - {self.code}))
        if self.code in wanted:
            out[self.code] = ConceptInfo(self.code, True, definition_status_id=DEFINED)
        return out

    def all_concepts(self, *, include_inactive: bool = False) -> set[str]:
        return self.base.all_concepts(include_inactive=include_inactive) | {self.code}

    def parents(self, code: str) -> set[str]:
        return set(self.focus) if code == self.code else self.base.parents(code)

    def children(self, code: str) -> set[str]:
        return set() if code == self.code else self.base.children(code)

    def ancestors(self, code: str) -> set[str]:
        return set(self.above) if code == self.code else self.base.ancestors(code)

    def descendants(self, code: str) -> set[str]:
        if code == self.code:
            return set()
        found = self.base.descendants(code)
        return found | {self.code} if code in self.above else found

    def refset_members(self, refset_id: str) -> set[str]:
        return self.base.refset_members(refset_id)

    def refset_rows(self, refset_ids: set[str]) -> Iterable[RefsetMember]:
        return self.base.refset_rows(refset_ids)

    def relationships(self, *, sources: set[str] | None = None,
                      type_ids: set[str] | None = None,
                      destinations: set[str] | None = None) -> Iterable[Relationship]:
        base_sources = None if sources is None else sources - {self.code}
        out = list(self.base.relationships(sources=base_sources, type_ids=type_ids,
                                           destinations=destinations))
        if sources is None or self.code in sources:
            out += [r for r in self.rels
                    if (type_ids is None or r.type_id in type_ids)
                    and (destinations is None or r.destination in destinations)]
        return out

    def concrete_values(self, *, sources: set[str] | None = None,
                        type_ids: set[str] | None = None) -> Iterable[ConcreteValue]:
        base_sources = None if sources is None else sources - {self.code}
        out = list(self.base.concrete_values(sources=base_sources, type_ids=type_ids))
        if sources is None or self.code in sources:
            out += [v for v in self.values if type_ids is None or v.type_id in type_ids]
        return out

    def descriptions(self, codes: set[str] | None = None) -> Iterable[Description]:
        return self.base.descriptions(None if codes is None else codes - {self.code})
