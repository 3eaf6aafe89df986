"""What an expansion needs from a code system version besides its concepts.

The header (status, experimental, property definitions, language, `supplements`) and the
concepts' own FHIR extras (concept and designation extensions), which the concept tables do not
hold. Both are read once per code system version: from the request's CodeSystem JSON, or from
the stored resource (a release-loaded code system stores only its header).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from termserver.errors import NotFound
from termserver.model import ConceptDetail, Designation
from termserver.service.provider import (
    CodeSystemProvider,
    MemoryCodeSystem,
    StoredCodeSystemProvider,
)

JSONMap = Mapping[str, Any]
CONCEPT_PROPERTIES = "http://hl7.org/fhir/concept-properties#"
STANDARDS_STATUS = "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"
NOT_SELECTABLE_URIS = (CONCEPT_PROPERTIES + "notSelectable",)


class CodeSystemView:
    """One code system version with its header and concept extras (built lazily)."""

    def __init__(self, provider: CodeSystemProvider) -> None:
        self.provider = provider
        self.url, self.version = provider.url, provider.version
        header, concepts = _source(provider)
        self.header: JSONMap = header
        self._concepts = concepts
        self._index: dict[str, JSONMap] | None = None
        self.property_uris: dict[str, str] = {
            str(p["code"]): str(p["uri"]) for p in header.get("property") or []
            if isinstance(p, dict) and p.get("code") and p.get("uri")}

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}" if self.version else self.url

    @property
    def language(self) -> str | None:
        value = self.header.get("language")
        return str(value) if value else getattr(self.provider, "language", None)

    @property
    def content(self) -> str:
        return self.provider.content

    @property
    def supplements(self) -> str | None:
        value = self.header.get("supplements")
        return str(value) if value else None

    def status_warnings(self) -> list[str]:
        """The `warning-*` expansion parameters this code system calls for."""
        return status_warnings(self.header)

    def concept_json(self, code: str) -> JSONMap | None:
        """The concept as the CodeSystem JSON gave it (for its extensions), or None."""
        if self._index is None:
            self._index = {}
            _index_concepts(self._concepts, self._index)
        return self._index.get(code)

    def not_selectable(self, detail: ConceptDetail) -> bool:
        """Abstract: flagged in the tables, or a property whose URI means notSelectable."""
        if detail.concept.abstract:
            return True
        return any(p.value == "true" and self.property_uris.get(p.property) in NOT_SELECTABLE_URIS
                   for p in detail.properties)

    def designation_extensions(self, code: str, designations: Iterable[Designation]
                               ) -> tuple[tuple[JSONMap, ...], ...]:
        """The extensions of each designation, matched on language and value."""
        concept = self.concept_json(code) or {}
        found = {(d.get("language"), d.get("value")): tuple(d.get("extension") or ())
                 for d in concept.get("designation") or [] if isinstance(d, dict)}
        return tuple(found.get((d.language, d.value), ()) for d in designations)


def status_warnings(resource: JSONMap, *, draft: bool = True) -> list[str]:
    """`warning-draft`, `-experimental`, `-deprecated`, `-withdrawn` for a canonical resource."""
    out = []
    if draft and resource.get("status") == "draft":
        out.append("warning-draft")
    if resource.get("experimental") is True:
        out.append("warning-experimental")
    for ext in resource.get("extension") or []:
        if isinstance(ext, dict) and ext.get("url") == STANDARDS_STATUS and \
                ext.get("valueCode") in ("deprecated", "withdrawn"):
            out.append(f"warning-{ext['valueCode']}")
    return out


def extension_value(extensions: Iterable[JSONMap], url: str) -> Any:
    """The value[x] of the first extension with this url, or None."""
    for ext in extensions:
        if ext.get("url") == url:
            return next((v for k, v in ext.items() if k.startswith("value")), None)
    return None


def _source(provider: CodeSystemProvider) -> tuple[JSONMap, list[Any]]:
    """(header, concepts JSON) of the code system, as far as they are known."""
    data: JSONMap = {}
    if isinstance(provider, MemoryCodeSystem):
        data = provider.source or provider.info.resource or {}
    elif isinstance(provider, StoredCodeSystemProvider):
        try:
            data = provider.store.read_resource("CodeSystem", provider.stored.resource_id).resource
        except NotFound:
            data = {}
    header = {k: v for k, v in data.items() if k != "concept"}
    concepts = data.get("concept")
    return header, concepts if isinstance(concepts, list) else []


def _index_concepts(concepts: list[Any], into: dict[str, JSONMap]) -> None:
    for c in concepts:
        if isinstance(c, dict) and c.get("code") is not None:
            into.setdefault(str(c["code"]), c)
            _index_concepts(c.get("concept") or [], into)
