"""$validate-code for CodeSystems and ValueSets.

https://hl7.org/fhir/R4/valueset-operation-validate-code.html and the tx-ecosystem IG. A code is
checked against the value set's compose definition directly (no expansion), so a value set of
100,000 codes costs a handful of indexed lookups. Issues carry the message ids and texts the
ecosystem's validators know (see docs/txsuite-notes.md §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from termserver.aliases import canonical_system
from termserver.model import (
    CodingInput,
    Concept,
    ConceptDetail,
    Designation,
    Issue,
    ValidateRequest,
    ValidationResult,
    ValueSetDefinition,
)
from termserver.service import messages as msg
from termserver.service.context import TxContext
from termserver.service.csview import STANDARDS_STATUS, CodeSystemView, status_warnings
from termserver.service.display import DisplayCheck, check_display, preferred_display, same_display
from termserver.service.expand import SUPPLEMENT_EXT
from termserver.service.icd_notation import notation_issue, usage_from
from termserver.service.membership import (
    Membership,
    VersionChoice,
    check_cycles,
    member,
    versions_for,
)
from termserver.service.provider import CodeSystemProvider
from termserver.service.versions import is_pattern, version_matches
from termserver.store import version_key


@dataclass(slots=True)
class CodingOutcome:
    """What validating one coding found; combined into the result by `validate_code`."""

    valid: bool = False
    in_value_set: bool = False
    resolved: bool = False  # the code was found in a known code system
    system: str | None = None
    code: str | None = None
    version: str | None = None
    display: str | None = None
    inactive: bool | None = None
    status: str | None = None
    normalized_code: str | None = None
    issues: list[tuple[Issue, bool]] = field(default_factory=list)  # (issue, in message)
    unknown_systems: list[str] = field(default_factory=list)
    caused_by: list[str] = field(default_factory=list)

    def add(self, issue: Issue, in_message: bool = True) -> None:
        self.issues.append((issue, in_message))


def validate_code(ctx: TxContext, request: ValidateRequest) -> ValidationResult:
    """Validate the request's coding(s) against its value set, or its code system alone."""
    vs = request.value_set
    if vs is not None:
        check_cycles(ctx, vs, request)
    supplements = supplements_in_force(ctx, request)  # fails early when one is missing
    if vs is not None and request.display_language is None:
        from_vs = dict(vs.expansion_parameters).get("displayLanguage") or vs.language
        if from_vs:
            request = replace(request, display_language=from_vs)
    outcomes = [_validate_one(ctx, request, coding, _prefix(request.form, i), supplements)
                for i, coding in enumerate(request.codings)]
    notes = _value_set_notes(ctx, vs, ()) if vs is not None else []
    for o in outcomes:
        o.issues.extend((n, False) for n in notes)
    if request.form == "codeableConcept":
        return _combine_cc(request, outcomes)
    return _result(request, outcomes[0], outcomes[0].issues)


def _value_set_notes(ctx: TxContext, vs: ValueSetDefinition,
                     seen: tuple[str, ...]) -> list[Issue]:
    """Status notes for the value set and the value sets it imports."""
    name = _vs_name(vs)
    if name in seen:
        return []
    out = _status_notes("ValueSet", name, vs.resource)
    for cset in (*vs.include, *vs.exclude):
        for canonical in cset.value_sets:
            other = None if canonical.startswith("#") else ctx.value_set(canonical)
            if other is not None:
                out.extend(_value_set_notes(ctx, other, (*seen, name)))
    return out


def _status_notes(kind: str, canonical: str, resource: Mapping[str, Any]) -> list[Issue]:
    """MSG_DRAFT/EXPERIMENTAL/DEPRECATED/WITHDRAWN: the statuses $expand reports as
    `warning-*` parameters, here as information issues."""
    return [msg.status_note(kind, canonical, warning.removeprefix("warning-"))
            for warning in status_warnings(resource)]


