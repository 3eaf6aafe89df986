"""The issues $validate-code reports, with the message ids and texts validators know.

Texts follow the HL7 FHIR validator's message bundle (the ids are its keys), so clients that
match on them, and the tx-ecosystem tests, read them as they expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from termserver.errors import BusinessRule, NotFound
from termserver.model import CodingInput, Issue
from termserver.service.provider import CodeSystemProvider

Severity = Literal["fatal", "error", "warning", "information"]


def _issue(severity: Severity, code: str, tx: str | None, message_id: str, text: str,
           *where: str) -> Issue:
    return Issue(severity, code, text, tx, tuple(w for w in where if w), message_id)


def _cs(provider: CodeSystemProvider) -> str:
    return f"{provider.url}|{provider.version}" if provider.version else provider.url


def not_in_vs(prefix: str, coding: CodingInput, vs: str) -> Issue:
    what = f"{coding.system or ''}{'|' + coding.version if coding.version else ''}" \
           f"#{coding.code or ''}"
    if coding.display:
        what += f" ('{coding.display}')"
    return _issue("error", "code-invalid", "not-in-vs",
                  "None_of_the_provided_codes_are_in_the_value_set_one",
                  f"The provided code '{what}' was not found in the value set '{vs}'",
                  f"{prefix}code")


def demote_not_in_vs(issue: Issue) -> Issue:
    """Inside a CodeableConcept one coding outside the value set is only information."""
    return replace(issue, severity="information", tx_code="this-code-not-in-vs")


def cc_not_in_vs(vs: str) -> Issue:
    return _issue("error", "code-invalid", "not-in-vs", "TX_GENERAL_CC_ERROR_MESSAGE",
                  f"No valid coding was found for the value set '{vs}'")


def unknown_code(prefix: str, code: str, provider: CodeSystemProvider) -> Issue:
    version = f" version '{provider.version}'" if provider.version else ""
    edition = getattr(provider, "edition_name", None)  # SNOMED CT: "International Edition"
    if edition and provider.version:
        version += f" ({edition})"
    return _issue("error", "code-invalid", "invalid-code",
                  "Unknown_Code_in_Version" if provider.version else "Unknown_Code_in",
                  f"Unknown code '{code}' in the CodeSystem '{provider.url}'{version}",
                  f"{prefix}code")


def invalid_code_reason(prefix: str, text: str) -> Issue:
    """Why an unknown code is not valid (e.g. a SNOMED CT expression that breaks the concept
    model), after the Unknown_Code error."""
    return Issue("information", "code-invalid", text, "invalid-code", (f"{prefix}code",))


def code_note(prefix: str, text: str) -> Issue:
    """A process note on a valid code (e.g. a SNOMED CT expression not checked in full)."""
    return Issue("information", "informational", text, "process-note", (f"{prefix}code",))


def inactive_display_of(prefix: str, given: str, code: str, status: str,
                        allowed: Sequence[str]) -> Issue:
    """A display that matches only an inactive designation: a warning naming the valid ones
    (sorted; quoted where they hold more than one word)."""
    shown = ",".join(f'"{a}"' if any(not ch.isalnum() for ch in a) else a
                     for a in sorted(set(allowed)))
    return _issue("warning", "invalid", "display-comment", "INACTIVE_DISPLAY_FOUND",
                  f"'{given}' is no longer considered a correct display for code '{code}' "
                  f"(status = {status}). The correct display is one of {shown}.",
                  f"{prefix}display")


def unknown_code_in_fragment(prefix: str, code: str, provider: CodeSystemProvider) -> Issue:
    version = f" version '{provider.version}'" if provider.version else ""
    return _issue("warning", "code-invalid", "invalid-code", "UNKNOWN_CODE_IN_FRAGMENT",
                  f"Unknown Code '{code}' in the CodeSystem '{provider.url}'{version} - note "
                  "that the code system is labeled as a fragment, so the code may be valid in "
                  "some other fragment", f"{prefix}code")


def content_not_validated(prefix: str, coding: CodingInput, provider: CodeSystemProvider
                          ) -> Issue:
    """A code system known only as a stub (`content` not-present or example): the code can be
    neither confirmed nor refused. The reference server's text; it carries no message id."""
    shown = f" (\"{coding.display}\")" if coding.display else ""
    where = prefix.rstrip(".")
    return Issue("warning", "not-found",
                 f"The system {provider.url} was found but did not contain enough information "
                 f"to properly validate the code \"{coding.code or ''}\"{shown} "
                 f"(mode = {provider.content})", "vs-invalid", (where,) if where else ())


def unknown_system(prefix: str, system: str) -> Issue:
    return _issue("error", "not-found", "not-found", "UNKNOWN_CODESYSTEM",
                  f"A definition for CodeSystem '{system}' could not be found, so the code "
                  "cannot be validated", f"{prefix}system")


