"""Booking and moving appointments.

Concurrency: every write here runs under a short `lock_timeout` (`races.as_conflict`).
Locks are taken in one order: appointment → doctor → patient → slots by id → the slot's
hold. Whoever loses a race for a slot sees it booked and gets 409. A live hold of
another patient is 409 as well; the patient's own hold becomes the appointment
(`hold_state`).

A booking of one slot is the exception, because it is the hot path: it locks the slot
(and its hold), writes the appointment, and only then locks the patient's row for the
open-appointment cap, just before its event and the commit. One patient's bookings are
serialised on that row, so the shorter it is held, the more of them a reception desk
books at once (docs/benchmarks.md, "Session 11"). "Not twice at once" needs no lock:
the exclusion constraint refuses the second appointment (`races.as_conflict` answers
`patient_busy`). The order's reversal can only deadlock one patient's booking of a slot
with the same patient's hold or series on that very slot; PostgreSQL ends one and it is
a 409.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from accounts.policy import Overrides, patient_acted_for
from audit.services import audit_record
from clinic.registry import clinic_setting
from core.exceptions import ValidationFailed
from core.queries import Compiled
from scheduling import events, selectors, signals
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    Hold,
    HoldStatus,
    Slot,
    SlotStatus,
    VisitType,
)
from scheduling.services.availability import horizon_end
from scheduling.services.errors import (
    AppointmentLimitReached,
    InvalidSlot,
    InvalidTransition,
    NoticeTooShort,
    SlotUnavailable,
)
from scheduling.services.hold_state import ended, live_hold_on, unpin
from scheduling.services.races import PATIENT_BUSY, as_conflict, lock_appointment, lock_patient
from scheduling.signals import appointment_changed

# The booking's slot lock, compiled once (core.queries.Compiled): every booking takes it.
_slot_locked = Compiled(
    lambda doctor_id, start: Slot.objects.select_for_update().filter(doctor_id=doctor_id, start=start)
)
_OPEN = Q(appointments__status__in=ACTIVE_STATUSES)
# The patient's open appointments, and those of them overlapping start-end: every booking
# asks, once its own appointment is written (so both counts include it).
_patient_takes = Compiled(
    lambda patient_id, start, end: Patient.objects.only("pk")
    .filter(pk=patient_id)
    .annotate(
        open_count=Count("appointments", filter=_OPEN),
        clashing=Count("appointments", filter=_OPEN & Q(appointments__start__lt=end, appointments__end__gt=start)),
    )
)


def notify_patient(appointment: Appointment, kind: str) -> None:
    # After commit: a rolled-back booking, move or cancellation notifies nobody. Robust: a
    # failure to notify is logged and must not turn the committed booking into an error.
    announce = partial(appointment_changed.send, sender=Appointment, appointment_id=appointment.pk, kind=kind)
    transaction.on_commit(announce, robust=True)


def book_for(*, actor: User, patient: Patient | None) -> Patient:
    """The patient a booking is for (accounts.policy: patients book for themselves)."""
    return patient_acted_for(actor=actor, patient=patient, verb="book", what="appointments")


def check_slot_window(*, start: datetime, overrides: Overrides) -> None:
    """Horizon for everyone; minimum notice for patients (staff and admin may override)."""
    now = timezone.now()
    if start <= now or start >= horizon_end():
        raise InvalidSlot()
    min_notice = clinic_setting("min_notice_minutes")
    overrides.check(
        broken=start < now + timedelta(minutes=min_notice),
        rule="min_notice",
        refusal=NoticeTooShort(
            f"That slot starts too soon to book online: the minimum notice is {min_notice} minutes."
        ),
    )


def _open_appointments(patient: Patient) -> QuerySet[Appointment]:
    return Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES)


def _refuse_over_cap(*, open_count: int, overrides: Overrides, adding: int) -> None:
    overrides.check(
        broken=open_count + adding > clinic_setting("max_open_appointments_per_patient"),
        rule="max_open_appointments",
        refusal=AppointmentLimitReached(),
    )


def _refuse_busy(clashing: bool) -> None:
    if clashing:
        raise SlotUnavailable(PATIENT_BUSY, reason="patient_busy")


def check_open_cap(*, patient: Patient, overrides: Overrides, adding: int = 1) -> None:
    """The open-appointment cap, for `adding` more: binding on patients, overridden by staff."""
    _refuse_over_cap(open_count=_open_appointments(patient).count(), overrides=overrides, adding=adding)


def check_patient_free(*, patient: Patient, start: datetime, end: datetime, exclude: int | None = None) -> None:
    clash = _open_appointments(patient).filter(start__lt=end, end__gt=start)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    _refuse_busy(clash.exists())


def check_patient_took(*, appointment: Appointment, overrides: Overrides) -> None:
    """`check_open_cap` and `check_patient_free` of a booking, in one query, after it wrote
    `appointment` (every booking asks): the counts less the appointment itself."""
    counts = _patient_takes.first(appointment.patient_id, appointment.start, appointment.end)
    open_count, clashing = (counts.open_count - 1, counts.clashing - 1) if counts else (0, 0)
    _refuse_over_cap(open_count=open_count, overrides=overrides, adding=1)
    _refuse_busy(clashing > 0)


def appointment_book(
    *,
    actor: User,
    doctor: Doctor,
    start: datetime,
    patient: Patient | None = None,
    reason: str = "",
    visit_type: str = VisitType.IN_PERSON,
    hold: Hold | None = None,
) -> Appointment:
    """Book the free slot of `doctor` at `start` for a patient.

    Patients book for themselves, within the minimum notice, the horizon and the
    open-appointment cap; staff and admin book for any patient and may override the
    notice and the cap (audited). 409 `slot_unavailable` when someone else holds the
    slot (an appointment, or a live hold of another patient) or the time, 400
    `invalid_slot` when there is no such free future slot. The patient's own hold on the
    slot (named by `hold` or not) becomes the appointment.
    """
    patient = book_for(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise InvalidSlot("This doctor is not taking bookings.")

    def book() -> Appointment:
        overrides = Overrides(actor)
        check_slot_window(start=start, overrides=overrides)
        slot = _slot_locked.first(doctor.pk, start)
        if slot is None or slot.status == SlotStatus.BLOCKED:
            raise InvalidSlot()
        if slot.status != SlotStatus.FREE:
            raise SlotUnavailable(reason="slot_taken")
        if hold is not None and (hold.patient_id != patient.pk or hold.slot_id != slot.pk):
            raise ValidationFailed(fields={"hold": ["Not a hold of this patient on this slot."]})
        held = live_hold_on(slot, timezone.now())
        if held is not None and held.patient_id != patient.pk:
            raise SlotUnavailable("That slot is held by someone else for a few minutes.", reason="slot_held")
        return book_slot(
            actor=actor,
            patient=patient,
            slot=slot,
            reason=reason,
            visit_type=visit_type,
            overrides=overrides,
            held=held,
            check_patient=True,
        )

    return as_conflict(book)


def appointment_book_request(*, actor: User, data: Mapping[str, Any]) -> Appointment:
    """Book from a validated `BookInput`: the one input path of every booking API.

    REST's /api/appointments/book/ and FHIR's `POST Appointment` both come through here
    (and series through `booking_arguments`), so a field added to `BookInput` reaches the
    services the same way from all of them.
    """
    hold = selectors.hold_for_booking(actor=actor, hold_id=data.get("hold"))
    return appointment_book(actor=actor, hold=hold, **booking_arguments(actor=actor, data=data))


def booking_arguments(*, actor: User, data: Mapping[str, Any]) -> dict[str, Any]:
    """`BookInput`'s fields as the booking services take them (ids resolved to records)."""
    return {
        "doctor": selectors.doctor_for_booking(actor=actor, doctor_id=data["doctor"]),
        "patient": selectors.patient_for_booking(patient_id=data.get("patient")),
        "start": data["start"],
        "reason": data["reason"],
        "visit_type": data["visit_type"],
    }


