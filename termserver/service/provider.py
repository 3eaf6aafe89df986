"""CodeSystemProvider: one interface over stored code systems and in-request ones.

`MemoryCodeSystem` holds a CodeSystem that arrived with a request (small by nature).
`StoredCodeSystemProvider` answers from the store with named queries, never loading the whole
code system for a single-code question.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

from termserver.model import (
    CodeSystemInfo,
    Concept,
    ConceptDetail,
    ConceptProperty,
    Designation,
    ParentLink,
    Record,
    StoredCodeSystem,
)
from termserver.service import deadline
from termserver.store import Store
from termserver.textfold import has_case


class CodeSystemProvider(Protocol):
    url: str
    version: str | None
    content: str
    case_sensitive: bool | None

    def lookup(self, code: str) -> ConceptDetail | None:
        """The concept with this code (case-insensitively where the system is), or None."""
        ...

    def concepts(self) -> Iterator[ConceptDetail]:
        """Every concept, in definition order."""
        ...

    def descendants(self, code: str) -> set[str]:
        """All codes below `code` in the hierarchy (not `code` itself)."""
        ...

    def ancestors(self, code: str) -> set[str]:
        """All codes above `code` in the hierarchy (not `code` itself)."""
        ...

    @property
    def language(self) -> str | None:
        """CodeSystem.language: the language of the concept displays."""
        ...

    @property
    def status(self) -> str | None:
        """CodeSystem.status."""
        ...


class MemoryCodeSystem:
    def __init__(self, info: CodeSystemInfo, records: Iterable[Record],
                 source: Mapping[str, Any] | None = None) -> None:
        self.info = info
        self.source = source  # the CodeSystem JSON it came from, when it came as FHIR
        self.url, self.version = info.url, info.version
        self.content = info.content
        self.case_sensitive = info.case_sensitive
        concepts: dict[str, Concept] = {}
        designations: dict[str, list[Designation]] = {}
        properties: dict[str, list[ConceptProperty]] = {}
        self._parents: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {}
        for r in records:
            if isinstance(r, Concept):
                concepts.setdefault(r.code, r)
            elif isinstance(r, Designation):
                designations.setdefault(r.code, []).append(r)
            elif isinstance(r, ConceptProperty):
                properties.setdefault(r.code, []).append(r)
            elif isinstance(r, ParentLink):
                self._parents.setdefault(r.child, []).append(r.parent)
                self._children.setdefault(r.parent, []).append(r.child)
        self._details = {
            code: ConceptDetail(c, tuple(designations.get(code, ())),
                                tuple(properties.get(code, ())),
                                tuple(self._parents.get(code, ())),
                                tuple(self._children.get(code, ())))
            for code, c in concepts.items()}
        self._folded = {code.lower(): code for code in self._details}

    def lookup(self, code: str) -> ConceptDetail | None:
        found = self._details.get(code)
        if found is None and self.case_sensitive is False:
            real = self._folded.get(code.lower())
            found = self._details.get(real) if real else None
        return found

    def concepts(self) -> Iterator[ConceptDetail]:
        return iter(self._details.values())

    def descendants(self, code: str) -> set[str]:
        return _walk(code, lambda c: self._children.get(c, ()))

    def ancestors(self, code: str) -> set[str]:
        return _walk(code, lambda c: self._parents.get(c, ()))

    @property
    def language(self) -> str | None:
        return self.info.language

    @property
    def status(self) -> str | None:
        return self.info.status


class StoredCodeSystemProvider:
    def __init__(self, store: Store, cs: StoredCodeSystem) -> None:
        self.store, self.stored = store, cs
        self.url, self.version = cs.url, cs.version
        self.content = cs.content
        self.case_sensitive = cs.case_sensitive

    def lookup(self, code: str) -> ConceptDetail | None:
        found = self.store.concept_detail(self.stored.pk, code)
        if found is None and self.case_sensitive is False and has_case(code):
            real = self.store.code_folded(self.stored.pk, code)
            found = self.store.concept_detail(self.stored.pk, real) if real else None
        return found

    def concepts(self) -> Iterator[ConceptDetail]:
        return self.store.concept_details(self.stored.pk, deadline.check)

    def descendants(self, code: str) -> set[str]:
        return self.store.descendants(self.stored.pk, code)

    def ancestors(self, code: str) -> set[str]:
        return self.store.ancestors(self.stored.pk, code)

    @property
    def language(self) -> str | None:
        return self.stored.language

    @property
    def status(self) -> str | None:
        return self.stored.status


def _walk(start: str, children: object) -> set[str]:
    assert callable(children)
    seen: set[str] = set()
    stack = [start]
    while stack:
        for child in children(stack.pop()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
