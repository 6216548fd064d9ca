"""Reads of scheduling, scoped to the actor ("not yours" is 404).

The queue's shape is built in `scheduling.events` (`queue_payload`), so the REST endpoint
returns exactly what the realtime event carries.
"""

from datetime import date, datetime
from typing import Any, NamedTuple

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from accounts.policy import is_that_doctor_or_staff
from accounts.selectors import doctor_get
from audit.services import audit_record
from clinic.clock import clinic_timezone, clinic_today
from core.exceptions import Forbidden, ValidationFailed
from core.roles import Role
from scheduling import calendar, events
from scheduling.models import Appointment, AppointmentSeries, AvailabilityRule, Slot, SlotStatus

# --- Doctors, as scheduling sees them --------------------------------------------------


def doctor_for_change(*, actor: User, doctor_id: int) -> Doctor:
    """A doctor whose availability the actor may change: themself, or any for staff/admin."""
    doctor = get_object_or_404(Doctor.objects.select_related("user"), pk=doctor_id)
    if is_that_doctor_or_staff(actor, doctor):
        return doctor
    raise Forbidden("Only that doctor, staff and admins may change this availability.")


def doctor_for_booking(*, actor: User, doctor_id: int) -> Doctor:
    doctor = Doctor.objects.filter(pk=doctor_id, is_approved=True, user__is_active=True).first()
    if doctor is None:
        raise ValidationFailed(fields={"doctor": ["No bookable doctor with this id."]})
    return doctor


def patient_for_booking(*, patient_id: int | None) -> Patient | None:
    if patient_id is None:
        return None
    patient = Patient.objects.filter(pk=patient_id, user__is_active=True).first()
    if patient is None:
        raise ValidationFailed(fields={"patient": ["No patient with this id."]})
    return patient


