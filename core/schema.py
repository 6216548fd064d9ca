"""OpenAPI additions: the contract's error body on every operation that can answer with it.

A drf-spectacular postprocessing hook, so that no view has to repeat the error responses:
400 where the operation takes input, 401 and 403 where it needs a token, 404 where the
path names an object, 429 where the view is throttled.
"""

from typing import Any

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
    "429": "Throttled; see the Retry-After header.",
}


def _error_response(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == "429":
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
            if any(p.get("in") == "path" for p in parameters):
                statuses.append("404")
            view = views.get((path, method))
            if view is not None and getattr(view, "throttle_classes", None):
                statuses.append("429")
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, _error_response(status))
            # Error responses a view declares by description only get the error body too.
            for status, response in responses.items():
                if status.startswith("4") and "content" not in response:
                    response["content"] = _error_response("400")["content"]
    return result