def unknown_version(prefix: str, system: str, version: str,
                    known: Sequence[str | None]) -> Issue:
    listed = [v for v in known if v]
    if listed:
        return _issue("error", "not-found", "not-found", "UNKNOWN_CODESYSTEM_VERSION",
                      f"A definition for CodeSystem '{system}' version '{version}' could not "
                      "be found, so the code cannot be validated. Valid versions: "
                      f"{' or '.join(listed)}", f"{prefix}system")
    return _issue("error", "not-found", "not-found", "UNKNOWN_CODESYSTEM_VERSION_NONE",
                  f"A definition for CodeSystem '{system}' version '{version}' could not be "
                  "found, so the code cannot be validated. No versions of this code system "
                  "are known", f"{prefix}system")


def value_set_not_found(canonical: str) -> Issue:
    return _issue("error", "not-found", "not-found", "Unable_to_resolve_value_Set_",
                  f"A definition for the value Set '{canonical}' could not be found")


def value_mismatch(prefix: str, system: str, include: str, given: str) -> Issue:
    return _issue("error", "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH",
                  f"The code system '{system}' version '{include}' in the ValueSet include is "
                  f"different to the one in the value ('{given}')", f"{prefix}version")


def value_mismatch_default(prefix: str, system: str, resolved: str, given: str) -> Issue:
    return _issue("warning", "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH_DEFAULT",
                  f"The code system '{system}' version '{resolved}' for the versionless "
                  "include in the ValueSet include is different to the one in the value "
                  f"('{given}')", f"{prefix}version")


def value_mismatch_changed(prefix: str, system: str, applied: str, include: str,
                           given: str) -> Issue:
    return _issue("error", "invalid", "vs-invalid", "VALUESET_VALUE_MISMATCH_CHANGED",
                  f"The code system '{system}' version '{applied}' resulting from the version "
                  f"'{include}' in the ValueSet include is different to the one in the value "
                  f"('{given}')", f"{prefix}version")


def version_check(prefix: str, system: str, version: str | None, required: str) -> Issue:
    return _issue("error", "exception", "version-error", "VALUESET_VERSION_CHECK",
                  f"The version '{version or ''}' is not allowed for system '{system}': "
                  f"required to be '{required}' by a version-check parameter",
                  f"{prefix}version")


def no_system(prefix: str) -> Issue:
    return _issue("warning", "invalid", "invalid-data", "Coding_has_no_system__cannot_validate",
                  "Coding has no system. A code with no system has no defined meaning, and it "
                  "cannot be validated. A system should be provided", prefix.rstrip(".") or "")


def relative_system(prefix: str) -> Issue:
    return _issue("error", "invalid", "invalid-data", "Terminology_TX_System_Relative",
                  "Coding.system must be an absolute reference, not a local reference",
                  f"{prefix}system")


def system_is_value_set(prefix: str, url: str) -> Issue:
    return _issue("error", "invalid", "invalid-data", "Terminology_TX_System_ValueSet2",
                  f"The Coding references a value set, not a code system ('{url}')",
                  f"{prefix}system")


def supplement_as_system(prefix: str, provider: CodeSystemProvider) -> Issue:
    return _issue("error", "invalid", "invalid-data", "CODESYSTEM_CS_NO_SUPPLEMENT",
                  f"CodeSystem {_cs(provider)} is a supplement, so can't be used as a value in "
                  "Coding.system", f"{prefix}system")


def cannot_infer(prefix: str, code: str, vs: str) -> Issue:
    return _issue("error", "not-found", "cannot-infer", "UNABLE_TO_INFER_CODESYSTEM",
                  f"The System URI could not be determined for the code '{code}' in the "
                  f"ValueSet '{vs}'", f"{prefix}code")


def cannot_infer_many(prefix: str, code: str, vs: str, systems: Sequence[str]) -> Issue:
    return _issue("error", "not-found", "cannot-infer",
                  "Unable_to_resolve_system__value_set_has_multiple_matches",
                  f"The System URI could not be determined for the code '{code}' in the "
                  f"ValueSet '{vs}': value set expansion has multiple matches: "
                  f"[{', '.join(systems)}]", f"{prefix}code")


def not_active(prefix: str, code: str) -> Issue:
    return _issue("error", "business-rule", "code-rule", "STATUS_CODE_WARNING_CODE",
                  f"The concept '{code}' is valid but is not active", f"{prefix}code")


def inactive_concept(prefix: str, code: str, status: str | None) -> Issue:
    how = "inactive" if status in (None, "inactive") else f"{status} and inactive"
    return _issue("warning", "business-rule", "code-comment", "INACTIVE_CONCEPT_FOUND",
                  f"The concept '{code}' has a status of {how} and its use should be reviewed",
                  prefix.rstrip(".") or "code")


