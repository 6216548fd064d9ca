"""The generated public contracts in frontend_contracts/: how each file is rendered.

Used by `manage.py export_contracts` (`make schema`) and the tests only, so no web or
worker process loads the renderers. Every file is rendered deterministically (same code,
same bytes), because a test regenerates every file and fails when the committed copy
differs:

- openapi.yaml: the REST API, from the views via drf-spectacular (as /api/schema/ serves it);
- asyncapi.yaml: the AsyncAPI document of `/ws/`, from `realtime.contracts`;
- schemas/messages/*.json and schemas/events/*.json: a JSON Schema per message and event;
- types/events.ts (from those schemas) and types/api.ts (from the OpenAPI components).
"""

import json
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from realtime.contracts import (
    CLIENT_MESSAGES,
    CLOSE_CODES,
    EVENT_ENVELOPE,
    EVENTS,
    SERVER_MESSAGES,
    TOPIC_PATTERNS,
)


def default_directory() -> Path:
    return Path(settings.BASE_DIR) / "frontend_contracts"


# --- documents -------------------------------------------------------------------------


def _event_file_name(kind: str, event: str) -> str:
    return f"{TOPIC_PATTERNS[kind][0].replace('{id}', 'id')}.{event}.json"


def _with_id(schema: dict[str, Any], title: str, description: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "description": description,
        **schema,
    }


