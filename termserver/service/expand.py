"""ValueSet $expand (https://hl7.org/fhir/R4/valueset-operation-expand.html).

Evaluates compose.include/exclude over CodeSystemProviders: enumerated concepts, filters and
imported value sets, in definition order, de-duplicated by (system, version, code).
"""

from __future__ import annotations

from collections.abc import Iterator

from termserver.errors import InvalidRequest, NotFound, TooCostly
from termserver.model import (
    ConceptDetail,
    ConceptSet,
    ExpandRequest,
    Expansion,
    ExpansionEntry,
    ValueSetDefinition,
)
from termserver.service.context import TxContext
from termserver.service.filters import filter_test
from termserver.service.provider import CodeSystemProvider

Key = tuple[str, str | None, str]
MAX_DEPTH = 20


def expand(ctx: TxContext, request: ExpandRequest, limit: int = 10_000) -> Expansion:
    used: dict[str, str | None] = {}
    entries = list(_evaluate(ctx, request.value_set, request, used, ()).values())
    if request.active_only:
        entries = [e for e in entries if not e.inactive]
    if request.filter:
        needle = request.filter.lower()
        entries = [e for e in entries
                   if needle in (e.display or "").lower() or needle in e.code.lower()]
    total = len(entries)
    if request.count is None and total > limit:
        raise TooCostly(f"The value set expansion has {total} concepts, more than the limit "
                        f"of {limit}; use count and offset to page through it")
    page = entries[request.offset:] if request.count is None else \
        entries[request.offset:request.offset + request.count]
    params = list(request.echo)
    for system, version in used.items():
        params.append(("used-codesystem", "Uri", f"{system}|{version}" if version else system))
    return Expansion(request.value_set, total, request.offset, tuple(page), tuple(params))


def _evaluate(ctx: TxContext, vs: ValueSetDefinition, request: ExpandRequest,
              used: dict[str, str | None], chain: tuple[str, ...]) -> dict[Key, ExpansionEntry]:
    """`chain` holds the value sets being expanded above this one, to catch import cycles."""
    here = f"{vs.url}|{vs.version}" if vs.version else str(vs.url)
    if here in chain:
        cycle = " -> ".join((*chain[chain.index(here):], here))
        raise InvalidRequest(f"Circular reference in value set imports: {cycle}",
                             expression=("ValueSet.compose.include.valueSet",))
    if len(chain) > MAX_DEPTH:
        raise TooCostly(f"value set imports nest deeper than {MAX_DEPTH} levels")
    chain = (*chain, here)
    result: dict[Key, ExpansionEntry] = {}
    for include in vs.include:
        result.update(_concept_set(ctx, include, request, used, chain))
    for exclude in vs.exclude:
        for key in _concept_set(ctx, exclude, request, used, chain):
            result.pop(key, None)
    return result


def _concept_set(ctx: TxContext, cset: ConceptSet, request: ExpandRequest,
                 used: dict[str, str | None], chain: tuple[str, ...]
                 ) -> dict[Key, ExpansionEntry]:
    imported: list[dict[Key, ExpansionEntry]] = []
    for canonical in cset.value_sets:
        other = ctx.value_set(canonical)
        if other is None:
            raise NotFound(f"Unable to find included value set '{canonical}'",
                           expression=("ValueSet.compose.include.valueSet",))
        imported.append(_evaluate(ctx, other, request, used, chain))
    if cset.system is None:
        if not imported:
            return {}
        keys = set(imported[0]).intersection(*imported[1:])
        return {k: v for k, v in imported[0].items() if k in keys}
    provider = ctx.code_system(cset.system, cset.version)
    if provider is None:
        raise NotFound(_unknown_system(ctx, cset.system, cset.version),
                       expression=("ValueSet.compose.include.system",))
    used.setdefault(provider.url, provider.version)
    selected = {_key(provider, e): e for e in _select(provider, cset, request)}
    for subset in imported:
        allowed = {(k[0], k[2]) for k in subset}
        selected = {k: v for k, v in selected.items() if (k[0], k[2]) in allowed}
    return selected


def _select(provider: CodeSystemProvider, cset: ConceptSet,
            request: ExpandRequest) -> Iterator[ExpansionEntry]:
    if cset.concepts:
        for ref in cset.concepts:
            detail = provider.lookup(ref.code)
            if detail is not None:
                yield _entry(provider, detail, request, ref.display)
        return
    tests = [filter_test(provider, f) for f in cset.filters]
    for detail in provider.concepts():
        if all(test(detail) for test in tests):
            yield _entry(provider, detail, request, None)


def _entry(provider: CodeSystemProvider, detail: ConceptDetail, request: ExpandRequest,
           display: str | None) -> ExpansionEntry:
    c = detail.concept
    return ExpansionEntry(
        system=provider.url, version=provider.version, code=c.code,
        display=display or c.display, inactive=c.inactive, abstract=c.abstract,
        designations=detail.designations if request.include_designations else (),
    )


def _key(provider: CodeSystemProvider, e: ExpansionEntry) -> Key:
    return (provider.url, provider.version, e.code)


def _unknown_system(ctx: TxContext, system: str, version: str | None) -> str:
    if version is not None and ctx.code_system(system) is not None:
        return (f"A definition for CodeSystem '{system}' version '{version}' could not be "
                "found, so the value set cannot be expanded")
    return (f"A definition for CodeSystem '{system}' could not be found, so the value set "
            "cannot be expanded")
