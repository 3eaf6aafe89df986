"""TxContext: where a request's code systems and value sets come from.

Resources sent with the request (tx-resource, inline valueSet/codeSystem) come first, then the
store. The HTTP layer builds the context; the service never sees JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Protocol

from termserver.aliases import canonical_system
from termserver.model import StoredCodeSystem, ValueSetDefinition, content_rank
from termserver.service.provider import (
    CodeSystemProvider,
    MemoryCodeSystem,
    StoredCodeSystemProvider,
)
from termserver.service.versions import (
    VersionRules,
    is_pattern,
    latest_matching,
    version_matches,
)
from termserver.store import Store, version_key

ValueSetResolver = Callable[[str, str | None], ValueSetDefinition | None]


class TxContext:
    def __init__(self, store: Store, code_systems: Sequence[MemoryCodeSystem] = (),
                 value_sets: Sequence[ValueSetDefinition] = (),
                 stored_value_set: ValueSetResolver | None = None,
                 rules: VersionRules | None = None) -> None:
        self.store = store
        self.rules = rules or VersionRules()
        self.memory_code_systems = list(code_systems)
        self.memory_value_sets = list(value_sets)
        self.stored_value_set = stored_value_set

    def code_system(self, url: str, version: str | None = None) -> CodeSystemProvider | None:
        """The code system version meant by url (and version); unversioned: the latest.
        `version` may be a pattern such as `1.x` (the newest matching version is taken)."""
        url = canonical_system(url)  # legacy and BfArM URLs (termserver.aliases)
        if is_pattern(version):
            known = self.code_system_versions(url)
            if not any(version_matches(version, v) for v in known):
                return None
            version = latest_matching(known, version)  # None: an unversioned one matched
        matches = [cs for cs in self.memory_code_systems
                   if cs.url == url and (version is None or cs.version == version)]
        if matches:
            return max(matches, key=lambda cs: version_key(cs.version))
        stored = self.store.resolve_code_system(url, version)
        grammar = GRAMMAR.get(url)
        if grammar is not None and (version is None or version == grammar.version) and (
                stored is None or content_rank(stored.content) < content_rank("complete")):
            return grammar  # UCUM, BCP-47, …: over a `not-present` or `fragment` stub too
        if stored:
            for special in STORED_PROVIDERS:  # e.g. SNOMED CT expressions (service/snomed.py)
                found = special(self.store, stored)
                if found is not None:
                    return found
            return StoredCodeSystemProvider(self.store, stored)
        return builtin_code_system(url, version)

    def code_system_versions(self, url: str) -> list[str | None]:
        """Every known version of `url`, oldest first (None for an unversioned one)."""
        url = canonical_system(url)
        versions = {cs.version for cs in self.memory_code_systems if cs.url == url}
        versions |= {cs.version for cs in self.store.code_systems(url)}
        versions |= {cs.version for cs in builtin_code_systems(url)}
        if url in GRAMMAR:
            versions.add(GRAMMAR[url].version)
        return sorted(versions, key=version_key)

    def value_set(self, canonical: str, version: str | None = None) -> ValueSetDefinition | None:
        url, _, pinned = canonical.partition("|")
        version = version or pinned or None
        matches = [vs for vs in self.memory_value_sets
                   if vs.url == url and (version is None or vs.version == version)]
        if matches:
            return max(matches, key=lambda vs: version_key(vs.version))
        found = self.stored_value_set(url, version) if self.stored_value_set else None
        for resolver in IMPLICIT_VALUE_SETS:
            if found is not None:
                break
            found = resolver(self, url, version)
        return found or builtin_value_set(url, version)


#: Implicit value sets of loaded code systems (e.g. LOINC answer lists `http://loinc.org/vs/LL…`,
#: SNOMED CT `?fhir_vs=…`): each resolver answers (context, url, version) with a definition or
#: None; consulted after the request's and the stored value sets. Filled at start-up.
IMPLICIT_VALUE_SETS: list[Callable[[TxContext, str, str | None], ValueSetDefinition | None]] = []


#: Code systems defined by a grammar and its data rather than by loaded content (UCUM, BCP-47,
#: MIME types, ISO 3166; termserver.grammar): url -> provider. Consulted after the request's own
#: resources; over the store unless it has real content for the url. Filled at start-up.
GRAMMAR: dict[str, CodeSystemProvider] = {}


#: Providers for stored code systems that need more than StoredCodeSystemProvider (e.g. SNOMED
#: CT post-coordinated expressions): (store, stored version) -> provider, or None to pass.
STORED_PROVIDERS: list[Callable[[Store, StoredCodeSystem], CodeSystemProvider | None]] = []


# -- built-in content: FHIR core code systems and value sets (termserver.builtin) ---------------

#: The FHIR version ("4.0" or "5.0") of the request being served; the API sets it per request.
FHIR_VERSION: ContextVar[str] = ContextVar("termserver_fhir_version", default="4.0")


class BuiltinContent(Protocol):
    """Content the server has without loading it, in the client's FHIR version."""

    def code_systems(self, url: str, fhir_version: str) -> Sequence[MemoryCodeSystem]: ...

    def value_sets(self, url: str, fhir_version: str) -> Sequence[ValueSetDefinition]: ...


#: Consulted after the request's own resources and the store; filled at start-up.
BUILTIN: list[BuiltinContent] = []


def builtin_code_systems(url: str) -> list[MemoryCodeSystem]:
    return [cs for b in BUILTIN for cs in b.code_systems(url, FHIR_VERSION.get())]


def builtin_code_system(url: str, version: str | None) -> MemoryCodeSystem | None:
    found = [cs for cs in builtin_code_systems(url) if version is None or cs.version == version]
    return max(found, key=lambda cs: version_key(cs.version)) if found else None


def builtin_value_set(url: str, version: str | None) -> ValueSetDefinition | None:
    found = [vs for b in BUILTIN for vs in b.value_sets(url, FHIR_VERSION.get())
             if version is None or vs.version == version]
    return max(found, key=lambda vs: version_key(vs.version)) if found else None
