"""Building a TxContext for one request: tx-resource and inline resources, then the store."""

from __future__ import annotations

from termserver.fhir import params as p
from termserver.fhir.codesystem import code_system_info, code_system_records
from termserver.fhir.valueset import value_set_definition
from termserver.model import JSON, SearchQuery, ValueSetDefinition
from termserver.service.context import TxContext, ValueSetResolver
from termserver.service.provider import MemoryCodeSystem
from termserver.service.versions import VersionRules
from termserver.store import Store, version_key


def context_from(store: Store, pairs: p.Pairs) -> TxContext:
    code_systems: list[MemoryCodeSystem] = []
    value_sets: list[ValueSetDefinition] = []
    for name, value in pairs:
        if name not in ("tx-resource", "codeSystem", "valueSet") or not isinstance(value, dict):
            continue
        rtype = value.get("resourceType")
        if rtype == "CodeSystem":
            code_systems.append(memory_code_system(value))
        elif rtype == "ValueSet" and name != "valueSet":
            value_sets.append(value_set_definition(value))
    rules = VersionRules.from_canonicals(
        default=[str(v) for v in p.all_of(pairs, "system-version")],
        check=[str(v) for v in p.all_of(pairs, "check-system-version")],
        force=[str(v) for v in p.all_of(pairs, "force-system-version")])
    return TxContext(store, code_systems, value_sets, stored_value_set(store), rules)


def memory_code_system(data: JSON) -> MemoryCodeSystem:
    return MemoryCodeSystem(code_system_info(data), code_system_records(data))


def stored_value_set(store: Store) -> ValueSetResolver:
    """Stored ValueSets by url (and version; unversioned: the latest), parsed on demand."""
    def resolve(url: str, version: str | None) -> ValueSetDefinition | None:
        _, found = store.search(SearchQuery("ValueSet", url=url, version=version, count=100))
        if not found:
            return None
        best = max(found, key=lambda r: version_key(r.summary.version))
        return value_set_definition(best.resource)

    return resolve
