"""The websocket contract (contract §9) as data: the one source of truth for its documents.

`manage.py export_contracts` writes from here (registered in core.contracts by
RealtimeConfig.ready()), into frontend_contracts/:

- asyncapi.yaml: the AsyncAPI document of `/ws/`;
- schemas/messages/*.json and schemas/events/*.json: a JSON Schema per message and event;
- types/events.ts (from these schemas) and types/api.ts (from the OpenAPI components).

Tests validate every event the suite stores, and every message tests receive, against the
same schemas (`validate_event`, `validate_message`).
"""

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker

from realtime import topics

DATETIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
ID = {"type": "integer", "minimum": 1}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], *, required: list[str] | None = None, closed: bool = False) -> dict:
    # Open by default: the contract lets the server add fields, never drop them.
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": not closed,
    }


APPOINTMENT_STATUSES = ["booked", "checked_in", "in_progress", "completed", "no_show", "cancelled"]

APPOINTMENT = _object(
    {
        "id": ID,
        "doctor": ID,
        "patient": ID,
        "start": DATETIME,
        "end": DATETIME,
        "status": {"enum": APPOINTMENT_STATUSES},
        "reason": {"type": "string"},
        "series": _nullable(ID),
        "queue_number": _nullable({"type": "integer"}),
        "checked_in_at": _nullable(DATETIME),
        "created_at": DATETIME,
        "updated_at": DATETIME,
    }
)

# A display screen's queue entry: a number and a status, never a name (closed on purpose).
DISPLAY_ENTRY = _object(
    {"queue_number": _nullable({"type": "integer"}), "status": {"enum": APPOINTMENT_STATUSES}}, closed=True
)

NOTIFICATION = _object(
    {
        "id": ID,
        "channel": {"enum": ["sms", "email", "in_app"]},
        "kind": {"type": "string"},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "status": {"enum": ["pending", "sent", "failed"]},
        "appointment": _nullable(ID),
        "created_at": DATETIME,
        "sent_at": _nullable(DATETIME),
        "read_at": _nullable(DATETIME),
    }
)

# A direct message between a patient and a doctor (added to contract §9 by notifications).
MESSAGE = _object(
    {
        "id": ID,
        "sender": ID,
        "recipient": ID,
        "body": {"type": "string"},
        "created_at": DATETIME,
        "read_at": _nullable(DATETIME),
    }
)

# Availability events carry no patient data: closed.
SLOT_CHANGE = _object({"doctor": ID, "start": DATETIME, "end": DATETIME}, closed=True)
DAY_OR_TIME = {"anyOf": [DATE, DATETIME]}

# (topic kind, event name) -> (schema name, description, data schema)
EVENTS: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    (topics.AVAILABILITY, "slot.booked"): ("SlotBooked", "A slot of the doctor was taken.", SLOT_CHANGE),
    (topics.AVAILABILITY, "slot.released"): ("SlotReleased", "A slot of the doctor is free again.", SLOT_CHANGE),
    (topics.AVAILABILITY, "availability.changed"): (
        "AvailabilityChanged",
        "Rules or time off changed the doctor's slots between `from` and `to`: refetch them.",
        _object({"doctor": ID, "from": DAY_OR_TIME, "to": DAY_OR_TIME}, closed=True),
    ),
    (topics.QUEUE, "queue.updated"): (
        "QueueUpdated",
        "The doctor's queue, as GET /api/doctors/{id}/queue/ returns it.",
        _object(
            {
                "doctor": ID,
                "date": DATE,
                "now_serving": _nullable(APPOINTMENT),
                "waiting": {"type": "array", "items": APPOINTMENT},
                "done": {"type": "integer", "minimum": 0},
            }
        ),
    ),
    (topics.NOTIFICATIONS, "notification.created"): (
        "NotificationCreated",
        "A notification for the user.",
        NOTIFICATION,
    ),
    (topics.NOTIFICATIONS, "message.created"): (
        "MessageCreated",
        "A direct message to the user (added): as GET /api/messages/list/ lists it.",
        MESSAGE,
    ),
    (topics.DISPLAY, "queue.updated"): (
        "DisplayQueueUpdated",
        "What a reception screen shows: queue numbers and statuses only, no names.",
        _object(
            {
                "doctor": ID,
                "date": DATE,
                "now_serving": _nullable(DISPLAY_ENTRY),
                "waiting": {"type": "array", "items": DISPLAY_ENTRY},
            },
            closed=True,
        ),
    ),
}

TOPIC_PATTERNS = {
    topics.AVAILABILITY: ("doctor.{id}.availability", "Any signed-in user."),
    topics.QUEUE: ("doctor.{id}.queue", "That doctor, staff, admin."),
    topics.NOTIFICATIONS: ("user.{id}.notifications", "That user."),
    topics.DISPLAY: ("display.doctor.{id}", "Staff, admin, a display token."),
}

