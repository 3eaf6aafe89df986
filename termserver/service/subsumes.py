"""CodeSystem $subsumes (https://hl7.org/fhir/R4/codesystem-operation-subsumes.html).

Walks up from each code: one recursive query for a stored code system (`Store.ancestors`), the
in-memory parent links otherwise, so a general code with a huge subtree costs nothing extra.
"""

from __future__ import annotations

from termserver.errors import NotFound
from termserver.model import SubsumptionOutcome
from termserver.service.context import TxContext
from termserver.service.provider import CodeSystemProvider, StoredCodeSystemProvider


def subsumes(ctx: TxContext, system: str, version: str | None, code_a: str,
             code_b: str) -> SubsumptionOutcome:
    """How code A relates to code B in `system` (both must exist)."""
    provider = code_system_for(ctx, system, version)
    a, b = (_known(provider, c, name) for c, name in ((code_a, "codeA"), (code_b, "codeB")))
    return relation(provider, a, b)


def relation(provider: CodeSystemProvider, a: str, b: str) -> SubsumptionOutcome:
    if a == b:
        return "equivalent"
    if isinstance(provider, StoredCodeSystemProvider):  # two closure index probes at most
        store, pk = provider.store, provider.stored.pk
        if store.subsumed(pk, a, b):
            return "subsumes"
        return "subsumed-by" if store.subsumed(pk, b, a) else "not-subsumed"
    if a in ancestors(provider, b):
        return "subsumes"
    if b in ancestors(provider, a):
        return "subsumed-by"
    return "not-subsumed"


def ancestors(provider: CodeSystemProvider, code: str) -> set[str]:
    """Every code above `code` (not `code` itself)."""
    if isinstance(provider, StoredCodeSystemProvider):
        return provider.store.ancestors(provider.stored.pk, code)
    seen: set[str] = set()
    stack = [code]
    while stack:
        detail = provider.lookup(stack.pop())
        for parent in detail.parents if detail else ():
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def code_system_for(ctx: TxContext, system: str, version: str | None) -> CodeSystemProvider:
    provider = ctx.code_system(system, version)
    if provider is None:
        known = [v for v in ctx.code_system_versions(system) if v]
        if version is not None and known:
            raise NotFound(f"A definition for CodeSystem '{system}' version '{version}' could "
                           f"not be found; valid versions: {', '.join(known)}",
                           expression=("version",))
        raise NotFound(f"A definition for CodeSystem '{system}' could not be found",
                       expression=("system",))
    return provider


def _known(provider: CodeSystemProvider, code: str, name: str) -> str:
    """The code as the code system spells it (case-insensitive systems fold), or 404."""
    if isinstance(provider, StoredCodeSystemProvider) and \
            provider.store.has_code(provider.stored.pk, code):
        return code
    detail = provider.lookup(code)
    if detail is None:
        where = f"{provider.url}|{provider.version}" if provider.version else provider.url
        raise NotFound(f"Unknown code '{code}' in the CodeSystem '{where}'",
                       expression=(name,))
    return detail.concept.code
