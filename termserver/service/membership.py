"""Is one concept in a value set? Decided from compose, never by expanding it.

Each include is tested on the single concept: enumerated codes by lookup, hierarchy filters by
walking the concept's ancestors, property filters on the concept's own properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from termserver.errors import InvalidRequest
from termserver.model import (
    ConceptDetail,
    ConceptReference,
    ConceptSet,
    Filter,
    Issue,
    ValidateRequest,
    ValueSetDefinition,
)
from termserver.service import messages as msg
from termserver.service.context import TxContext
from termserver.service.filters import filter_notes, filter_test
from termserver.service.provider import CodeSystemProvider
from termserver.service.versions import Source, version_matches

MAX_DEPTH = 20


@dataclass(frozen=True, slots=True)
class VersionChoice:
    """The code system version one include of a value set resolves to."""

    provider: CodeSystemProvider | None
    wanted: str | None  # the version or pattern asked for (None: the latest)
    source: Source
    include_version: str | None = None  # what the include itself said


@dataclass(slots=True)
class Membership:
    member: bool = False
    inactive_excluded: bool = False  # in the value set's definition but excluded as inactive
    issues: list[Issue] = field(default_factory=list)  # an imported value set is missing
    deprecated_in: str | None = None  # the value set that marks the concept deprecated
    notes: list[str] = field(default_factory=list)  # filters the loaded data cannot answer


def versions_for(ctx: TxContext, vs: ValueSetDefinition, system: str,
                 request: ValidateRequest, chain: tuple[str, ...] = ()) -> list[VersionChoice]:
    """One choice per include of `system` (imports followed), in definition order."""
    out: list[VersionChoice] = []
    for cset in vs.include:
        if cset.system == system:
            wanted, source = ctx.rules.wanted(system, cset.version)
            out.append(VersionChoice(ctx.code_system(system, wanted), wanted, source,
                                     cset.version))
        for canonical in cset.value_sets:
            if canonical in chain or len(chain) > MAX_DEPTH:
                continue
            other = _import(ctx, canonical, request, vs)
            if other is not None:
                out.extend(versions_for(ctx, other, system, request, (*chain, canonical)))
    return out


def member(ctx: TxContext, vs: ValueSetDefinition, provider: CodeSystemProvider,
           detail: ConceptDetail, request: ValidateRequest,
           chain: tuple[str, ...] = ()) -> Membership:
    """Membership of `detail` (from `provider`) in `vs`."""
    here = _name(vs)
    if here in chain:
        raise msg.circular_reference(here, chain)
    chain = (*chain, here)
    out = Membership()
    for cset in vs.include:
        if _in_set(ctx, vs, cset, provider, detail, request, chain, out):
            out.member = True
            break
    if out.member:
        for cset in vs.exclude:
            if _in_set(ctx, vs, cset, provider, detail, request, chain, out) or \
                    _excluded_by_code(ctx, vs, cset, provider, detail, request, chain, out):
                out.member = False
                break
    if out.member and detail.concept.inactive and (request.active_only or vs.inactive is False):
        out.member, out.inactive_excluded = False, True
    return out


def _excluded_by_code(ctx: TxContext, vs: ValueSetDefinition, cset: ConceptSet,
                      provider: CodeSystemProvider, detail: ConceptDetail,
                      request: ValidateRequest, chain: tuple[str, ...], out: Membership) -> bool:
    """An exclude pinned to another version of the system removes the code itself, unless the
    value set says `versionsMatch=false` (then only that version's concepts go)."""
    if cset.system != provider.url or not cset.version or \
            dict(vs.expansion_parameters).get("versionsMatch") == "false":
        return False
    other = ctx.code_system(cset.system, cset.version)
    if other is None or other.version == provider.version:
        return False
    same = other.lookup(detail.concept.code)
    return same is not None and _in_set(ctx, vs, cset, other, same, request, chain, out)


def check_cycles(ctx: TxContext, vs: ValueSetDefinition, request: ValidateRequest,
                 chain: tuple[str, ...] = ()) -> None:
    """Refuse a value set whose imports (in include or exclude) lead back to itself."""
    here = _name(vs)
    if here in chain:
        raise msg.circular_reference(here, chain)
    if len(chain) > MAX_DEPTH:
        return
    for cset in (*vs.include, *vs.exclude):
        for canonical in cset.value_sets:
            other = _import(ctx, canonical, request, vs)
            if other is not None:
                check_cycles(ctx, other, request, (*chain, here))


def _name(vs: ValueSetDefinition) -> str:
    if not vs.url:
        return "(unidentified)"
    return f"{vs.url}|{vs.version}" if vs.version else vs.url


def _import(ctx: TxContext, canonical: str, request: ValidateRequest,
            parent: ValueSetDefinition | None = None) -> ValueSetDefinition | None:
    if canonical.startswith("#"):
        return next((c for c in (parent.contained if parent else ())
                     if c.resource.get("id") == canonical[1:]), None)
    url, _, version = canonical.partition("|")
    version = version or request.default_value_set_versions.get(url) or ""
    return ctx.value_set(url, version or None)


def _in_set(ctx: TxContext, vs: ValueSetDefinition, cset: ConceptSet,
            provider: CodeSystemProvider, detail: ConceptDetail, request: ValidateRequest,
            chain: tuple[str, ...], out: Membership) -> bool:
    for canonical in cset.value_sets:
        other = _import(ctx, canonical, request, vs)
        if other is None:
            url, _, version = canonical.partition("|")
            version = version or request.default_value_set_versions.get(url) or ""
            out.issues.append(msg.value_set_not_found(f"{url}|{version}" if version else url))
            return False
        if not member(ctx, other, provider, detail, request, chain).member:
            return False
    if cset.system is None:
        return bool(cset.value_sets)
    if cset.system != provider.url:
        return False
    wanted, _ = ctx.rules.wanted(cset.system, cset.version)
    if wanted and not version_matches(wanted, provider.version):
        return False
    code = detail.concept.code
    if cset.concepts:
        ref = _enumerated(cset, provider.case_sensitive is False).get(
            code if provider.case_sensitive is not False else code.lower())
        if ref is None:
            return False
        if any(_marks_deprecated(e) for e in ref.extensions):
            out.deprecated_in = _name(vs)
        return True
    for note in filter_notes(provider, cset.filters):
        if note not in out.notes:
            out.notes.append(note)
    return all(_passes(provider, f, detail, _where(vs, cset, i))
               for i, f in enumerate(cset.filters))


def _where(vs: ValueSetDefinition, cset: ConceptSet, index: int) -> str:
    if cset in vs.include:
        return f"ValueSet.compose.include[{vs.include.index(cset)}].filter[{index}]"
    return f"ValueSet.compose.exclude[{vs.exclude.index(cset)}].filter[{index}]"


def _passes(provider: CodeSystemProvider, f: Filter, detail: ConceptDetail, where: str) -> bool:
    if not f.value and f.op != "exists":
        raise InvalidRequest(
            f"The system {provider.url} filter with property = {f.property}, op = {f.op} "
            "has no value", message_id="UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE",
            tx_code="vs-invalid", expression=(where,))
    code, value = detail.concept.code, f.value
    if f.property in ("concept", "code") and f.op in _HIERARCHY:
        if f.op == "child-of":
            return value in detail.parents
        if f.op == "generalizes":
            return code == value or code in provider.ancestors(value)
        above = provider.ancestors(code)
        if f.op == "is-a":
            return code == value or value in above
        if f.op == "is-not-a":
            return not (code == value or value in above)
        if f.op == "descendent-of":
            return value in above
        return value in above and not detail.children  # descendent-leaf
    return filter_test(provider, f)(detail)


_INDEX: dict[tuple[int, bool], tuple[ConceptSet, dict[str, ConceptReference]]] = {}


def _enumerated(cset: ConceptSet, folded: bool) -> dict[str, ConceptReference]:
    """code → reference for an enumerated include, built once per parsed value set (a value
    set of 100,000 listed codes is then one dict lookup per request)."""
    key = (id(cset), folded)
    hit = _INDEX.get(key)
    if hit is not None and hit[0] is cset:
        return hit[1]
    index = {(c.code.lower() if folded else c.code): c for c in reversed(cset.concepts)}
    if len(_INDEX) > 10_000:
        _INDEX.clear()
    _INDEX[key] = (cset, index)
    return index


def _marks_deprecated(ext: Mapping[str, Any]) -> bool:
    url = ext.get("url")
    if url == "http://hl7.org/fhir/StructureDefinition/valueset-deprecated":
        return str(ext.get("valueCode", ext.get("valueBoolean"))).lower() == "true"
    if url == "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status":
        return ext.get("valueCode") in ("deprecated", "withdrawn")
    return False


_HIERARCHY = ("is-a", "is-not-a", "descendent-of", "child-of", "descendent-leaf",
              "generalizes")
