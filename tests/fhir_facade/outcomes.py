"""Checks shared by the FHIR tests: a body is a valid R4 resource, an error an OperationOutcome."""

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

# Required code bindings the models leave to the server (they type codes as strings).
CODES = {
    ("Slot", "status"): {"free", "busy"},
    ("Appointment", "status"): {
        "proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow", "entered-in-error",
        "checked-in", "waitlist",
    },
    ("Bundle", "type"): {"searchset"},
    ("OperationOutcome", "severity"): {"error"},
}  # fmt: skip


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """Validate `body` (and every resource a Bundle holds) against the R4 models; return it."""
    for resource in [body] + [entry["resource"] for entry in body.get("entry", [])]:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        kind = resource["resourceType"]
        for (resource_type, field), allowed in CODES.items():
            if resource_type == kind and field in resource:
                assert resource[field] in allowed, (kind, field, resource[field])
        for issue in resource.get("issue", []):
            assert issue["severity"] in CODES[("OperationOutcome", "severity")]
    return body


def fhir_json(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    return valid(response.json())


def assert_outcome(response: Any, status: int, code: str, expression: str | None = None) -> dict[str, Any]:
    """`status` with an OperationOutcome whose issue carries the clinic's error `code`."""
    assert response.status_code == status, response.content
    body = fhir_json(response)
    assert body["resourceType"] == "OperationOutcome", body
    codes = {coding["code"] for issue in body["issue"] for coding in issue["details"]["coding"]}
    assert codes == {code}, body
    if expression is not None:
        assert any(expression in issue.get("expression", []) for issue in body["issue"]), body
    return body