def _code_system_notes(provider: CodeSystemProvider) -> list[Issue]:
    info = getattr(provider, "info", None)
    header: Mapping[str, Any] = getattr(info, "resource", None) or {"status": provider.status}
    canonical = f"{provider.url}|{provider.version}" if provider.version else provider.url
    return _status_notes("CodeSystem", canonical, header)


def _prefix(form: str, index: int) -> str:
    if form == "code":
        return ""
    if form == "coding":
        return "Coding."
    return f"CodeableConcept.coding[{index}]."


def _combine_cc(request: ValidateRequest, outcomes: list[CodingOutcome]) -> ValidationResult:
    good = next((o for o in outcomes if o.valid), None)
    issues: list[tuple[Issue, bool]] = []
    not_in_vs = any(i.tx_code == "not-in-vs" for o in outcomes for i, _ in o.issues)
    if good is None and request.value_set is not None and not_in_vs and not any(
            o.in_value_set for o in outcomes):
        issues.append((msg.cc_not_in_vs(_vs_name(request.value_set)), True))
    for o in outcomes:
        for issue, in_message in o.issues:
            if issue.tx_code == "not-in-vs":  # per coding, not the verdict: information only
                issue = msg.demote_not_in_vs(issue)
                in_message = False
            issues.append((issue, in_message))
    chosen = good or next((o for o in outcomes if o.in_value_set), None)
    if chosen is None and request.value_set is None and len(outcomes) == 1:
        chosen = outcomes[0] if outcomes[0].resolved else None
    base = chosen or CodingOutcome()
    base.valid = good is not None and not any(i.severity == "error" and i.tx_code != "not-in-vs"
                                              and m for i, m in good.issues)
    base.unknown_systems = [s for o in outcomes for s in o.unknown_systems]
    base.caused_by = [s for o in outcomes for s in o.caused_by]
    return _result(request, base, issues)


def _result(request: ValidateRequest, o: CodingOutcome,
            issues: list[tuple[Issue, bool]]) -> ValidationResult:
    ok = o.valid and not any(i.severity == "error" for i, _ in issues)
    texts = sorted({i.text for i, in_message in issues if in_message})
    message = "; ".join(texts) if texts else None
    return ValidationResult(
        result=ok, code=o.code, system=o.system, version=o.version, display=o.display,
        inactive=o.inactive, status=o.status, normalized_code=o.normalized_code,
        message=message, issues=tuple(i for i, _ in issues),
        codeable_concept=request.codeable_concept,
        unknown_systems=tuple(dict.fromkeys(o.unknown_systems)),
        caused_by=tuple(dict.fromkeys(o.caused_by)),
    )


def _vs_name(vs: ValueSetDefinition) -> str:
    if not vs.url:
        return "(unidentified)"
    return f"{vs.url}|{vs.version}" if vs.version else vs.url


# -- one coding --------------------------------------------------------------------------------