TOPIC = {
    "type": "string",
    "maxLength": 100,
    "pattern": r"^(doctor\.\d+\.(availability|queue)|user\.\d+\.notifications|display\.doctor\.\d+)$",
}

ERROR_CODES = [
    "bad_json",
    "bad_message",
    "message_too_large",
    "unknown_action",
    "not_authenticated",
    "already_authenticated",
    "too_many_subscriptions",
    "forbidden",
    "unknown_topic",
    "unavailable",
]


def _action(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return _object({"action": {"const": name}, **properties}, required=["action", *required])


def _server(kind: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return _object({"type": {"const": kind}, **properties}, required=["type", *required])


CLIENT_MESSAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "AuthMessage": (
        "The first message: an API token or a display token.",
        _action("auth", {"token": {"type": "string", "maxLength": 256}}, ["token"]),
    ),
    "SubscribeMessage": (
        "Subscribe to a topic; with `last_event_id`, first replay the stored events after it.",
        _action("subscribe", {"topic": TOPIC, "last_event_id": {"type": "integer", "minimum": 0}}, ["topic"]),
    ),
    "UnsubscribeMessage": ("Stop receiving a topic.", _action("unsubscribe", {"topic": TOPIC}, ["topic"])),
    "PingMessage": ("Keep-alive; answered by pong.", _action("ping", {}, [])),
}

EVENT_ENVELOPE = _server(
    "event",
    {"id": ID, "topic": TOPIC, "event": {"type": "string"}, "occurred_at": DATETIME, "data": {"type": "object"}},
    ["id", "topic", "event", "occurred_at", "data"],
)

SERVER_MESSAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "AuthenticatedMessage": (
        "Authentication succeeded. `user` is null for a display token, which gets `display` instead.",
        _server("authenticated", {"user": _nullable(ID), "display": ID}, ["user"]),
    ),
    "SubscribedMessage": ("The subscription is live.", _server("subscribed", {"topic": TOPIC}, ["topic"])),
    "UnsubscribedMessage": (
        "The topic is no longer sent.",
        _server("unsubscribed", {"topic": _nullable({"type": "string"})}, ["topic"]),
    ),
    "PongMessage": ("The answer to ping.", _server("pong", {}, [])),
    "ResyncRequiredMessage": (
        "Events after `last_event_id` are no longer kept: refetch the state over REST; live events follow.",
        _server("resync_required", {"topic": TOPIC}, ["topic"]),
    ),
    "ErrorMessage": (
        "A refused message; the socket stays open.",
        _server(
            "error",
            {"code": {"enum": ERROR_CODES}, "topic": {"type": "string"}, "detail": {"type": "string"}},
            ["code"],
        ),
    ),
    "EventMessage": ("Every event; `data` depends on the topic and event (see the event schemas).", EVENT_ENVELOPE),
}

CLOSE_CODES = {
    4000: "No auth message within WS_AUTH_TIMEOUT_SECONDS (default 10 s).",
    4001: "Bad token; also when the socket's token expires or is revoked.",
}


# --- validation ------------------------------------------------------------------------

_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    # Contract §1: ISO 8601 with an offset.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    return not isinstance(value, str) or bool(date.fromisoformat(value))


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=_formats)


def validate_event(*, topic: str, event: str, data: Any) -> None:
    """Raise jsonschema.ValidationError (or KeyError for an undeclared event) unless `data` fits."""
    parsed = topics.parse(topic)
    if parsed is None:
        raise KeyError(f"not a topic: {topic!r}")
    _, _, schema = EVENTS[(parsed.kind, event)]
    _validator(schema).validate(data)


def validate_message(message: dict[str, Any]) -> None:
    """Validate one server message (and, for an event, its data) against the contract."""
    kind = message.get("type")
    for _, schema in SERVER_MESSAGES.values():
        if schema["properties"]["type"]["const"] == kind:
            _validator(schema).validate(message)
            break
    else:
        raise KeyError(f"not a server message: {kind!r}")
    if kind == "event":
        validate_event(topic=message["topic"], event=message["event"], data=message["data"])


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
        }.get(kind, "unknown")
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


def documents(openapi: dict[str, Any] | None) -> dict[str, str]:
    """Relative path -> file content, for everything this module generates (types/api.ts
    only when given the OpenAPI schema, which costs a pass over every view)."""
    files = {path: json.dumps(schema, indent=2) + "\n" for path, schema in json_schemas().items()}
    files["asyncapi.yaml"] = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True)
    files["types/events.ts"] = typescript_events()
    files["types/api.ts"] = typescript_api(openapi) if openapi is not None else ""
    return files


def _openapi() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _exporter(relative: str) -> Callable[[], str]:
    if relative == "types/api.ts":
        return lambda: typescript_api(_openapi())
    return lambda: documents(None)[relative]


def register_exporters() -> None:
    """Add every file of this module to the `export_contracts` registry (core.contracts)."""
    from core.contracts import contract

    for relative in documents(None):
        contract(relative)(_exporter(relative))
