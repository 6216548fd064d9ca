"""Every write to scheduling, as named services; import them from here.

- `availability`: weekly rules, time off, slot generation (`slots_regenerate`);
- `booking`: `appointment_book`, `appointment_update` (reason, moves);
- `lifecycle`: the transition table, `appointment_set_status`, `appointment_cancel`, queue numbers;
- `races`: the transaction and lock timeout every booking write runs in (a lost race is 409);
- `errors`: the domain errors.

Realtime payloads are built in `scheduling.events`, never here.
"""

from scheduling.services.availability import (
    SlotChanges,
    exception_create,
    horizon_end,
    rule_create,
    rule_delete,
    slots_regenerate,
)
from scheduling.services.booking import appointment_book, appointment_update
from scheduling.services.errors import (
    AppointmentLimitReached,
    InvalidSlot,
    InvalidTransition,
    NoticeTooShort,
    SlotUnavailable,
)
from scheduling.services.lifecycle import (
    STATUS_SETTERS,
    TRANSITIONS,
    appointment_cancel,
    appointment_set_status,
)

__all__ = [
    "STATUS_SETTERS",
    "TRANSITIONS",
    "AppointmentLimitReached",
    "InvalidSlot",
    "InvalidTransition",
    "NoticeTooShort",
    "SlotChanges",
    "SlotUnavailable",
    "appointment_book",
    "appointment_cancel",
    "appointment_set_status",
    "appointment_update",
    "exception_create",
    "horizon_end",
    "rule_create",
    "rule_delete",
    "slots_regenerate",
]
