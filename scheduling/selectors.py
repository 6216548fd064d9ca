"""Reads of scheduling, scoped to the actor ("not yours" is 404).

The queue's shape is built in `scheduling.events` (`queue_payload`), so the REST endpoint
returns exactly what the realtime event carries.
"""

from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Exists, OuterRef, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from accounts.policy import is_that_doctor_or_staff
from accounts.selectors import doctor_get, doctor_visible_id
from audit.services import audit_record
from clinic.clock import clinic_timezone, clinic_today
from clinic.registry import clinic_setting
from core.exceptions import Forbidden, ValidationFailed
from core.queries import Compiled
from core.roles import Role
from scheduling import calendar, events
from scheduling.models import Appointment, AppointmentSeries, AvailabilityRule, Hold, HoldStatus, Slot, SlotStatus

# --- Doctors, as scheduling sees them --------------------------------------------------


def doctor_for_change(*, actor: User, doctor_id: int) -> Doctor:
    """A doctor whose availability the actor may change: themself, or any for staff/admin."""
    doctor = get_object_or_404(Doctor.objects.select_related("user"), pk=doctor_id)
    if is_that_doctor_or_staff(actor, doctor):
        return doctor
    raise Forbidden("Only that doctor, staff and admins may change this availability.")


# Read by every booking: compiled once (core.queries.Compiled).
_bookable_doctor = Compiled(lambda pk: Doctor.objects.filter(pk=pk, is_approved=True, user__is_active=True))
# With its user: the booking's answer names the patient.
_bookable_patient = Compiled(lambda pk: Patient.objects.select_related("user").filter(pk=pk, user__is_active=True))


def doctor_for_booking(*, actor: User, doctor_id: int) -> Doctor:
    doctor = _bookable_doctor.first(doctor_id)
    if doctor is None:
        raise ValidationFailed(fields={"doctor": ["No bookable doctor with this id."]})
    return doctor


def patient_for_booking(*, patient_id: int | None) -> Patient | None:
    if patient_id is None:
        return None
    patient = _bookable_patient.first(patient_id)
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


def _slots_in_window(*, doctor_id: int, not_before: datetime, before: datetime) -> QuerySet[Slot]:
    """The doctor's slots starting in [not_before, before), in time order."""
    return Slot.objects.filter(doctor_id=doctor_id, start__gte=not_before, start__lt=before).order_by("start")


def _held_by_others(user_id: int, now: datetime | None = None) -> Exists:
    """`.annotate(held=...)`: whether someone other than that user holds the slot (now)."""
    return Exists(_live_holds(exclude_user_id=user_id, now=now).filter(slot=OuterRef("pk")))


def _available(status: str, held: bool) -> bool:
    """A slot's state for everyone: free and held by nobody else."""
    return status == SlotStatus.FREE and not held


def doctor_slots(*, actor: User, doctor_id: int, window_start: datetime, window_end: datetime) -> list[SlotRow]:
    """The doctor's slots starting in [window_start, window_end), future ones only, in time
    order, as the actor may see them: the read behind FHIR Slot (REST availability reads
    the same slots as text, see `availability`)."""
    doctor_id = doctor_visible_id(actor=actor, doctor_id=doctor_id)
    rows = (
        _slots_in_window(doctor_id=doctor_id, not_before=max(window_start, timezone.now()), before=window_end)
        .annotate(held=_held_by_others(actor.pk))
        .values_list("pk", "doctor_id", "start", "end", "status", "held")
    )
    return [SlotRow(*row[:4], available=_available(row[4], row[5])) for row in rows]


def slot_get(*, actor: User, slot_id: int) -> SlotRow:
    """One slot of a doctor the actor may see, else 404; `available` only while free and ahead."""
    slot = get_object_or_404(Slot.objects.only("doctor_id", "start", "end", "status"), pk=slot_id)
    doctor_get(actor=actor, doctor_id=slot.doctor_id)
    held = _live_holds(exclude_user_id=actor.pk).filter(slot=slot).exists()
    available = slot.status == SlotStatus.FREE and slot.start > timezone.now() and not held
    return SlotRow(slot.pk, slot.doctor_id, slot.start, slot.end, available)


