"""CodeSystem $lookup (https://hl7.org/fhir/R5/codesystem-operation-lookup.html).

One code of one code system, found through the request's `TxContext`: code systems sent with
the request (tx-resource) and stored ones alike. Supplements named by `useSupplement` add
their designations (with their source) and properties. Errors carry the message ids and texts
of the HL7 validator's message bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from termserver.errors import BusinessRule, InvalidRequest, NotFound
from termserver.model import (
    CodeSystemInfo,
    ConceptDetail,
    ConceptProperty,
    Designation,
    LookupRequest,
    LookupResult,
)
from termserver.service.context import TxContext
from termserver.service.display import requested_languages
from termserver.service.languages import languages_overlap
from termserver.service.provider import (
    CodeSystemProvider,
    MemoryCodeSystem,
    StoredCodeSystemProvider,
)


def lookup(ctx: TxContext, request: LookupRequest) -> LookupResult:
    provider = resolve_code_system(ctx, request.system, request.version)
    info = header(provider)
    if info.content == "supplement":
        raise InvalidRequest(
            f"CodeSystem {_canonical(info)} is a supplement, so can't be used as a value in "
            "Coding.system", expression=("system",), message_id="CODESYSTEM_CS_NO_SUPPLEMENT",
            tx_code="invalid-data")
    detail = provider.lookup(request.code)
    if detail is None:
        raise _unknown_code(request.code, info)
    used: list[str] = []
    designations: list[tuple[str, Designation]] = []
    properties: list[ConceptProperty] = []
    for canonical in request.use_supplements:
        supplement = _supplement(ctx, info, canonical)
        source = _canonical(header(supplement))
        used.append(source)
        extra = supplement.lookup(detail.concept.code)
        if extra is not None:
            designations.extend((source, d) for d in extra.designations)
            properties.extend(extra.properties)
    if properties:
        detail = replace(detail, properties=detail.properties + tuple(properties))
    display = choose_display(info.language, detail, [d for _, d in designations],
                             request.display_language)
    result = LookupResult(info, detail, request.display_language, request.properties, display,
                          tuple(used), tuple(designations))
    extend = getattr(provider, "extend_lookup", None)  # e.g. SNOMED CT (service/snomed.py)
    return extend(result) if callable(extend) else result


@dataclass(frozen=True, slots=True)
class LabelledLookup(LookupResult):
    """A $lookup result a code system provider completed itself (SNOMED CT): `labels` are the
    displays of the concepts its properties name (property codes that are concepts, and
    code values) and `display_designation` says whether the display is also to be given as
    a `preferredForLanguage` designation (False: the designations already hold it)."""

    labels: tuple[tuple[str, str], ...] = ()
    display_designation: bool = True


def resolve_code_system(ctx: TxContext, system: str, version: str | None) -> CodeSystemProvider:
    """The code system (version) a request names, or the validator's not-found errors."""
    found = ctx.code_system(system, version)
    if found is not None:
        return found
    versions = ctx.code_system_versions(system) if version else []
    if versions:
        known = [v for v in versions if v]
        what = f"A definition for CodeSystem '{system}' version '{version}' could not be " \
               "found, so the code cannot be validated."
        if known:
            raise NotFound(f"{what} Valid versions: {' or '.join(known)}",
                           expression=("version",), message_id="UNKNOWN_CODESYSTEM_VERSION")
        raise NotFound(f"{what} No versions of this code system are known",
                       expression=("version",), message_id="UNKNOWN_CODESYSTEM_VERSION_NONE")
    raise NotFound(f"A definition for CodeSystem '{system}' could not be found, so the code "
                   "cannot be validated", expression=("system",),
                   message_id="UNKNOWN_CODESYSTEM")


def header(provider: CodeSystemProvider) -> CodeSystemInfo:
    """Identity and header (name, title, language, …) of a provider's code system."""
    if isinstance(provider, MemoryCodeSystem):
        return provider.info
    if isinstance(provider, StoredCodeSystemProvider):
        cs = provider.stored
        return CodeSystemInfo(
            url=cs.url, version=cs.version, name=cs.name, title=cs.title,
            status=cs.status or "unknown", content=cs.content,
            hierarchy_meaning=cs.hierarchy_meaning, case_sensitive=cs.case_sensitive,
            language=cs.language, supplements=cs.supplements, id=cs.resource_id)
    return CodeSystemInfo(provider.url, provider.version, content=provider.content,
                          case_sensitive=provider.case_sensitive,
                          language=getattr(provider, "language", None))


#: Designation uses that mean "a display" rather than a synonym or other kind of term.
_DISPLAY_USES = frozenset({"display", "preferredForLanguage", "900000000000548007"})


def choose_display(cs_language: str | None, detail: ConceptDetail,
                   supplement_designations: Sequence[Designation],
                   display_language: str | None) -> str:
    """The concept's display, or its best designation in the first requested language
    (`displayLanguage`, a list with q-values) that the code system's own language is not."""
    default = detail.concept.display or detail.concept.code
    for wanted in requested_languages(display_language):
        if languages_overlap(cs_language, wanted):
            return default
        pool = [*detail.designations, *supplement_designations]
        exact = [d for d in pool if d.language and d.language.lower() == wanted.lower()]
        close = exact or [d for d in pool if languages_overlap(d.language, wanted)]
        if close:
            plain = [d for d in close if d.use_code is None or d.use_code in _DISPLAY_USES]
            return (plain or close)[0].value
    return default


def _supplement(ctx: TxContext, base: CodeSystemInfo, canonical: str) -> CodeSystemProvider:
    url, _, version = canonical.partition("|")
    found = ctx.code_system(url, version or None)
    if found is None:
        raise NotFound(f"Required supplement not found: {canonical}",
                       message_id="VALUESET_SUPPLEMENT_MISSING")
    info = header(found)
    target = (info.supplements or "").partition("|")
    if info.content != "supplement" or target[0] != base.url or \
            (target[2] and base.version and target[2] != base.version):
        raise BusinessRule(f"The code system {_canonical(info)} is not a supplement of "
                           f"{_canonical(base)}", expression=("useSupplement",))
    return found


def _unknown_code(code: str, info: CodeSystemInfo) -> NotFound:
    version = f" version '{info.version}'" if info.version else ""
    if info.content == "fragment":
        return NotFound(f"Unknown Code '{code}' in the CodeSystem '{info.url}'{version} - note "
                        "that the code system is labeled as a fragment, so the code may be "
                        "valid in some other fragment", expression=("code",),
                        message_id="UNKNOWN_CODE_IN_FRAGMENT", tx_code="invalid-code")
    return NotFound(f"Unknown code '{code}' in the CodeSystem '{info.url}'{version}",
                    expression=("code",),
                    message_id="Unknown_Code_in_Version" if info.version else "Unknown_Code_in",
                    tx_code="invalid-code")


def _canonical(info: CodeSystemInfo) -> str:
    return f"{info.url}|{info.version}" if info.version else info.url
