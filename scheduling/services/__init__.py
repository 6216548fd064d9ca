"""Every write to scheduling, as named services; import them from here.

- `availability`: weekly rules, time off, slot generation (`slots_regenerate`);
- `booking`: `appointment_book` (and `appointment_book_request`, the one input path of
  the booking APIs), `appointment_update` (reason, moves);
- `series`: recurring series, booked all or nothing (`series_book`), `series_cancel`;
- `holds`: `hold_create`, `hold_offer` (the waitlist's), `hold_release`, `hold_expire`, the sweep;
- `hold_state`: how a hold ends (the one place its status changes after it is made);
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
from scheduling.services.booking import appointment_book, appointment_book_request, appointment_update
from scheduling.services.errors import (
    AppointmentLimitReached,
    InvalidSlot,
    InvalidTransition,
    NoticeTooShort,
    SlotUnavailable,
)
from scheduling.services.holds import hold_create, hold_expire, hold_offer, hold_release, holds_expire_due
from scheduling.services.lifecycle import (
    STATUS_SETTERS,
    TRANSITIONS,
    appointment_cancel,
    appointment_set_status,
)
from scheduling.services.races import lock_patient
from scheduling.services.series import SeriesBooking, series_book, series_book_request, series_cancel

__all__ = [
    "STATUS_SETTERS",
    "TRANSITIONS",
    "AppointmentLimitReached",
    "InvalidSlot",
    "InvalidTransition",
    "NoticeTooShort",
    "SeriesBooking",
    "SlotChanges",
    "SlotUnavailable",
    "appointment_book",
    "appointment_book_request",
    "appointment_cancel",
    "appointment_set_status",
    "appointment_update",
    "exception_create",
    "hold_create",
    "hold_expire",
    "hold_offer",
    "hold_release",
    "holds_expire_due",
    "horizon_end",
    "lock_patient",
    "rule_create",
    "rule_delete",
    "series_book",
    "series_book_request",
    "series_cancel",
    "slots_regenerate",
]
