"""Building a TxContext for one request: tx-resource and inline resources, then the store."""

from __future__ import annotations

import json
import re
import time

from termserver.errors import InvalidRequest, NotFound
from termserver.fhir import params as p
from termserver.fhir.codesystem import code_system_info, code_system_records
from termserver.fhir.valueset import value_set_definition
from termserver.model import JSON, ValueSetDefinition
from termserver.service.context import TxContext, ValueSetResolver
from termserver.service.provider import MemoryCodeSystem
from termserver.service.txcache import CACHES, MAX_ID_LENGTH, CachedResource
from termserver.service.versions import VersionRules
from termserver.store import Store, version_key


def context_from(store: Store, pairs: p.Pairs, cache_id: str | None = None) -> TxContext:
    """The request's resources (tx-resource, inline codeSystem), then the store. With a
    `cache-id` parameter (or `cache_id`, from the X-Cache-Id header), the resources that cache
    holds too, and this request's resources are added to it (service/txcache.py)."""
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
    cache_id = p.text(pairs, "cache-id") or cache_id
    if cache_id:
        code_systems, value_sets = _with_cache(cache_id, pairs, code_systems, value_sets)
    rules = VersionRules.from_canonicals(
        default=[str(v) for v in p.all_of(pairs, "system-version")],
        check=[str(v) for v in p.all_of(pairs, "check-system-version")],
        force=[str(v) for v in p.all_of(pairs, "force-system-version")])
    return TxContext(store, code_systems, value_sets, stored_value_set(store), rules)


def cache_id_of(value: str | None) -> str | None:
    """A cache id as sent (header or parameter), checked: a FHIR id of at most 64 characters."""
    if value is None or value == "":
        return None
    if len(value) > MAX_ID_LENGTH or not _ID.fullmatch(value):
        raise InvalidRequest(f"The cache-id '{value[:80]}' is not a valid id",
                             expression=("cache-id",))
    return value


def cacheable(pairs: p.Pairs) -> list[CachedResource]:
    """The resources a cache keeps from a request: every tx-resource CodeSystem or ValueSet,
    and the primary `valueSet`/`codeSystem` when it has a url (a later request may name it)."""
    out: list[CachedResource] = []
    for name, value in pairs:
        if name not in ("tx-resource", "codeSystem", "valueSet") or not isinstance(value, dict):
            continue
        rtype, url = value.get("resourceType"), value.get("url")
        if rtype not in ("CodeSystem", "ValueSet") or not isinstance(url, str) or not url:
            continue
        version = value.get("version")
        key = (str(rtype), url, version if isinstance(version, str) else None)
        parsed: MemoryCodeSystem | ValueSetDefinition = (
            memory_code_system(value) if rtype == "CodeSystem" else value_set_definition(value))
        out.append(CachedResource(key, parsed, len(json.dumps(value, separators=(",", ":")))))
    return out


def _with_cache(cache_id: str, pairs: p.Pairs, code_systems: list[MemoryCodeSystem],
                value_sets: list[ValueSetDefinition]
                ) -> tuple[list[MemoryCodeSystem], list[ValueSetDefinition]]:
    """Cached resources first, minus those this request sends again (same url and version)."""
    held = CACHES.use(cache_id_of(cache_id) or cache_id, cacheable(pairs))
    sent_cs = {(cs.url, cs.version) for cs in code_systems}
    sent_vs = {(vs.url, vs.version) for vs in value_sets}
    cached_cs = [r for r in held if isinstance(r, MemoryCodeSystem)
                 and (r.url, r.version) not in sent_cs]
    cached_vs = [r for r in held if isinstance(r, ValueSetDefinition)
                 and (r.url, r.version) not in sent_vs]
    return cached_cs + code_systems, cached_vs + value_sets


_ID = re.compile(r"[A-Za-z0-9\-.]+")


def memory_code_system(data: JSON) -> MemoryCodeSystem:
    return MemoryCodeSystem(code_system_info(data), code_system_records(data), source=data)


#: Seconds a parsed stored ValueSet is trusted without looking at the store again; after that a
#: cheap summary query (no JSON) tells whether it changed (e.g. written by another process).
#: "No such ValueSet" is never cached: it always comes from a fresh query.
VALUE_SET_TTL = 2.0
#: Times a ValueSet is looked up again when it was replaced between the summary and the read.
VALUE_SET_RETRIES = 3
Stamp = tuple[str, int, str]  # (id, versionId, lastUpdated) of the stored resource
_parsed: dict[tuple[int, str, str | None], tuple[int, float, Stamp, ValueSetDefinition]] = {}


def stored_value_set(store: Store) -> ValueSetResolver:
    """Stored ValueSets by url (and version; unversioned: the latest), parsed once and reused
    while the stored resource is unchanged: a $validate-code against a large enumerated value
    set must not re-read and re-parse it per request."""
    def resolve(url: str, version: str | None) -> ValueSetDefinition | None:
        key = (id(store), url, version)
        gen, now = store.generation, time.monotonic()
        hit = _parsed.get(key)
        if hit is not None and hit[0] == gen and hit[1] > now:
            return hit[3]
        for _ in range(VALUE_SET_RETRIES):
            found = [s for s in store.stamps("ValueSet", url)
                     if version is None or s[1] == version]
            if not found:
                _parsed.pop(key, None)
                return None
            best = max(found, key=lambda s: version_key(s[1]))
            stamp = (best[0], best[2], best[3])
            if hit is not None and hit[2] == stamp:
                parsed = hit[3]
                break
            try:
                parsed = value_set_definition(store.read_resource("ValueSet", stamp[0]).resource)
                break
            except NotFound:  # replaced or deleted between the two reads: look again
                continue
        else:
            return None
        if len(_parsed) > 1000:
            _parsed.clear()
        _parsed[key] = (gen, now + VALUE_SET_TTL, stamp, parsed)
        return parsed

    return resolve