def doctors_with_rules() -> list[int]:
    """Ids of the approved, active doctors whose slots the daily task extends."""
    return list(
        Doctor.objects.filter(is_approved=True, user__is_active=True, availability_rules__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# --- Availability ---------------------------------------------------------------------


class SlotRow(NamedTuple):
    id: int
    doctor_id: int
    start: datetime
    end: datetime
    available: bool


def doctor_slots(*, actor: User, doctor_id: int, window_start: datetime, window_end: datetime) -> list[SlotRow]:
    """The doctor's slots starting in [window_start, window_end), future ones only, in time
    order, as the actor may see them: the one read behind REST availability and FHIR Slot."""
    doctor = doctor_get(actor=actor, doctor_id=doctor_id)
    rows = (
        Slot.objects.filter(doctor=doctor, start__gte=max(window_start, timezone.now()), start__lt=window_end)
        .order_by("start")
        .values_list("pk", "doctor_id", "start", "end", "status")
    )
    return [SlotRow(*row[:4], available=row[4] == SlotStatus.FREE) for row in rows]


def slot_get(*, actor: User, slot_id: int) -> SlotRow:
    """One slot of a doctor the actor may see, else 404; `available` only while free and ahead."""
    slot = get_object_or_404(Slot.objects.only("doctor_id", "start", "end", "status"), pk=slot_id)
    doctor_get(actor=actor, doctor_id=slot.doctor_id)
    available = slot.status == SlotStatus.FREE and slot.start > timezone.now()
    return SlotRow(slot.pk, slot.doctor_id, slot.start, slot.end, available)


def availability(*, actor: User, doctor_id: int, first: date | None = None, last: date | None = None) -> dict[str, Any]:
    """The doctor's slots on clinic days [first, last], future ones only, in time order.

    Three queries whatever the number of slots: the time zone (cached), the doctor, the slots.
    """
    tz = clinic_timezone()
    first = first or clinic_today()
    last = last or first
    rows = doctor_slots(
        actor=actor,
        doctor_id=doctor_id,
        window_start=calendar.day_bounds(first, tz)[0],
        window_end=calendar.day_bounds(last, tz)[1],
    )
    return {
        "doctor": doctor_id,
        "timezone": str(tz.key),
        "slots": [
            {
                "start": row.start.astimezone(tz).isoformat(),
                "end": row.end.astimezone(tz).isoformat(),
                "available": row.available,
            }
            for row in rows
        ],
    }


def rule_list(*, actor: User, doctor_id: int) -> QuerySet[AvailabilityRule]:
    doctor = doctor_get(actor=actor, doctor_id=doctor_id)
    return AvailabilityRule.objects.filter(doctor=doctor).order_by("weekday", "start_time", "id")


def rule_for_change(*, actor: User, doctor_id: int, rule_id: int) -> AvailabilityRule:
    doctor = doctor_for_change(actor=actor, doctor_id=doctor_id)
    return get_object_or_404(AvailabilityRule.objects.select_related("doctor"), pk=rule_id, doctor=doctor)


# --- Appointments ---------------------------------------------------------------------


def appointments_visible_to(actor: User) -> QuerySet[Appointment]:
    """The appointments the actor may see: their own (as patient or doctor); every one for staff and admin."""
    appointments = Appointment.objects.all()
    if actor.is_staff_or_admin:
        return appointments
    if actor.role == Role.DOCTOR:
        return appointments.filter(doctor__user=actor)
    if actor.role == Role.PATIENT:
        return appointments.filter(patient__user=actor)
    return appointments.none()


def appointment_list(
    *, actor: User, status: str | None = None, day: date | None = None, doctor_id: int | None = None
) -> QuerySet[Appointment]:
    """The actor's appointments (a patient's own, a doctor's own; staff and admin: all)."""
    appointments = appointments_visible_to(actor)
    if status:
        appointments = appointments.filter(status=status)
    if day is not None:
        start, end = calendar.day_bounds(day, clinic_timezone())
        appointments = appointments.filter(start__gte=start, start__lt=end)
    if doctor_id is not None:
        appointments = appointments.filter(doctor_id=doctor_id)
    return appointments.order_by("start", "id")


def appointment_get(*, actor: User, appointment_id: int) -> Appointment:
    """One appointment the actor may see (its patient, its doctor, staff, admin), else 404."""
    return get_object_or_404(
        appointments_visible_to(actor).select_related("doctor__user", "patient__user"), pk=appointment_id
    )


def appointment_read(*, actor: User, appointment_id: int) -> Appointment:
    """`appointment_get` to show it to the actor: the read is audited, whichever API asks
    (REST detail, FHIR read), since an appointment says who sees which doctor and why."""
    appointment = appointment_get(actor=actor, appointment_id=appointment_id)
    audit_record(actor=actor, action="appointment.read", obj=appointment)
    return appointment


def series_for_change(*, actor: User, series_id: int) -> AppointmentSeries:
    """A series the actor may cancel: its patient's own, or any for staff and admin; else 404."""
    series = AppointmentSeries.objects.all()
    if not actor.is_staff_or_admin:
        series = series.filter(patient__user=actor)
    return get_object_or_404(series, pk=series_id)


# --- The queue ------------------------------------------------------------------------


def queue_get(*, actor: User, doctor_id: int, day: date | None = None) -> dict[str, Any]:
    """The queue for that doctor, staff and admin (another doctor: 403)."""
    doctor = get_object_or_404(Doctor, pk=doctor_id)
    if not is_that_doctor_or_staff(actor, doctor):
        raise Forbidden("Only that doctor, staff and admins see this queue.")
    return events.queue_payload(doctor_id=doctor.pk, day=day or clinic_today())


def care_relation_exists(*, doctor_id: int, patient_id: int) -> bool:
    """A care relation: the doctor has, or had, an appointment with the patient (any status).

    The one definition records (who may read a patient's file) and messages (who may
    write to whom) both rely on.
    """
    return Appointment.objects.filter(doctor_id=doctor_id, patient_id=patient_id).exists()
