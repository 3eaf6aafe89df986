"""$validate-code results → FHIR Parameters JSON (one shape for CodeSystem and ValueSet)."""

from __future__ import annotations

from termserver.fhir.outcome import operation_outcome
from termserver.model import JSON, ValidationResult


def validation_to_parameters(r: ValidationResult) -> JSON:
    params: list[JSON] = []
    if r.code is not None:
        params.append({"name": "code", "valueCode": r.code})
    if r.codeable_concept is not None:
        params.append({"name": "codeableConcept", "valueCodeableConcept": r.codeable_concept})
    if r.display:
        params.append({"name": "display", "valueString": r.display})
    if r.inactive:
        params.append({"name": "inactive", "valueBoolean": True})
    if r.issues:
        params.append({"name": "issues", "resource": operation_outcome(r.issues)})
    if r.message:
        params.append({"name": "message", "valueString": r.message})
    if r.normalized_code:
        params.append({"name": "normalized-code", "valueCode": r.normalized_code})
    params.append({"name": "result", "valueBoolean": r.result})
    if r.status:
        params.append({"name": "status", "valueCode": r.status})
    if r.system is not None:
        params.append({"name": "system", "valueUri": r.system})
    if r.version:
        params.append({"name": "version", "valueString": r.version})
    params.extend({"name": "x-caused-by-unknown-system", "valueCanonical": s}
                  for s in r.caused_by)
    params.extend({"name": "x-unknown-system", "valueCanonical": s} for s in r.unknown_systems)
    return {"resourceType": "Parameters", "parameter": params}