def book_slot(
    *,
    actor: User,
    patient: Patient,
    slot: Slot,
    reason: str,
    visit_type: str,
    overrides: Overrides,
    series: AppointmentSeries | None = None,
    held: Hold | None = None,
    check_patient: bool = False,
) -> Appointment:
    """Book a free slot the caller has locked and checked: every booking's last step, so a
    series' occurrences are ordinary appointments (same audit, event and notification).
    `held`: the patient's own live hold on the slot, which becomes the appointment.

    `check_patient`: lock the patient's row and check their cap and clashes here, once the
    appointment is written (a single booking: module docstring); otherwise the caller has
    (a series, for all its occurrences at once).
    """
    now = timezone.now()
    if held is not None:
        # Before the slot changes: an active hold pins its slot to "free".
        unpin(held, outcome=HoldStatus.BOOKED, now=now)
    slot.status = SlotStatus.BOOKED
    slot.save(update_fields=["status"])
    appointment = Appointment.objects.create(
        doctor_id=slot.doctor_id,
        patient=patient,
        slot=slot,
        start=slot.start,
        end=slot.end,
        reason=reason,
        visit_type=visit_type,
        series=series,
        booked_by=actor,
        created_at=now,
        updated_at=now,
    )
    if held is not None:
        ended(held, actor=actor, appointment=appointment)
    if check_patient:
        # The patient's row serialises their bookings, so the cap cannot be raced: locked
        # last, and held for the check, the audit entry, the event and the commit only.
        lock_patient(patient.pk)
        check_patient_took(appointment=appointment, overrides=overrides)
    _record_booking(actor=actor, appointment=appointment, slot=slot, overrides=overrides)
    return appointment


