"""The OpenAPI document says what the server does: statuses, error codes, examples.

The whole-suite comparison (every status any test sees is documented) is the plugin
tests/documented_statuses.py; here, its checker and the document's own consistency.
"""

from typing import Any

import jsonschema
import pytest
import yaml

from tests.documented_statuses import path_template, undocumented
from tooling.contracts import default_directory

SCHEMA = yaml.safe_load((default_directory() / "openapi.yaml").read_text())


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def _validator(schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    document = _json_schema({"components": SCHEMA["components"], **schema})
    return jsonschema.Draft7Validator(document)


def _examples() -> list[tuple[str, dict[str, Any], Any]]:
    found = []
    for path, operations in SCHEMA["paths"].items():
        for method, operation in operations.items():
            bodies = [("request", operation.get("requestBody", {}))]
            bodies += [(status, response) for status, response in operation.get("responses", {}).items()]
            for where, body in bodies:
                for media, content in body.get("content", {}).items():
                    for name, example in content.get("examples", {}).items():
                        label = f"{method.upper()} {path} {where} {media} {name}"
                        found.append((label, content["schema"], example["value"]))
    return found


EXAMPLES = _examples()


def test_there_are_examples_for_requests_and_errors():
    labels = [label for label, _, _ in EXAMPLES]
    assert any(label.startswith("POST /api/appointments/book/ request") for label in labels)
    assert len(EXAMPLES) > 100


@pytest.mark.parametrize(("label", "schema", "value"), EXAMPLES, ids=[label for label, _, _ in EXAMPLES])
def test_every_example_is_valid_against_its_schema(label, schema, value):
    errors = sorted(_validator(schema).iter_errors(value), key=str)
    assert not errors, f"{label}: {errors[0].message}"


def _codes(operation: dict[str, Any], status: str) -> set[str]:
    examples = operation["responses"][status]["content"]["application/json"].get("examples", {})
    return {example["value"]["code"] for example in examples.values()}


def test_booking_documents_its_conflict_and_error_codes():
    book = SCHEMA["paths"]["/api/appointments/book/"]["post"]
    assert _codes(book, "409") == {"slot_unavailable"}
    assert {"invalid_slot", "notice_too_short", "appointment_limit_reached"} <= _codes(book, "400")
    assert {"201", "400", "401", "403", "409"} <= set(book["responses"])


def test_cancel_answers_200_with_the_appointment():
    cancel = SCHEMA["paths"]["/api/appointments/{appointment_id}/cancel/"]["delete"]["responses"]
    assert "204" not in cancel
    assert cancel["200"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Appointment"
    assert "invalid_transition" in _codes(
        SCHEMA["paths"]["/api/appointments/{appointment_id}/cancel/"]["delete"], "400"
    )


def test_status_changes_document_invalid_transition():
    status = SCHEMA["paths"]["/api/appointments/{appointment_id}/status/"]["put"]
    assert "invalid_transition" in _codes(status, "400")


def test_the_checker_names_what_is_undocumented():
    schema = {"paths": {"/api/things/{thing_id}/": {"get": {"responses": {"200": {}, "404": {}}}}}}
    seen = {
        ("get", "/api/things/{thing_id}/"): {200: "t1", 404: "t2", 409: "t3"},
        ("delete", "/api/things/{thing_id}/"): {405: "t4"},
        ("post", "/api/things/{thing_id}/"): {201: "t5"},
        ("get", "/api/other/"): {200: "t6"},
    }
    assert undocumented(seen, schema) == [
        "GET /api/other/: the path is not in openapi.yaml (t6)",
        "GET /api/things/{thing_id}/ -> 409 is not documented (t3)",
        "POST /api/things/{thing_id}/: answered 201 but has no such operation (t5)",
    ]
    assert (
        path_template("api/appointments/<int:appointment_id>/cancel/") == "/api/appointments/{appointment_id}/cancel/"
    )


def test_regex_routes_are_compared_as_openapi_writes_them():
    assert path_template("api/health/live/?$") == "/api/health/live/"
    assert path_template("api/^things/(?P<thing_id>[0-9]+)/$") == "/api/things/{thing_id}/"