def _validate_one(ctx: TxContext, request: ValidateRequest, coding: CodingInput,
                  prefix: str, supplements: list[CodeSystemProvider]) -> CodingOutcome:
    o = CodingOutcome(system=coding.system, code=coding.code)
    vs = request.value_set
    code = coding.code or ""
    system = coding.system
    if not system:
        if vs is not None and (request.infer_system or request.form == "code"):
            inferred = _infer_system(ctx, request, vs, code, prefix, o)
            if inferred is None:
                return o
            system = o.system = inferred
        else:
            if vs is not None:
                o.add(msg.no_system(prefix))
                o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
            else:
                o.add(msg.no_system(prefix))
            return o
    if "://" not in system and not system.startswith("urn:"):
        o.add(msg.relative_system(prefix))
        o.add(msg.unknown_system(prefix, system))
        if vs is not None:
            o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
        o.unknown_systems.append(system)
        return o
    system = o.system = canonical_system(system)  # a legacy/BfArM alias answers as canonical
    choice = _choose_version(ctx, request, system, coding, prefix, o)
    if choice is None:
        return o
    provider = choice.provider
    assert provider is not None
    if provider.content == "supplement":
        o.add(msg.supplement_as_system(prefix, provider))
        return o
    o.version = provider.version
    detail = provider.lookup(code)
    if detail is None:
        if provider.content in PARTIAL_CONTENT:
            return _not_in_partial(ctx, request, o, provider, coding, prefix)
        if not request.membership_only:
            o.add(msg.unknown_code(prefix, code, provider))
            reason = getattr(provider, "invalid_reason", None)  # e.g. SNOMED CT expressions
            why = reason(code) if callable(reason) else None
            if why:
                o.add(msg.invalid_code_reason(prefix, why), in_message=False)
            notation = notation_issue(provider.url, code, prefix, usage_from(provider.lookup))
            if notation is not None:  # e.g. ICD-10-GM "I25.11†": name the bare code(s)
                o.add(notation)
            explain = getattr(provider, "explain", None)  # grammar-based systems say why
            reason = explain(code) if callable(explain) else None
            if reason:  # e.g. UCUM "Error processing unit 'kgXX': … at character 1"
                o.add(Issue("information", "code-invalid", reason, "invalid-code",
                            (f"{prefix}code",)), in_message=False)
        if vs is not None:
            o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
        return o
    o.resolved = True
    for note in _code_system_notes(provider):
        o.add(note, in_message=False)
    if provider.content == "example" and not request.membership_only:
        o.add(msg.content_not_validated(prefix, coding, provider))
    _describe(o, provider, detail, coding, prefix)
    if vs is None:
        o.in_value_set = True
        notes = getattr(provider, "code_notes", None)  # e.g. an expression not fully checked
        for text in notes(detail.concept.code) if callable(notes) else ():
            o.add(msg.code_note(prefix, text), in_message=False)
    else:
        verdict = member(ctx, vs, provider, detail, request)
        o.in_value_set = verdict.member
        _membership_issues(o, verdict, request, prefix, coding, vs, provider, detail)
    if not request.membership_only:
        extra = _supplement_designations(supplements, provider, detail.concept.code)
        if coding.display is not None:
            check = check_display(provider, detail, coding.display, request.display_language,
                                  request.lenient_display, prefix, system, extra)
            if not check.valid or check.issues:
                check = _inactive_designation(provider, detail, coding.display, prefix, check)
            for issue in check.issues:
                o.add(issue, in_message=issue.severity != "warning" or request.lenient_display)
            if check.valid and not same_display(coding.display, detail.concept.display):
                _retired_display(o, provider, detail, coding.display, prefix)
        o.display = preferred_display(provider, detail, request.display_language, extra)
        if vs is not None and o.in_value_set and _selected_by_filter(vs, provider.url):
            o.inactive = None  # membership by a filter: no status report (as the reference)
        else:
            _status_issues(o, provider, detail, prefix)
    o.valid = o.in_value_set
    return o


#: `CodeSystem.content` values that do not list every code: a code missing from them is not
#: thereby wrong (https://hl7.org/fhir/R4/codesystem-content-mode.html).
PARTIAL_CONTENT = ("fragment", "example", "not-present")


def _not_in_partial(ctx: TxContext, request: ValidateRequest, o: CodingOutcome,
                    provider: CodeSystemProvider, coding: CodingInput,
                    prefix: str) -> CodingOutcome:
    """A code the loaded content of `provider` does not hold, where that content is partial:
    a warning instead of Unknown_Code_in_Version (as the reference server answers), and the
    value set decides by its definition alone (the whole system, or the code listed)."""
    code = coding.code or ""
    if not request.membership_only:
        if provider.content == "fragment":
            o.add(msg.unknown_code_in_fragment(prefix, code, provider), in_message=False)
        else:  # not-present / example: the system is known, its codes are not
            o.add(msg.content_not_validated(prefix, coding, provider))
    vs = request.value_set
    if vs is None:
        o.valid = o.in_value_set = True
        return o
    verdict = member(ctx, vs, provider, ConceptDetail(Concept(code)), request)
    o.valid = o.in_value_set = verdict.member
    for issue in verdict.issues:
        o.add(issue)
    if not verdict.member and not verdict.issues:
        o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
    return o


