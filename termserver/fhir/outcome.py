"""Issue → OperationOutcome JSON, and the issue-type → HTTP status table."""

from __future__ import annotations

from collections.abc import Iterable

from termserver.model import JSON, Issue

TX_ISSUE_TYPE = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
MESSAGE_ID = "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id"

#: One HTTP status per FHIR issue type, used for raised and returned errors alike.
ISSUE_STATUS = {
    "invalid": 400, "structure": 400, "required": 400, "value": 400, "invariant": 400,
    "not-supported": 400, "login": 401, "unknown": 401, "forbidden": 403, "not-found": 404,
    "deleted": 410, "conflict": 409, "business-rule": 422, "too-costly": 422,
    "too-long": 413, "processing": 500, "exception": 500, "timeout": 504, "transient": 503,
}


def operation_outcome(issues: Iterable[Issue]) -> JSON:
    return {"resourceType": "OperationOutcome", "issue": [issue_to_json(i) for i in issues]}


def issue_to_json(issue: Issue) -> JSON:
    out: JSON = {}
    if issue.message_id:
        out["extension"] = [{"url": MESSAGE_ID, "valueString": issue.message_id}]
    out["severity"] = issue.severity
    out["code"] = issue.code
    details: JSON = {}
    if issue.tx_code:
        details["coding"] = [{"system": TX_ISSUE_TYPE, "code": issue.tx_code}]
    details["text"] = issue.text
    out["details"] = details
    if issue.expression:
        # `expression` only: `location` is deprecated (R5: "use expression instead") and the
        # reference server (FHIRsmith, Issue.asIssue) never sends it, in R4 or R5.
        out["expression"] = list(issue.expression)
    return out


def status_for(issue: Issue) -> int:
    return ISSUE_STATUS.get(issue.code, 500)
