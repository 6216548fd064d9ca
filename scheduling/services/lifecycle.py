"""The appointment lifecycle: the one transition table, status changes, cancellation, the queue."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User
from accounts.policy import Overrides, is_that_doctor_or_staff
from audit.services import audit_record
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.exceptions import Forbidden
from core.roles import Role
from scheduling import events, signals
from scheduling.models import Appointment, AppointmentStatus, Slot, SlotStatus
from scheduling.services.booking import notify_patient, patient_notice_passed
from scheduling.services.errors import InvalidTransition, NoticeTooShort
from scheduling.services.races import as_conflict, lock_appointment, lock_doctor

S = AppointmentStatus
# The one transition table. Anything not listed is 400 `invalid_transition`.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.BOOKED: frozenset({S.CHECKED_IN, S.NO_SHOW, S.CANCELLED}),
    S.CHECKED_IN: frozenset({S.IN_PROGRESS, S.NO_SHOW, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.CANCELLED: frozenset(),
}
# Which statuses each role may set through the status endpoint (contract §4).
STATUS_SETTERS: dict[str, frozenset[str]] = {
    Role.DOCTOR: frozenset(TRANSITIONS) - {S.BOOKED},
    Role.STAFF: frozenset({S.CHECKED_IN, S.NO_SHOW}),
    Role.ADMIN: frozenset({S.CHECKED_IN, S.NO_SHOW}),
}


def appointment_set_status(*, actor: User, appointment: Appointment, status: str) -> Appointment:
    """Move an appointment along its lifecycle; the one place that enforces TRANSITIONS.

    Check-in gives the appointment the next queue number of its doctor's clinic day;
    `no_show` is refused before the start; cancelling frees the slot at once.
    """
    if not any(status in targets for targets in TRANSITIONS.values()):
        raise InvalidTransition(f"No appointment can become {status}.")
    if status not in STATUS_SETTERS.get(actor.role, frozenset()):
        raise Forbidden("Your role may not set that status.")
    if not is_that_doctor_or_staff(actor, appointment.doctor):
        raise Forbidden("Only the appointment's doctor may change its status.")

    def change() -> Appointment:
        return _transition(actor=actor, appointment=lock_appointment(appointment), status=status)

    return as_conflict(change)


def appointment_cancel(*, actor: User, appointment: Appointment) -> Appointment:
    """Cancel: the slot is free again at once. Patients respect the cancellation notice."""

    def cancel() -> Appointment:
        return _transition(actor=actor, appointment=lock_appointment(appointment), status=S.CANCELLED)

    return as_conflict(cancel)


def _transition(*, actor: User, appointment: Appointment, status: str) -> Appointment:
    previous = appointment.status
    if status not in TRANSITIONS[previous]:
        raise InvalidTransition(f"An appointment that is {previous} cannot become {status}.")
    now = timezone.now()
    details: dict[str, Any] = {"from": previous, "to": status}
    fields = ["status", "updated_at"]
    if status == S.CHECKED_IN:
        opens = clinic_setting("checkin_opens_minutes_before")
        if opens and now < appointment.start - timedelta(minutes=opens):
            raise InvalidTransition(f"Check-in opens {opens} minutes before the start.")
        _assign_queue_number(appointment)
        appointment.checked_in_at = now
        fields += ["queue_number", "queue_date", "checked_in_at"]
    elif status == S.NO_SHOW:
        if now < appointment.start:
            raise InvalidTransition("A no-show can be recorded only once the appointment has started.")
        appointment.finished_at = now
        fields.append("finished_at")
    elif status == S.IN_PROGRESS:
        appointment.started_at = now
        fields.append("started_at")
    elif status == S.COMPLETED:
        appointment.finished_at = now
        fields.append("finished_at")
    elif status == S.CANCELLED:
        notice_minutes = clinic_setting("patient_cancel_notice_minutes")
        overrides = Overrides(actor)
        overrides.check(
            broken=patient_notice_passed(appointment=appointment, setting="patient_cancel_notice_minutes", now=now),
            rule="cancel_notice",
            refusal=NoticeTooShort(
                f"It is too late to cancel this appointment online: cancelling closes {notice_minutes} minutes "
                "before the start."
            ),
        )
        details = overrides.audited(details)
        appointment.cancelled_at = now
        fields.append("cancelled_at")
    appointment.status = status
    appointment.updated_at = now
    appointment.save(update_fields=fields)
    if status in (S.CANCELLED, S.NO_SHOW) and appointment.slot_id is not None:
        slot = Slot.objects.select_for_update().get(pk=appointment.slot_id)
        if slot.status == SlotStatus.BOOKED:
            slot.status = SlotStatus.FREE
            slot.save(update_fields=["status"])
            if slot.start > now:
                events.slot_released(slot)
                signals.announce_slots_opened(slot.doctor_id)
    audit_record(actor=actor, action=f"appointment.{status}", obj=appointment, details=details)
    if status == S.CANCELLED:
        notify_patient(appointment, "cancelled")
    if appointment.queue_date is not None:
        events.queue_updated(doctor_id=appointment.doctor_id, day=appointment.queue_date)
    return appointment


def _assign_queue_number(appointment: Appointment) -> None:
    """The next number of the doctor's queue for the appointment's clinic day."""
    # The doctor's row lock serialises check-ins, so two cannot draw the same number.
    lock_doctor(appointment.doctor_id)
    day = appointment.start.astimezone(clinic_timezone()).date()
    last = (
        Appointment.objects.filter(doctor_id=appointment.doctor_id, queue_date=day)
        .order_by("-queue_number")
        .values_list("queue_number", flat=True)
        .first()
    )
    appointment.queue_date = day
    appointment.queue_number = (last or 0) + 1
