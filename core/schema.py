"""OpenAPI additions: the contract's error body on every operation that can answer with it.

A drf-spectacular postprocessing hook, so that no view has to repeat the error responses:
400 where the operation takes input, 401 and 403 where it needs a token, 404 where the
path names an object, 429 where the view is throttled. A view names the domain errors it
raises with `error_responses(...)`, which documents each status with its codes and one
example body per code, taken from the exception itself.
"""

from collections import defaultdict
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from core.exceptions import DomainError

# The component the hook below describes in full; views refer to it by this name.
ERROR_COMPONENT = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)

ErrorSpec = type[DomainError] | tuple[int, str, str]


def error_responses(*errors: ErrorSpec) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses={201: X, **error_responses(SlotUnavailable, (404, "not_found", "Not found."))})`.

    Each error is a DomainError subclass (its status, code and default detail) or a
    `(status, code, detail)` triple for one raised inline. One response per status, whose
    description lists the codes and whose examples are real bodies.
    """
    by_status: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for error in errors:
        if isinstance(error, tuple):
            status, code, detail = error
        else:
            status, code, detail = error.status_code, error.code, error.default_detail
        by_status[status].append((code, detail))
    responses = {}
    for status, codes in sorted(by_status.items()):
        listed = ", ".join(f"`{code}`" for code, _ in codes)
        responses[status] = OpenApiResponse(
            response=ERROR_COMPONENT,
            description=f"{_DESCRIPTIONS.get(str(status), 'Refused.')} Error codes: {listed}.",
            examples=[
                OpenApiExample(code, value={"code": code, "detail": detail}, status_codes=[str(status)])
                for code, detail in codes
            ],
        )
    return responses


ERROR_SCHEMA = {
    "type": "object",
    "description": "The error body of every failed request (contract §1).",
    "properties": {
        "code": {"type": "string", "description": "Machine-readable code, such as `invalid` or `not_found`."},
        "detail": {"type": "string", "description": "A message for people."},
        "fields": {
            "type": "object",
            "description": "Only for validation errors: messages per input field.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "conflicts": {
            "type": "array",
            "items": {"type": "string", "format": "date-time"},
            "description": "Only for a series that cannot be booked (409): every start that is not free.",
        },
    },
    "required": ["code", "detail"],
}

_DESCRIPTIONS = {
    "400": "Invalid input (`fields` names what is wrong).",
    "401": "No token, or a bad or expired one.",
    "403": "Signed in, but this role may not do this.",
    "404": "Does not exist, or is not yours.",
    "409": "Conflicts with the current state.",
    "413": "The file is too large.",
    "415": "The body's Content-Type is not accepted (uploads: the file's type is refused).",
    "429": "Throttled; see the Retry-After header.",
    "502": "An outside service did not answer; retry.",
    "503": "Briefly unavailable; retry (see Retry-After).",
}

# What the one exception handler (core/errors.py) answers for each generic status.
_GENERIC_EXAMPLES: dict[str, dict[str, Any]] = {
    "400": {"code": "invalid", "detail": "Invalid input.", "fields": {"start": ["This field is required."]}},
    "401": {"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
    "403": {"code": "permission_denied", "detail": "You do not have permission to perform this action."},
    "404": {"code": "not_found", "detail": "Not found."},
    "415": {"code": "unsupported_media_type", "detail": 'Unsupported media type "text/plain" in request.'},
    "429": {"code": "throttled", "detail": "Request was throttled. Expected available in 60 seconds."},
    "503": {"code": "service_unavailable", "detail": "The service is briefly unavailable; please retry."},
}


def _error_response(status: str) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    example = _GENERIC_EXAMPLES.get(status)
    if example is not None:
        media["examples"] = {example["code"]: {"value": example}}
    response: dict[str, Any] = {"description": _DESCRIPTIONS[status], "content": {"application/json": media}}
    if status in ("429", "503"):
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}
    return response


def add_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] entry."""
    views = {(path, method.lower()): callback.cls for path, _regex, method, callback in generator.endpoints}
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = []
            parameters = operation.get("parameters", [])
            if "requestBody" in operation or any(p.get("in") == "query" for p in parameters):
                statuses.append("400")
            if any("bearerAuth" in requirement for requirement in operation.get("security", [])):
                statuses += ["401", "403"]
            # A path naming an object, or a page number past the last page.
            if any(p.get("in") in ("path",) or p.get("name") == "page" for p in parameters):
                statuses.append("404")
            if "requestBody" in operation:
                statuses.append("415")  # a body in a Content-Type the parsers do not read
            view = views.get((path, method))
            if view is not None and getattr(view, "throttle_classes", None):
                statuses.append("429")
            statuses.append("503")  # the database is unreachable: any operation, retry
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, _error_response(status))
            # Error responses a view declares by description only get the error body too.
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return result
