"""Topic names (contract §9) and the channel-layer group names built from them.

Group names are built here, by the server, from validated parts: never from raw client
input (channel layer groups allow `[A-Za-z0-9._-]`, under 100 characters).
"""

import re

_TOPIC = re.compile(
    r"^(doctor\.(\d{1,12})\.(availability|queue)|user\.(\d{1,12})\.notifications|display\.doctor\.(\d{1,12}))$"
)


def doctor_availability(doctor_id: int) -> str:
    return f"doctor.{doctor_id}.availability"


def doctor_queue(doctor_id: int) -> str:
    return f"doctor.{doctor_id}.queue"


def user_notifications(user_id: int) -> str:
    return f"user.{user_id}.notifications"


def display_doctor(doctor_id: int) -> str:
    return f"display.doctor.{doctor_id}"


def is_valid(topic: str) -> bool:
    return bool(_TOPIC.match(topic))


def group_name(topic: str) -> str:
    """The channel-layer group for a valid topic (topics already use the allowed alphabet)."""
    if not is_valid(topic):
        raise ValueError(f"not a topic: {topic!r}")
    return f"t.{topic}"