def json_schemas() -> dict[str, dict[str, Any]]:
    """Relative path -> JSON Schema document, for every message and event."""
    documents: dict[str, dict[str, Any]] = {}
    for name, (description, schema) in {**CLIENT_MESSAGES, **SERVER_MESSAGES}.items():
        documents[f"schemas/messages/{name}.json"] = _with_id(schema, name, description)
    for (kind, event), (name, description, schema) in EVENTS.items():
        documents[f"schemas/events/{_event_file_name(kind, event)}"] = _with_id(schema, name, description)
    return documents


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 2.6 document of `/ws/`: one channel carrying every topic."""
    messages: dict[str, Any] = {}
    for name, (description, schema) in {**CLIENT_MESSAGES, **SERVER_MESSAGES}.items():
        messages[name] = {"name": name, "summary": description, "payload": schema}
    for (kind, event), (name, description, schema) in EVENTS.items():
        pattern, _ = TOPIC_PATTERNS[kind]
        payload = json.loads(json.dumps(EVENT_ENVELOPE))
        payload["properties"]["topic"] = {"type": "string", "description": pattern}
        payload["properties"]["event"] = {"const": event}
        payload["properties"]["data"] = schema
        messages[name] = {"name": name, "title": f"{event} on {pattern}", "summary": description, "payload": payload}
    topic_lines = "\n".join(f"- `{pattern}`: {who}" for pattern, who in TOPIC_PATTERNS.values())
    close_lines = "\n".join(f"- {code}: {meaning}" for code, meaning in CLOSE_CODES.items())
    return {
        "asyncapi": "2.6.0",
        "info": {
            "title": "Clinic realtime",
            "version": "1.0.0",
            "description": (
                "One websocket, many topics (contract §9). Authenticate with the first message, then "
                "subscribe to topics; resume with `last_event_id`.\n\nTopics and who may subscribe:\n"
                f"{topic_lines}\n\nClose codes:\n{close_lines}\n"
            ),
        },
        "servers": {
            "default": {"url": "{host}", "protocol": "ws", "variables": {"host": {"default": "localhost:8000"}}}
        },
        "defaultContentType": "application/json",
        "channels": {
            "/ws/": {
                "publish": {
                    "summary": "Client to server.",
                    "message": {"oneOf": [{"$ref": f"#/components/messages/{name}"} for name in CLIENT_MESSAGES]},
                },
                "subscribe": {
                    "summary": "Server to client.",
                    "message": {
                        "oneOf": [
                            {"$ref": f"#/components/messages/{name}"}
                            for name in [*SERVER_MESSAGES, *(entry[0] for entry in EVENTS.values())]
                        ]
                    },
                },
            }
        },
        "components": {"messages": messages},
    }


# --- TypeScript --------------------------------------------------------------------------


def _ts_type(schema: dict[str, Any], indent: str = "") -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"] if value is not None) + (
            " | null" if None in schema["enum"] else ""
        )
    for union in ("anyOf", "oneOf"):
        if union in schema:
            parts = list(dict.fromkeys(_ts_type(part, indent) for part in schema[union]))
            return " | ".join(parts)
    kind = schema.get("type")
    nullable = schema.get("nullable", False)
    if isinstance(kind, list):
        rendered = " | ".join(_ts_type({**schema, "type": one}, indent) for one in kind)
    elif kind == "object" or "properties" in schema:
        rendered = _ts_object(schema, indent)
    elif kind == "array":
        item = _ts_type(schema.get("items", {}), indent)
        rendered = f"({item})[]" if " " in item else f"{item}[]"
    else:
        rendered = {
            "string": "string",
            "integer": "number",
            "number": "number",
            "boolean": "boolean",
            "null": "null",
        }.get(str(kind), "unknown")
    return f"{rendered} | null" if nullable else rendered


def _ts_object(schema: dict[str, Any], indent: str) -> str:
    properties = schema.get("properties", {})
    if not properties:
        return "Record<string, unknown>"
    required = set(schema.get("required", []))
    inner = indent + "  "
    lines = []
    for name, prop in properties.items():
        key = name if name.isidentifier() else json.dumps(name)
        optional = "" if name in required else "?"
        lines.append(f"{inner}{key}{optional}: {_ts_type(prop, inner)};")
    return "{\n" + "\n".join(lines) + f"\n{indent}}}"


def typescript_events() -> str:
    """TypeScript types for every websocket message and event."""
    header = "// Generated by `manage.py export_contracts` from realtime/contracts.py. Do not edit.\n\n"
    blocks = []
    for name, (description, schema) in {**CLIENT_MESSAGES, **SERVER_MESSAGES}.items():
        blocks.append(f"/** {description} */\nexport type {name} = {_ts_type(schema)};")
    event_names = []
    for (kind, event), (name, description, schema) in EVENTS.items():
        pattern, _ = TOPIC_PATTERNS[kind]
        blocks.append(f"/** {description} */\nexport type {name}Data = {_ts_type(schema)};")
        blocks.append(
            f'/** `{event}` on `{pattern}`. */\nexport type {name}Event = Omit<EventMessage, "event" | "data"> & '
            f"{{ event: {json.dumps(event)}; data: {name}Data }};"
        )
        event_names.append(f"{name}Event")
    blocks.append("export type ClientMessage = " + " | ".join(CLIENT_MESSAGES) + ";")
    blocks.append(
        "export type ServerMessage = "
        + " | ".join(name for name in SERVER_MESSAGES if name != "EventMessage")
        + " | RealtimeEvent;"
    )
    blocks.append("export type RealtimeEvent = " + " | ".join(event_names) + ";")
    close = " | ".join(str(code) for code in CLOSE_CODES)
    blocks.append(f"/** Close codes of the socket (see asyncapi.yaml). */\nexport type CloseCode = {close};")
    return header + "\n\n".join(blocks) + "\n"


def typescript_api(openapi: dict[str, Any]) -> str:
    """TypeScript types for the REST schema: one per OpenAPI component."""
    header = "// Generated by `manage.py export_contracts` from the OpenAPI schema. Do not edit.\n\n"
    blocks = []
    for name, schema in sorted(openapi.get("components", {}).get("schemas", {}).items()):
        description = schema.get("description")
        doc = f"/** {' '.join(description.split())} */\n" if description else ""
        blocks.append(f"{doc}export type {name} = {_ts_type(schema)};")
    return header + "\n\n".join(blocks) + "\n"


# --- every file -------------------------------------------------------------------------


def _openapi() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def render_all() -> dict[str, str]:
    """Every contract file's relative path and text, in path order."""
    from drf_spectacular.renderers import OpenApiYamlRenderer

    openapi = _openapi()
    files = {path: json.dumps(schema, indent=2) + "\n" for path, schema in json_schemas().items()}
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True)
    files["openapi.yaml"] = OpenApiYamlRenderer().render(openapi, renderer_context={}).decode()
    files["types/events.ts"] = typescript_events()
    files["types/api.ts"] = typescript_api(openapi)
    return dict(sorted(files.items()))
