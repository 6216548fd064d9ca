"""The websocket contract (contract §9) as data: the one source of truth for its documents.

`manage.py export_contracts` (`tooling.contracts`) renders these schemas into
frontend_contracts/: asyncapi.yaml, a JSON Schema per message and event, and
types/events.ts. Nothing a web or worker process runs imports this module.

Tests validate every event the suite stores, and every message tests receive, against the
same schemas (`validate_event`, `validate_message`).
"""

from datetime import date, datetime
from typing import Any

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
        "patient_name": {"type": "string"},
        "start": DATETIME,
        "end": DATETIME,
        "status": {"enum": APPOINTMENT_STATUSES},
        "reason": {"type": "string"},
        "visit_type": {"enum": ["in_person", "video"]},
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
    (topics.AVAILABILITY, "slot.released"): (
        "SlotReleased",
        "A slot of the doctor is free again (a cancellation, a move, a hold released or expired).",
        SLOT_CHANGE,
    ),
    (topics.AVAILABILITY, "slot.held"): (
        "SlotHeld",
        "A slot of the doctor is held for a patient for a few minutes (added, §11): taken for everyone else "
        "until `slot.booked` or `slot.released` follows.",
        SLOT_CHANGE,
    ),
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
    (topics.NOTIFICATIONS, "video.doctor_joined"): (
        "VideoDoctorJoined",
        "The doctor has entered the video visit's room (added, contract §14): the patient may join now.",
        _object({"appointment": ID, "doctor": ID, "joined_at": DATETIME}, closed=True),
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
