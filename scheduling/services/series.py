"""Recurring series (contract §12): book 2 to 12 occurrences all or nothing, cancel the rest.

Each occurrence is an ordinary appointment, booked by `booking.book_slot` under a single
booking's checks and locks, and cancelled by `lifecycle.appointment_cancel`; the series
only adds the rhythm, the all-or-nothing transaction and the list of conflicts.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Doctor, Patient, User
from accounts.policy import Overrides
from audit.services import audit_record
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.roles import Role
from scheduling import calendar
from scheduling.models import (
    ACTIVE_STATUSES,
    SERIES_EVERY_DAYS,
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    Hold,
    Slot,
    SlotStatus,
    VisitType,
)
from scheduling.serializers import clinic_iso
from scheduling.services.availability import horizon_end
from scheduling.services.booking import (
    book_for,
    book_slot,
    booking_arguments,
    check_open_cap,
    check_slot_window,
)
from scheduling.services.errors import InvalidSlot, SlotUnavailable
from scheduling.services.hold_state import live_hold_on
from scheduling.services.lifecycle import appointment_cancel
from scheduling.services.races import as_conflict, lock_patient


@dataclass(frozen=True)
class SeriesBooking:
    series: AppointmentSeries
    appointments: list[Appointment]


def series_book_request(*, actor: User, data: Mapping[str, Any]) -> SeriesBooking:
    """Book from a validated `SeriesInput`: BookInput's fields, the same way, plus the rhythm."""
    return series_book(
        actor=actor, every=data["every"], count=data["count"], **booking_arguments(actor=actor, data=data)
    )


def series_book(
    *,
    actor: User,
    doctor: Doctor,
    start: datetime,
    every: str,
    count: int,
    patient: Patient | None = None,
    reason: str = "",
    visit_type: str = VisitType.IN_PERSON,
) -> SeriesBooking:
    """Book `count` occurrences `every` 1, 2 or 4 weeks from `start`, all or nothing.

    Occurrences keep `start`'s clinic wall-clock time across daylight-saving changes.
    One transaction and a single booking's locks: the patient's row, then every slot in
    id order (so two racing series cannot deadlock: the second waits, then sees the
    shared slot booked). If any occurrence is not a free slot within the horizon, or the
    patient is busy then, nothing is booked: 409 `slot_unavailable` with `conflicts`.
    """
    patient = book_for(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise InvalidSlot("This doctor is not taking bookings.")
    starts = calendar.same_wall_time(start, clinic_timezone(), every_days=SERIES_EVERY_DAYS[every], count=count)

    def book() -> SeriesBooking:
        overrides = Overrides(actor)
        # The later occurrences are weeks after the first: only the first can be too soon.
        check_slot_window(start=starts[0], overrides=overrides)
        lock_patient(patient.pk)
        slots = {
            slot.start: slot
            for slot in Slot.objects.select_for_update().filter(doctor=doctor, start__in=starts).order_by("pk")
        }
        # A slot held live by another patient is taken; the patient's own hold is booked.
        held = {start: live_hold_on(slot, timezone.now()) for start, slot in slots.items()}
        conflicts = _conflicts(patient=patient, starts=starts, slots=slots, held=held)
        if conflicts:
            raise SlotUnavailable(
                "Some occurrences are not free; nothing was booked.",
                extra={"conflicts": [clinic_iso(start) for start in conflicts]},
                reason="series_conflict",
            )
        check_open_cap(patient=patient, overrides=overrides, adding=count)
        series = AppointmentSeries.objects.create(
            doctor=doctor, patient=patient, every=every, count=count, booked_by=actor
        )
        appointments = [
            book_slot(
                actor=actor,
                patient=patient,
                slot=slots[start],
                reason=reason,
                visit_type=visit_type,
                overrides=overrides,
                series=series,
                held=held[start],
            )
            for start in starts
        ]
        details = {"doctor": doctor.pk, "patient": patient.pk, "every": every, "count": count, "visit_type": visit_type}
        audit_record(actor=actor, action="appointment_series.booked", obj=series, details=details)
        return SeriesBooking(series=series, appointments=appointments)

    return as_conflict(book)


def _conflicts(
    *, patient: Patient, starts: list[datetime], slots: dict[datetime, Slot], held: dict[datetime, Hold | None]
) -> list[datetime]:
    """The starts that cannot be booked: no free slot (or one held by someone else), past
    the horizon, or the patient is busy."""
    last = horizon_end()
    busy = list(
        Appointment.objects.filter(
            patient=patient, status__in=ACTIVE_STATUSES, start__lt=starts[-1] + timedelta(days=1), end__gt=starts[0]
        ).values_list("start", "end")
    )
    conflicts = []
    for start in starts:
        slot = slots.get(start)
        if (
            slot is None
            or slot.status != SlotStatus.FREE
            or _held_by_another(held.get(start), patient)
            or start >= last
            or any(slot.start < other_end and other_start < slot.end for other_start, other_end in busy)
        ):
            conflicts.append(start)
    return conflicts


def _held_by_another(hold: Hold | None, patient: Patient) -> bool:
    return hold is not None and hold.patient_id != patient.pk


def series_cancel(*, actor: User, series: AppointmentSeries) -> int:
    """Cancel every future occurrence still `booked`, each exactly as a single cancellation
    (slot freed, audit, event, notification). Returns how many were cancelled.

    A patient cannot cancel online an occurrence inside the cancellation notice: it stays
    booked (the clinic cancels it); staff and admin override the notice, audited.
    """

    def cancel() -> int:
        now = timezone.now()
        # Every occurrence locked first, in id order: the lock order of single cancellations.
        upcoming = list(
            Appointment.objects.select_for_update()
            .filter(series=series, status=AppointmentStatus.BOOKED, start__gt=now)
            .order_by("pk")
        )
        if actor.role == Role.PATIENT:
            notice = timedelta(minutes=clinic_setting("patient_cancel_notice_minutes"))
            upcoming = [appointment for appointment in upcoming if appointment.start >= now + notice]
        for appointment in upcoming:
            appointment_cancel(actor=actor, appointment=appointment)
        series.cancelled_at = now
        series.save(update_fields=["cancelled_at"])
        audit_record(
            actor=actor, action="appointment_series.cancelled", obj=series, details={"cancelled": len(upcoming)}
        )
        return len(upcoming)

    return as_conflict(cancel)