#: concept status values reported as `status` (https://hl7.org/fhir/R5/codesystem-concept-properties.html)
REPORTED_STATUS = ("retired", "deprecated", "withdrawn", "draft", "experimental")


def _describe(o: CodingOutcome, provider: CodeSystemProvider, detail: ConceptDetail,
              coding: CodingInput, prefix: str) -> None:
    c = detail.concept
    if c.code != coding.code:
        o.normalized_code = c.code
        o.add(msg.case_difference(prefix, coding.code or "", c.code, provider), False)
    o.code = coding.code
    o.inactive = True if c.inactive else None
    o.status = next((p.value for p in detail.properties
                     if p.property == "status" and p.value in REPORTED_STATUS), None)


def _retired_display(o: CodingOutcome, provider: CodeSystemProvider, detail: ConceptDetail,
                     given: str, prefix: str) -> None:
    """A display that only matches a designation marked deprecated/withdrawn is a warning."""
    matching = [d for d in detail.designations if same_display(given, d.value)]
    if not matching:
        return
    extensions = CodeSystemView(provider).designation_extensions(detail.concept.code, matching)
    if all(any(e.get("url") == STANDARDS_STATUS and e.get("valueCode") in
               ("deprecated", "withdrawn") for e in exts) for exts in extensions):
        o.add(msg.inactive_display(prefix, given, detail.concept.code, "deprecated",
                                   detail.concept.display or ""), in_message=False)


def _selected_by_filter(vs: ValueSetDefinition, system: str) -> bool:
    """Every include of `system` selects its codes by filter (none lists concepts): the
    reference server then reports no inactive status for a member (checkConceptSet)."""
    sets = [c for c in vs.include if c.system == system]
    return bool(sets) and all(c.filters and not c.concepts for c in sets)


def _inactive_designation(provider: CodeSystemProvider, detail: ConceptDetail, given: str,
                          prefix: str, check: DisplayCheck) -> DisplayCheck:
    """A display that is no valid display but matches an inactive designation (a SNOMED CT
    inactive description): valid, with the INACTIVE_DISPLAY_FOUND warning."""
    inactive = getattr(provider, "inactive_designations", None)
    if not callable(inactive) or not any(d.value == given for d in
                                         inactive(detail.concept.code)):
        return check
    allowed = [v for v in (detail.concept.display, *(d.value for d in detail.designations))
               if v]
    return DisplayCheck(True, [msg.inactive_display_of(prefix, given, detail.concept.code,
                                                       "inactive", allowed)])


def supplements_in_force(ctx: TxContext, request: ValidateRequest) -> list[CodeSystemProvider]:
    """The supplements the request (useSupplement) or value set (extension) asks for; a
    missing one is an error (VALUESET_SUPPLEMENT_MISSING)."""
    wanted = list(request.use_supplements)
    if request.value_set is not None:
        wanted += [str(e.get("valueCanonical")) for e in
                   request.value_set.resource.get("extension") or []
                   if isinstance(e, dict) and e.get("url") == SUPPLEMENT_EXT
                   and e.get("valueCanonical")]
    out = []
    for canonical in wanted:
        url, _, version = canonical.partition("|")
        found = ctx.code_system(url, version or None)
        if found is None:
            raise msg.supplement_missing(canonical)
        out.append(found)
    return out


def _supplement_designations(supplements: list[CodeSystemProvider],
                             provider: CodeSystemProvider, code: str) -> list[Designation]:
    out: list[Designation] = []
    for sup in supplements:
        target = getattr(getattr(sup, "info", None), "supplements", None) or ""
        if target.partition("|")[0] != provider.url:
            continue
        found = sup.lookup(code)
        if found is not None:
            out.extend(found.designations)
    return out


