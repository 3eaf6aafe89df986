"""Re-validate a project's accepted targets against a (newer) target code system version.

Each target of an accepted decision is looked up in the version `new_version` of its system
(default: the newest stored) through the service layer. A code the version does not hold is
`missing`; one it holds as inactive is `inactive` (Concept.inactive, which the loaders set for
SNOMED CT active=0 and LOINC STATUS DEPRECATED, or a `status` property retired/inactive, or an
`inactive` property true). Each flag proposes replacements, best first, from:

1. SNOMED CT historical associations of the inactive concept in that version (REPLACED BY,
   SAME AS, POSSIBLY EQUIVALENT TO, … as termserver.service.snomed.ASSOCIATIONS lists them);
2. LOINC `MAP_TO` (the loader stores MapTo.csv as the property MAP_TO);
3. stored ConceptMaps from an older version of the system to the new one (e.g. BfArM
   Umsteiger ICD-10-GM/OPS), through $translate, chaining year by year when needed. The old
   version is the target's own, else the project's, else the newest older version that holds
   the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from mappings.model import Decision, Flag, Project, Target
from termserver.errors import NotFound
from termserver.model import CodingInput, ConceptDetail, TranslateRequest
from termserver.service.context import TxContext
from termserver.service.provider import CodeSystemProvider, StoredCodeSystemProvider
from termserver.service.snomed import ASSOCIATIONS, SNOMED
from termserver.service.translate import translate
from termserver.store import Store, version_key

__all__ = ["INACTIVE_STATUSES", "inactive", "replacements", "revalidate"]

#: `status` property values (FHIR concept-properties#status) that make a concept inactive.
INACTIVE_STATUSES = frozenset({"retired", "inactive"})


def inactive(detail: ConceptDetail) -> bool:
    """True when the concept is inactive in its version."""
    if detail.concept.inactive:
        return True
    for p in detail.properties:
        if p.property == "status" and p.value.lower() in INACTIVE_STATUSES:
            return True
        if p.property == "inactive" and p.value.lower() == "true":
            return True
        if p.property == "STATUS" and p.value.upper() == "DEPRECATED":
            return True
    return False


def revalidate(store: Store, project: Project, decisions: Sequence[Decision],
               new_version: str | None = None) -> list[Flag]:
    """Flags for the accepted targets that are missing or inactive in `new_version` of the
    project's target system (other systems: their newest version), in decision order."""
    ctx = TxContext(store)
    providers: dict[str, CodeSystemProvider] = {}

    def provider_for(system: str) -> CodeSystemProvider:
        if system not in providers:
            wanted = new_version if system == project.target_system else None
            found = ctx.code_system(system, wanted)
            if found is None:
                what = f"{system}|{wanted}" if wanted else system
                raise NotFound(f"code system {what} is not loaded")
            providers[system] = found
        return providers[system]

    flags: list[Flag] = []
    for d in decisions:
        if d.status != "accepted":
            continue
        for t in d.targets:
            system = t.system or project.target_system
            provider = provider_for(system)
            detail = provider.lookup(t.code)
            if detail is not None and not inactive(detail):
                continue
            problem: Literal["inactive", "missing"] = "missing" if detail is None \
                else "inactive"
            old = t.version or (project.target_version if system == project.target_system
                                else None)
            found, sources = replacements(ctx, provider, t.code, old)
            proposed = tuple(Target(r.code, r.display, r.relationship,
                                    None if system == project.target_system else system,
                                    provider.version, r.comment) for r in found)
            where = f"{system}|{provider.version}" if provider.version else system
            why = f"{t.code} is {'not in' if detail is None else 'inactive in'} {where}"
            if sources:
                why += "; replacements from " + ", ".join(sources)
            flags.append(Flag(d.source_code, t.code, problem, provider.version, proposed, why))
    return flags


def replacements(ctx: TxContext, provider: CodeSystemProvider, code: str,
                 old_version: str | None) -> tuple[list[Target], list[str]]:
    """(replacement targets, where they came from) for `code` gone or inactive in the
    provider's version; targets without a system (it is the provider's)."""
    found: list[Target] = []
    sources: list[str] = []

    def add(items: Iterable[Target], source: str) -> None:
        new = [t for t in items if t.code != code and t.code not in {f.code for f in found}]
        if new:
            found.extend(new)
            sources.append(source)

    detail = provider.lookup(code)
    if provider.url == SNOMED and isinstance(provider, StoredCodeSystemProvider):
        for refset, _, value, _ in ctx.store.memberships(provider.stored.pk, code):
            association = ASSOCIATIONS.get(refset)
            if association and value:
                add([Target(str(value), _display(provider, str(value)), association[1],
                            comment=association[0])], f"SNOMED CT {association[0]}")
    if detail is not None:
        add([Target(p.value, p.value_display or _display(provider, p.value), "equivalent",
                    comment="LOINC MAP_TO") for p in detail.properties
             if p.property == "MAP_TO"], "LOINC MAP_TO")
    for mapped, origin in _mapped(ctx, provider, code, old_version):
        add([mapped], origin)
    return found, sources


def _display(provider: CodeSystemProvider, code: str) -> str | None:
    detail = provider.lookup(code)
    return detail.concept.display if detail is not None else None


def _mapped(ctx: TxContext, provider: CodeSystemProvider, code: str,
            old_version: str | None) -> list[tuple[Target, str]]:
    """Targets that stored same-system maps (old version → the provider's) give for `code`."""
    if provider.version is None:
        return []
    old = old_version or _older_version_with(ctx, provider, code)
    if old == provider.version:
        old = None
    request = TranslateRequest(codings=(CodingInput(provider.url, code, old),),
                               other_system=provider.url, target_version=provider.version)
    out: list[tuple[Target, str]] = []
    for m in translate(ctx, request).matches:
        if m.concept is None or not m.concept.code or m.relationship == "not-related-to":
            continue
        origin = m.origin_map or "a stored ConceptMap"
        display = m.concept.display or _display(provider, m.concept.code)
        out.append((Target(m.concept.code, display, m.relationship, comment=m.comment), origin))
    return out


def _older_version_with(ctx: TxContext, provider: CodeSystemProvider, code: str) -> str | None:
    """The newest version before the provider's that holds `code`."""
    assert provider.version is not None
    older = [v for v in ctx.code_system_versions(provider.url)
             if v is not None and version_key(v) < version_key(provider.version)]
    for version in reversed(older):
        found = ctx.code_system(provider.url, version)
        if found is not None and found.lookup(code) is not None:
            return version
    return None
