"""FHIR terminology operations as plain functions: typed in, typed out. No web, no JSON.

Stored content is reached only through `termserver.store` named queries; a request never loads
a whole code system into memory.
"""

from __future__ import annotations

from termserver.errors import NotFound
from termserver.model import LookupRequest, LookupResult, StoredCodeSystem
from termserver.store import Store


def resolve_code_system(store: Store, system: str, version: str | None) -> StoredCodeSystem:
    """The stored code system a (system, version) pair means, or a not-found error."""
    found = store.resolve_code_system(system, version)
    if found is None:
        if version is not None and store.resolve_code_system(system) is not None:
            known = ", ".join(sorted(cs.version or "(none)" for cs in store.code_systems(system)))
            raise NotFound(f"A definition for CodeSystem '{system}' version '{version}' could "
                           f"not be found; valid versions: {known}", expression=("version",))
        raise NotFound(f"A definition for CodeSystem '{system}' could not be found, so the "
                       "code cannot be looked up", expression=("system",))
    return found


def lookup(store: Store, request: LookupRequest) -> LookupResult:
    """CodeSystem $lookup (https://hl7.org/fhir/R4/codesystem-operation-lookup.html)."""
    cs = resolve_code_system(store, request.system, request.version)
    detail = store.concept_detail(cs.pk, request.code)
    if detail is None:
        where = f"{cs.url}|{cs.version}" if cs.version else cs.url
        raise NotFound(f"Unknown code '{request.code}' in the CodeSystem '{where}'",
                       expression=("code",))
    return LookupResult(cs, detail, request.display_language, request.properties)