def _status_issues(o: CodingOutcome, provider: CodeSystemProvider, detail: ConceptDetail,
                   prefix: str) -> None:
    status = o.status
    if detail.concept.inactive:
        o.add(msg.inactive_concept(prefix, detail.concept.code, status))
    elif status == "deprecated":
        o.add(msg.deprecated_concept(prefix, detail.concept.code))


def _membership_issues(o: CodingOutcome, verdict: Membership, request: ValidateRequest,
                       prefix: str, coding: CodingInput, vs: ValueSetDefinition,
                       provider: CodeSystemProvider, detail: ConceptDetail) -> None:
    if verdict.inactive_excluded:
        o.add(msg.not_active(prefix, detail.concept.code))
    if verdict.member and detail.concept.abstract and not request.abstract_ok:
        o.add(msg.abstract_not_allowed(prefix, provider.url, detail.concept.code))
        o.in_value_set = verdict.member = False
    if verdict.issues:  # an imported value set is missing: that is the whole story
        for issue in verdict.issues:
            o.add(issue)
    elif not verdict.member:
        o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
    if verdict.member and verdict.deprecated_in:
        o.add(msg.deprecated_in_value_set(prefix, detail.concept.code, provider.url,
                                          verdict.deprecated_in), in_message=False)
    for note in verdict.notes:
        o.add(msg.filter_not_evaluated(note), in_message=False)


# -- code system version -----------------------------------------------------------------------


def _choose_version(ctx: TxContext, request: ValidateRequest, system: str,
                    coding: CodingInput, prefix: str, o: CodingOutcome) -> VersionChoice | None:
    """Which version of `system` to validate against, with the version-mismatch issues."""
    known = ctx.code_system_versions(system)
    vs = request.value_set
    if not known:
        if vs is not None and ctx.value_set(system) is not None:
            o.add(msg.system_is_value_set(prefix, system))
            o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
            return None
        if coding.version:
            o.add(msg.unknown_version(prefix, system, coding.version, []))
        else:
            o.add(msg.unknown_system(prefix, system))
        included = vs is not None and system in _included_systems(ctx, vs)
        if included:
            o.caused_by.append(system)
        else:
            o.unknown_systems.append(system)
            if vs is not None:
                o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
        return None
    cv = coding.version
    if cv is not None and not any(version_matches(cv, v) for v in known):
        o.add(msg.unknown_version(prefix, system, cv, known))
        o.caused_by.append(f"{system}|{cv}")
    if vs is None:
        wanted, source = ctx.rules.wanted(system, None)
        if source == "force" or cv is None:
            choice = VersionChoice(ctx.code_system(system, wanted), wanted, source)
        else:
            choice = VersionChoice(ctx.code_system(system, cv), cv, "include")
        if choice.provider is None:
            if cv is not None and source != "force":
                return None  # unknown coding version, already reported
            o.add(msg.unknown_version(prefix, system, wanted or "", known))
            return None
        return choice
    choices = versions_for(ctx, vs, system, request)
    if not choices:  # the value set does not include this system: validate the coding as is
        target = cv if cv is not None and any(v == cv for v in known) else None
        return VersionChoice(ctx.code_system(system, target), target, "latest")
    choice = _pick_choice(ctx, vs, request, choices, coding)
    # an include version `*` or `2.x` is a pattern: when it admits the coding's own version
    # there is no VALUESET_VALUE_MISMATCH, even if that version is not loaded (then it is
    # UNKNOWN_CODESYSTEM_VERSION, above, and the newest matching version is used, as for a
    # versionless include)
    admitted = cv is not None and choice.source == "include" and is_pattern(choice.wanted) \
        and version_matches(choice.wanted, cv)
    if choice.provider is None:
        o.add(msg.unknown_version(prefix, system, choice.wanted or "", known))
        o.caused_by.append(f"{system}|{choice.wanted}")
        if cv is not None and choice.wanted and not admitted and \
                not version_matches(choice.wanted, cv):
            o.add(msg.value_mismatch(prefix, system, choice.wanted, cv))
        return None
    resolved = choice.provider.version
    failed = ctx.rules.check_fails(system, resolved)
    if failed is not None:
        o.add(msg.version_check(prefix, system, resolved, failed))
    if cv is not None and resolved is not None and not admitted and \
            not version_matches(cv, resolved):
        if choice.source == "include":
            o.add(msg.value_mismatch(prefix, system, choice.wanted or resolved, cv))
        elif choice.source == "latest":
            o.add(msg.value_mismatch_default(prefix, system, resolved, cv), in_message=False)
        else:
            o.add(msg.value_mismatch_changed(prefix, system, choice.wanted or "",
                                             choice.include_version or "", cv))
    return choice


