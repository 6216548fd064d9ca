"""Topic names (contract §9) and the channel-layer group names built from them.

Group names are built here, by the server, from validated parts: never from raw client
input (channel layer groups allow `[A-Za-z0-9._-]`, under 100 characters).
"""

import re
from dataclasses import dataclass

_TOPIC = re.compile(
    r"^(doctor\.(\d{1,12})\.(availability|queue)|user\.(\d{1,12})\.notifications|display\.doctor\.(\d{1,12}))$"
)

# The kinds of topic, as `parse` names them.
AVAILABILITY = "availability"
QUEUE = "queue"
NOTIFICATIONS = "notifications"
DISPLAY = "display"


@dataclass(frozen=True)
class Topic:
    name: str
    kind: str
    # The doctor id (availability, queue, display) or the user id (notifications).
    owner_id: int


def doctor_availability(doctor_id: int) -> str:
    return f"doctor.{doctor_id}.availability"


def doctor_queue(doctor_id: int) -> str:
    return f"doctor.{doctor_id}.queue"


def user_notifications(user_id: int) -> str:
    return f"user.{user_id}.notifications"


def display_doctor(doctor_id: int) -> str:
    return f"display.doctor.{doctor_id}"


def is_valid(topic: str) -> bool:
    return isinstance(topic, str) and bool(_TOPIC.match(topic))


def parse(topic: object) -> Topic | None:
    """The parts of a topic name, or None when it is not one."""
    if not isinstance(topic, str):
        return None
    match = _TOPIC.match(topic)
    if match is None:
        return None
    doctor_id, doctor_kind, user_id, display_id = match.group(2, 3, 4, 5)
    if doctor_id is not None:
        return Topic(topic, doctor_kind, int(doctor_id))
    if user_id is not None:
        return Topic(topic, NOTIFICATIONS, int(user_id))
    return Topic(topic, DISPLAY, int(display_id))


def family(topic: str) -> str:
    """The doctor or user a topic is about: `doctor.7` for all three of doctor 7's topics."""
    parsed = parse(topic)
    if parsed is None:
        raise ValueError(f"not a topic: {topic!r}")
    return f"user.{parsed.owner_id}" if parsed.kind == NOTIFICATIONS else f"doctor.{parsed.owner_id}"


def group_name(topic: str) -> str:
    """The channel-layer group for a valid topic (topics already use the allowed alphabet)."""
    if not is_valid(topic):
        raise ValueError(f"not a topic: {topic!r}")
    return f"t.{topic}"