def _record_booking(*, actor: User, appointment: Appointment, slot: Slot, overrides: Overrides) -> None:
    """The booking's audit entry (with the rules it overrode: every check is done by now),
    `slot.booked` to the slot's watchers, and after commit the patient's notifications."""
    details: dict[str, Any] = {
        "doctor": slot.doctor_id,
        "patient": appointment.patient_id,
        "start": slot.start.isoformat(),
        "visit_type": appointment.visit_type,
    }
    if appointment.series_id is not None:
        details["series"] = appointment.series_id
    audit_record(actor=actor, action="appointment.booked", obj=appointment, details=overrides.audited(details))
    events.slot_booked(slot)
    notify_patient(appointment, "booked")


def appointment_update(
    *,
    actor: User,
    appointment: Appointment,
    start: datetime | None = None,
    reason: str | None = None,
) -> Appointment:
    """Change the reason and/or move to another free slot of the same doctor, atomically.

    If the new slot is taken the move is refused with 409 and the old booking stands.
    Patients must respect the rescheduling notice and the minimum notice; staff and admin
    may override both (audited).
    """

    def update() -> Appointment:
        locked = lock_appointment(appointment)
        if start is not None and start != locked.start:
            _move(actor=actor, appointment=locked, start=start)
        if reason is not None and reason != locked.reason:
            locked.reason = reason
            locked.updated_at = timezone.now()
            locked.save(update_fields=["reason", "updated_at"])
            audit_record(actor=actor, action="appointment.reason_changed", obj=locked)
        return locked

    return as_conflict(update)


def patient_notice_passed(*, appointment: Appointment, setting: str, now: datetime | None = None) -> bool:
    """Whether a patient is too late to move or cancel `appointment` online: later than
    `setting` minutes before its start, so with 0 once it has started. One rule for both,
    so a no-show can never be turned into a cancellation after the start."""
    notice = timedelta(minutes=clinic_setting(setting))
    return appointment.start < (now or timezone.now()) + notice


def _move(*, actor: User, appointment: Appointment, start: datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition("Only a booked appointment (not yet checked in) can be moved.")
    notice_minutes = clinic_setting("patient_reschedule_notice_minutes")
    overrides = Overrides(actor)
    overrides.check(
        broken=patient_notice_passed(appointment=appointment, setting="patient_reschedule_notice_minutes"),
        rule="reschedule_notice",
        refusal=NoticeTooShort(
            f"It is too late to move this appointment online: moves close {notice_minutes} minutes before the start."
        ),
    )
    check_slot_window(start=start, overrides=overrides)
    lock_patient(appointment.patient_id)
    target = Slot.objects.filter(doctor_id=appointment.doctor_id, start=start).values_list("pk", flat=True).first()
    if target is None:
        raise InvalidSlot()
    # Both slots locked in id order: two opposite moves cannot deadlock each other.
    ids = sorted({target} | ({appointment.slot_id} if appointment.slot_id is not None else set()))
    slots = {slot.pk: slot for slot in Slot.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    new_slot = slots[target]
    if new_slot.status == SlotStatus.BLOCKED:
        raise InvalidSlot()
    if new_slot.status != SlotStatus.FREE:
        raise SlotUnavailable(reason="slot_taken")
    now = timezone.now()
    held = live_hold_on(new_slot, now)
    if held is not None and held.patient_id != appointment.patient_id:
        raise SlotUnavailable("That slot is held by someone else for a few minutes.", reason="slot_held")
    check_patient_free(patient=appointment.patient, start=new_slot.start, end=new_slot.end, exclude=appointment.pk)
    old_slot = slots.get(appointment.slot_id) if appointment.slot_id else None
    old_start = appointment.start
    if old_slot is not None:
        old_slot.status = SlotStatus.FREE
        old_slot.save(update_fields=["status"])
    if held is not None:
        # The patient's own hold on the target becomes the moved appointment.
        unpin(held, outcome=HoldStatus.BOOKED, now=now)
        ended(held, actor=actor, appointment=appointment)
    new_slot.status = SlotStatus.BOOKED
    new_slot.save(update_fields=["status"])
    appointment.slot = new_slot
    appointment.start = new_slot.start
    appointment.end = new_slot.end
    appointment.updated_at = timezone.now()
    appointment.save(update_fields=["slot", "start", "end", "updated_at"])
    details = overrides.audited({"from": old_start.isoformat(), "to": new_slot.start.isoformat()})
    audit_record(actor=actor, action="appointment.rescheduled", obj=appointment, details=details)
    notify_patient(appointment, "rescheduled")
    if old_slot is not None:
        events.slot_released(old_slot)
        signals.announce_slots_opened(old_slot.doctor_id)
    events.slot_booked(new_slot)
