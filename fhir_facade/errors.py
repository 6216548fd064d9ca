"""Every error of the facade is an OperationOutcome, with the HTTP status of contract §1.

The REST API's one exception handler decides the status, the machine code, the message
and the field errors (`core.errors.exception_handler`); this handler only re-dresses its
answer as FHIR, so the two APIs can never disagree about what went wrong.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome, OperationOutcomeIssue
from rest_framework.response import Response

from core.errors import exception_handler as rest_exception_handler
from fhir_facade.rendering import FHIR_JSON
from fhir_facade.resources import CLINIC_CODE_SYSTEM, identifier_system

# HTTP status → FHIR IssueType (http://hl7.org/fhir/R4/valueset-issue-type.html).
_ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


def operation_outcome(
    *, status: int, code: str, detail: str, fields: dict[str, list[str]] | None = None
) -> OperationOutcome:
    """One issue per failing field (its FHIRPath in `expression`), else one for the whole request."""
    issue_type = _ISSUE_TYPES.get(status, "exception")
    details = {"coding": [{"system": f"{identifier_system()}/{CLINIC_CODE_SYSTEM}", "code": code}], "text": detail}
    if not fields:
        issues = [OperationOutcomeIssue(severity="error", code=issue_type, details=details, diagnostics=detail)]
    else:
        issues = [
            OperationOutcomeIssue(
                severity="error",
                code=issue_type,
                details=details,
                diagnostics=message,
                expression=[field],
            )
            for field, messages in fields.items()
            for message in messages
        ]
    return OperationOutcome(issue=issues)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The facade's EXCEPTION_HANDLER: the REST answer, as an OperationOutcome."""
    response = rest_exception_handler(exc, context)
    if response is None:
        return None
    body = response.data
    response.data = operation_outcome(
        status=response.status_code, code=body["code"], detail=body["detail"], fields=body.get("fields")
    )
    return response


def not_found(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """Any path under /fhir/R4/ that names no interaction of the facade."""
    outcome = operation_outcome(status=404, code="not_found", detail="No such FHIR interaction on this server.")
    return HttpResponse(outcome.model_dump_json(exclude_none=True), status=404, content_type=FHIR_JSON)