def _member_via(ctx: TxContext, vs: ValueSetDefinition, request: ValidateRequest,
                choice: VersionChoice, code: str) -> bool:
    if choice.provider is None:
        return False
    detail = choice.provider.lookup(code)
    return detail is not None and member(ctx, vs, choice.provider, detail, request).member


def _pick_choice(ctx: TxContext, vs: ValueSetDefinition, request: ValidateRequest,
                 choices: list[VersionChoice], coding: CodingInput) -> VersionChoice:
    """Several includes of one system: prefer the one whose version matches the coding, then
    the newest that has the code (one whose display matches the given one, if any)."""
    cv = coding.version
    if len(choices) == 1 and not (cv is not None and is_pattern(choices[0].wanted)):
        return choices[0]
    if cv is not None:
        for c in choices:
            if c.provider is not None and c.provider.version == cv:
                return c
        for c in choices:  # a wildcard include admits the coding's own version
            if c.source == "include" and is_pattern(c.wanted) and version_matches(c.wanted, cv):
                exact = ctx.code_system(c.provider.url if c.provider else "", cv)
                if exact is not None:
                    return VersionChoice(exact, c.wanted, c.source, c.include_version)
    def newest_first(c: VersionChoice) -> tuple[object, ...]:
        return version_key(c.provider.version if c.provider else None)

    having = sorted((c for c in choices if c.provider is not None and coding.code
                     and c.provider.lookup(coding.code) is not None),
                    key=newest_first, reverse=True)
    if not having:
        return max(choices, key=newest_first)
    inside = [c for c in having if _member_via(ctx, vs, request, c, coding.code or "")]
    having = inside or having
    if coding.display is not None:
        for c in having:
            assert c.provider is not None
            detail = c.provider.lookup(coding.code or "")
            if detail is not None and coding.display in (
                    detail.concept.display, *(d.value for d in detail.designations)):
                return c
    return having[0]


def _included_systems(ctx: TxContext, vs: ValueSetDefinition) -> set[str]:
    systems: set[str] = set()
    for cset in (*vs.include, *vs.exclude):
        if cset.system:
            systems.add(cset.system)
        for canonical in cset.value_sets:
            other = ctx.value_set(canonical)
            if other is not None and other is not vs:
                systems |= _included_systems(ctx, other)
    return systems


def _infer_system(ctx: TxContext, request: ValidateRequest, vs: ValueSetDefinition,
                  code: str, prefix: str, o: CodingOutcome) -> str | None:
    """inferSystem: the one system of the value set that has `code`."""
    found: list[str] = []
    for system in sorted(_included_systems(ctx, vs)):
        provider = ctx.code_system(system)
        if provider is None:
            continue
        detail = provider.lookup(code)
        if detail is not None and member(ctx, vs, provider, detail, request).member:
            found.append(system)
    if len(found) == 1:
        return found[0]
    coding = CodingInput(None, code)
    if not found:
        o.add(msg.cannot_infer(prefix, code, _vs_name(vs)))
    else:
        o.add(msg.cannot_infer_many(prefix, code, _vs_name(vs), found))
    o.add(msg.not_in_vs(prefix, coding, _vs_name(vs)))
    return None