def deprecated_concept(prefix: str, code: str) -> Issue:
    return _issue("warning", "business-rule", "code-comment", "DEPRECATED_CONCEPT_FOUND",
                  f"The concept '{code}' is deprecated and its use should be reviewed",
                  prefix.rstrip(".") or "code")


def abstract_not_allowed(prefix: str, system: str, code: str) -> Issue:
    return _issue("error", "business-rule", "code-rule", "ABSTRACT_CODE_NOT_ALLOWED",
                  f"Code '{system}#{code}' is abstract, and not allowed in this context",
                  f"{prefix}code")


def case_difference(prefix: str, given: str, code: str, provider: CodeSystemProvider) -> Issue:
    return _issue("information", "business-rule", "code-rule", "CODE_CASE_DIFFERENCE",
                  f"The code '{given}' differs from the correct code '{code}' by case. Although "
                  f"the code system '{_cs(provider)}' is case insensitive, implementers are "
                  "strongly encouraged to use the correct case anyway", f"{prefix}code")


def wrong_display(severity: Severity, prefix: str, given: str, system: str, code: str,
                  valid: Sequence[tuple[str, str | None]], languages: str,
                  whitespace: bool = False) -> Issue:
    def show(value: str, lang: str | None) -> str:
        return f"'{value}' ({lang})" if lang else f"'{value}'"

    if len(valid) == 1:
        choices = f"Valid display is {show(*valid[0])}"
    else:
        choices = (f"Valid display is one of {len(valid)} choices: "
                   + " or ".join(show(v, lang) for v, lang in valid))
    if whitespace:
        return _issue(severity, "invalid", "invalid-display",
                      "Display_Name_WS_for__should_be_one_of__instead_of",
                      f"Wrong whitespace in Display Name '{given}' for {system}#{code}. "
                      f"{choices} (for the language(s) '{languages}')", f"{prefix}display")
    return _issue(severity, "invalid", "invalid-display",
                  "Display_Name_for__should_be_one_of__instead_of",
                  f"Wrong Display Name '{given}' for {system}#{code}. {choices} "
                  f"(for the language(s) '{languages}')", f"{prefix}display")


def no_display_for_language(severity: Severity, prefix: str, given: str, system: str,
                            code: str, languages: str, default: str | None) -> Issue:
    if severity == "information":
        return _issue("information", "invalid", "invalid-display",
                      "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_OK",
                      f"There are no valid display names found for the code {system}#{code} "
                      f"for language(s) '{languages}'. The display is '{given}' which is a "
                      "valid display for the default language", f"{prefix}display")
    return _issue(severity, "invalid", "invalid-display",
                  "NO_VALID_DISPLAY_FOUND_NONE_FOR_LANG_ERR",
                  f"Wrong Display Name '{given}' for {system}#{code}. There are no valid "
                  f"display names found for language(s) '{languages}'. Default display is "
                  f"'{default or ''}'", f"{prefix}display")


def status_note(kind: str, canonical: str, status: str) -> Issue:
    """MSG_DRAFT / MSG_EXPERIMENTAL / MSG_DEPRECATED / MSG_WITHDRAWN about a used resource."""
    return _issue("information", "business-rule", "status-check", f"MSG_{status.upper()}",
                  f"Reference to {status} {kind} {canonical}")


def deprecated_in_value_set(prefix: str, code: str, system: str, vs: str) -> Issue:
    return _issue("warning", "business-rule", "code-comment", "CONCEPT_DEPRECATED_IN_VALUESET",
                  f"The presence of the concept '{code}' in the system '{system}' in the value "
                  f"set {vs} is marked with a status of deprecated and its use should be "
                  "reviewed", f"{prefix}code")


def inactive_display(prefix: str, given: str, code: str, status: str, display: str) -> Issue:
    return _issue("warning", "invalid", "display-comment", "INACTIVE_DISPLAY_FOUND",
                  f"'{given}' is no longer considered a correct display for code '{code}' "
                  f"(status = {status}). The correct display is one of \"{display}\".",
                  f"{prefix}display")


def circular_reference(here: str, chain: Sequence[str]) -> BusinessRule:
    """The error for a value set whose imports lead back to itself."""
    return BusinessRule(
        f"Found a circularity pointing to {here} processing ValueSet with pathway "
        f"[{', '.join(chain)}]", message_id="VALUESET_CIRCULAR_REFERENCE",
        tx_code="vs-invalid", issue_code="processing")


def supplement_missing(canonical: str) -> NotFound:
    """The error for a supplement the request or value set requires but nobody loaded."""
    return NotFound(f"Required supplement not found: {canonical}",
                    message_id="VALUESET_SUPPLEMENT_MISSING", tx_code="not-found")


def filter_not_evaluated(note: str) -> Issue:
    """A value set filter the loaded code system version has no data for (e.g. a LOINC Part
    code without the Part files): membership could not be decided from it."""
    return _issue("warning", "not-supported", None, "VALUESET_FILTER_NOT_EVALUATED", note)