def _why_not_bookable(*, actor: User, start: datetime, available: bool, notice_ends: datetime) -> str | None:
    """Why this caller could not book this slot now (None: they could), checked as booking checks.

    `unavailable`: booked (or held) by someone; `role`: the caller's role does not book
    (doctors); `notice`: a patient inside the minimum notice (staff and admin may override it).
    """
    if not available:
        return "unavailable"
    if not (actor.role == Role.PATIENT or actor.is_staff_or_admin):
        return "role"
    if actor.role == Role.PATIENT and start < notice_ends:
        return "notice"
    return None


# Every availability read: the window's slots with whether someone else holds each, compiled
# once (core.queries.Compiled: building and compiling it was a tenth of a doctor-month's
# CPU). The times come as PostgreSQL's ISO text, parsed by datetime.fromisoformat (C):
# Django's psycopg loader parses each timestamptz in Python, and a doctor-month's ~1,000 of
# them took a fifth of the request (py-spy, docs/benchmarks.md). The same instants either
# way: psycopg reads timestamptz only in the ISO DateStyle, the one this text is in.
_slot_texts = Compiled(
    lambda holds_at, user_id, doctor_id, not_before, before: _slots_in_window(
        doctor_id=doctor_id, not_before=not_before, before=before
    )
    .annotate(
        held=_held_by_others(user_id, holds_at),
        start_text=Cast("start", TextField()),
        end_text=Cast("end", TextField()),
    )
    .values_list("start_text", "end_text", "status", "held")
)


def availability(*, actor: User, doctor_id: int, first: date | None = None, last: date | None = None) -> dict[str, Any]:
    """The doctor's slots on clinic days [first, last], future ones only, in time order.

    `available` is the slot's state for everyone; `bookable` (with a `reason` when false)
    is whether this caller could book it now. Two queries whatever the number of slots
    (beside the cached time zone and notice settings): may the actor see the doctor, the slots.
    """
    tz = clinic_timezone()
    first = first or clinic_today()
    last = last or first
    notice_ends = timezone.now() + timedelta(minutes=clinic_setting("min_notice_minutes"))
    doctor_id = doctor_visible_id(actor=actor, doctor_id=doctor_id)
    window_start, window_end = calendar.day_bounds(first, tz)[0], calendar.day_bounds(last, tz)[1]
    # Each "now" its own argument (and its own value), as each is its own in the ORM's reads.
    rows = _slot_texts.all(timezone.now(), actor.pk, doctor_id, max(window_start, timezone.now()), window_end)
    slots = []
    for start_text, end_text, status, held in rows:
        start = datetime.fromisoformat(start_text)
        available = _available(status, held)
        reason = _why_not_bookable(actor=actor, start=start, available=available, notice_ends=notice_ends)
        slots.append(
            {
                "start": start.astimezone(tz).isoformat(),
                "end": datetime.fromisoformat(end_text).astimezone(tz).isoformat(),
                "available": available,
                "bookable": reason is None,
                "reason": reason,
            }
        )
    return {"doctor": doctor_id, "timezone": str(tz.key), "slots": slots}


def _live_holds(*, exclude_user_id: int | None = None, now: datetime | None = None) -> QuerySet[Hold]:
    """Live holds: active, and `expires_at` still ahead of `now` (to the second; an expired
    hold counts as nothing before anything cleans it up). The holder (`exclude_user_id`, a
    patient's user) still sees their own held slot as available."""
    holds = Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__gt=now or timezone.now())
    if exclude_user_id is not None:
        holds = holds.exclude(patient__user_id=exclude_user_id)
    return holds


def open_slots(
    *, doctor_id: int, not_before: datetime, after: datetime, before: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) of the doctor's free, unheld slots starting after `after` (and not
    before `not_before`) and before `before`, in time order: what the waitlist may offer."""
    return list(
        Slot.objects.filter(
            doctor_id=doctor_id, status=SlotStatus.FREE, start__gt=after, start__gte=not_before, start__lt=before
        )
        .exclude(Exists(_live_holds().filter(slot=OuterRef("pk"))))
        .order_by("start")
        .values_list("start", "end")
    )


def _visible_holds(actor: User) -> QuerySet[Hold]:
    holds = Hold.objects.all()
    if actor.is_staff_or_admin:
        return holds
    if actor.role == Role.PATIENT:
        return holds.filter(patient__user=actor)
    return holds.none()


def hold_list(*, actor: User) -> QuerySet[Hold]:
    """The live holds the actor may see (a patient's own, at most one; staff and admin: all)."""
    live = _visible_holds(actor).filter(status=HoldStatus.ACTIVE, expires_at__gt=timezone.now())
    return live.order_by("expires_at", "id")


def hold_get(*, actor: User, hold_id: int) -> Hold:
    """One hold the actor may end: its patient's, or any for staff and admin; else 404."""
    return get_object_or_404(_visible_holds(actor), pk=hold_id)


def hold_for_booking(*, actor: User, hold_id: int | None) -> Hold | None:
    """The hold named by a booking; another person's (or none such) is a 400 on `hold`."""
    if hold_id is None:
        return None
    hold = _visible_holds(actor).filter(pk=hold_id).first()
    if hold is None:
        raise ValidationFailed(fields={"hold": ["No hold of yours with this id."]})
    return hold


def rule_list(*, actor: User, doctor_id: int) -> QuerySet[AvailabilityRule]:
    doctor = doctor_get(actor=actor, doctor_id=doctor_id)
    return AvailabilityRule.objects.filter(doctor=doctor).order_by("weekday", "start_time", "id")


def rule_for_change(*, actor: User, doctor_id: int, rule_id: int) -> AvailabilityRule:
    doctor = doctor_for_change(actor=actor, doctor_id=doctor_id)
    return get_object_or_404(AvailabilityRule.objects.select_related("doctor"), pk=rule_id, doctor=doctor)


# --- Appointments ---------------------------------------------------------------------


def appointments_visible_to(actor: User) -> QuerySet[Appointment]:
    """The appointments the actor may see: their own (as patient or doctor); every one for staff and admin."""
    appointments = Appointment.objects.select_related("patient__user")
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


# --- Patients, within the care relation ------------------------------------------------


def patient_list(*, actor: User, search: str = "") -> QuerySet[Patient]:
    """The patients the actor may read: staff and admin all; a doctor those they have, or
    had, an appointment with (the care relation); a patient themself. By name."""
    patients = Patient.objects.select_related("user").filter(user__is_active=True)
    if actor.role == Role.DOCTOR:
        patients = patients.filter(Exists(Appointment.objects.filter(patient=OuterRef("pk"), doctor__user=actor)))
    elif actor.role == Role.PATIENT:
        patients = patients.filter(user=actor)
    elif not actor.is_staff_or_admin:
        patients = patients.none()
    if search:
        patients = patients.filter(Q(user__first_name__icontains=search) | Q(user__last_name__icontains=search))
    return patients.order_by("user__last_name", "user__first_name", "pk")


def patient_get(*, actor: User, patient_id: int) -> Patient:
    """One patient the actor may read (see `patient_list`); anyone else's is 404."""
    return get_object_or_404(patient_list(actor=actor), pk=patient_id)


def care_relation_exists(*, doctor_id: int, patient_id: int) -> bool:
    """A care relation: the doctor has, or had, an appointment with the patient (any status).

    The one definition records (who may read a patient's file) and messages (who may
    write to whom) both rely on.
    """
    return Appointment.objects.filter(doctor_id=doctor_id, patient_id=patient_id).exists()
