"""Every write to scheduling: availability, slots, booking, moves, cancellations, the lifecycle.

Concurrency, in one place:
- A booking locks the patient's row (so one patient's bookings, and the open-appointment
  cap, are serialised) and then the slot's row (`SELECT ... FOR UPDATE`), under a short
  `lock_timeout`. Whoever loses a race sees the slot booked and gets 409.
- PostgreSQL's exclusion constraints (migration 0002) refuse overlapping active
  appointments per doctor and per patient whatever this code does; a violation, a
  deadlock or a lock timeout becomes 409 `slot_unavailable`, never 500.
- Locks are always taken in one order: appointment → doctor → patient → slots by id.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from accounts.models import Doctor, Patient, Role, User
from audit.services import audit_record
from core.clinic_settings import clinic_setting, clinic_timezone
from core.exceptions import Conflict, DomainError, Forbidden, ValidationFailed
from notifications.services import appointment_notify
from realtime import topics
from realtime.publish import publish
from scheduling import calendar, selectors
from scheduling.models import (
    ACTIVE_STATUSES,
    SERIES_EVERY_DAYS,
    Appointment,
    AppointmentSeries,
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    Slot,
    SlotStatus,
)
from scheduling.serializers import clinic_iso

logger = logging.getLogger(__name__)

T = TypeVar("T")

# PostgreSQL SQLSTATEs that mean "someone else got there first": retrying later may work.
_LOST_RACE_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
}


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_detail = "That slot has just been taken; choose another."


class InvalidSlot(DomainError):
    status_code = 400
    code = "invalid_slot"
    default_detail = "That time is not a free future slot of this doctor within the booking horizon."


class InvalidTransition(DomainError):
    status_code = 400
    code = "invalid_transition"
    default_detail = "The appointment cannot move to that status."


class NoticeTooShort(DomainError):
    status_code = 400
    code = "notice_too_short"
    default_detail = "It is too late to do that online; please call the clinic."


class AppointmentLimitReached(DomainError):
    status_code = 400
    code = "appointment_limit_reached"
    default_detail = "You already hold the most open appointments allowed."


# --- Time and policy helpers -----------------------------------------------------------


def horizon_end() -> datetime:
    """The end of the bookable window: the end of the last clinic day of the horizon."""
    last_day = selectors.clinic_today() + timedelta(days=clinic_setting("booking_horizon_days"))
    return calendar.day_bounds(last_day, clinic_timezone())[1]


def _is_patient(actor: User) -> bool:
    return actor.role == Role.PATIENT


# --- Races become 409 ----------------------------------------------------------------


def _lost_race(exc: DatabaseError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate in _LOST_RACE_SQLSTATES:
        return True
    # SQLite, the embedded default, reports a busy writer this way.
    return connection.vendor == "sqlite" and "locked" in str(exc).lower()


def _as_conflict(work: Callable[[], T]) -> T:
    """Run `work` in its own transaction (or savepoint); a lost race is 409 `slot_unavailable`."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Waiting long on a contended slot helps nobody: fail fast, answer 409.
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.SCHEDULING_LOCK_TIMEOUT_MS)}ms'")
            return work()
    except (IntegrityError, OperationalError) as exc:
        if not _lost_race(exc):
            raise
        logger.info("booking lost a race: %s", getattr(exc.__cause__, "sqlstate", None) or exc)
        raise SlotUnavailable() from exc


# --- Availability rules, exceptions and slots -----------------------------------------


def _rule_windows(doctor: Doctor) -> list[calendar.RuleWindow]:
    return [
        calendar.RuleWindow(
            rule_id=rule.pk,
            weekday=rule.weekday,
            start_time=rule.start_time,
            end_time=rule.end_time,
            slot_minutes=rule.slot_minutes,
            buffer_minutes=rule.buffer_minutes,
            valid_from=rule.valid_from,
            valid_until=rule.valid_until,
        )
        for rule in AvailabilityRule.objects.filter(doctor=doctor)
    ]


@dataclass(frozen=True)
class SlotChanges:
    created: int
    deleted: int
    blocked: int
    freed: int
    window_start: datetime
    window_end: datetime

    @property
    def changed(self) -> bool:
        return bool(self.created or self.deleted or self.blocked or self.freed)


def _overlaps(start: datetime, end: datetime, intervals: list[tuple[datetime, datetime]]) -> bool:
    return any(start < other_end and other_start < end for other_start, other_end in intervals)


@transaction.atomic
def slots_regenerate(*, doctor: Doctor) -> SlotChanges:
    """Bring the doctor's future slots in line with the rules and exceptions.

    Works from now to the end of the booking horizon. Only free and blocked slots are
    created, deleted or flipped; a booked slot is never touched, and no new slot may
    overlap one. Idempotent: running it twice changes nothing the second time. Also
    what the daily beat task runs, to extend the slots as the horizon moves on.
    """
    # One regeneration per doctor at a time (a rule change racing the daily task).
    Doctor.objects.select_for_update().filter(pk=doctor.pk).first()
    tz = clinic_timezone()
    now = timezone.now()
    today = now.astimezone(tz).date()
    last_day = today + timedelta(days=clinic_setting("booking_horizon_days"))
    window_start = now
    window_end = calendar.day_bounds(last_day, tz)[1]

    rules = _rule_windows(doctor)
    wanted: dict[tuple[datetime, datetime], int | None] = {}
    day = today
    while day <= last_day:
        for slot in calendar.slot_times(rules, day, tz):
            if slot.start >= window_start:
                wanted[(slot.start, slot.end)] = slot.rule_id
        day += timedelta(days=1)

    # Every future slot, also past the horizon's end: a shortened horizon drops free ones.
    existing = list(Slot.objects.filter(doctor=doctor, start__gte=window_start))
    booked = [(slot.start, slot.end) for slot in existing if slot.status == SlotStatus.BOOKED]
    exceptions = list(
        AvailabilityException.objects.filter(doctor=doctor, end__gt=window_start, start__lt=window_end).values_list(
            "start", "end"
        )
    )
    # A wanted slot that overlaps a booked one (left from an older rule) must wait.
    booked_keys = set(booked)
    wanted = {
        key: rule_id for key, rule_id in wanted.items() if key in booked_keys or not _overlaps(key[0], key[1], booked)
    }

    to_delete: list[int] = []
    to_block: list[int] = []
    to_free: list[int] = []
    kept: set[tuple[datetime, datetime]] = set()
    for slot in existing:
        key = (slot.start, slot.end)
        if slot.status == SlotStatus.BOOKED:
            kept.add(key)
            continue
        if key not in wanted:
            to_delete.append(slot.pk)
            continue
        kept.add(key)
        off = _overlaps(slot.start, slot.end, exceptions)
        if off and slot.status == SlotStatus.FREE:
            to_block.append(slot.pk)
        elif not off and slot.status == SlotStatus.BLOCKED:
            to_free.append(slot.pk)

    # Lock what is to go, re-checking the status under the lock: a slot booked meanwhile
    # is left alone, and one locked here cannot be booked before it is gone.
    unbookable = [SlotStatus.FREE, SlotStatus.BLOCKED]
    doomed = list(
        Slot.objects.select_for_update()
        .filter(pk__in=to_delete, status__in=unbookable)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    deleted = Slot.objects.filter(pk__in=doomed).delete()[1].get("scheduling.Slot", 0)
    blocked = Slot.objects.filter(pk__in=to_block, status=SlotStatus.FREE).update(status=SlotStatus.BLOCKED)
    freed = Slot.objects.filter(pk__in=to_free, status=SlotStatus.BLOCKED).update(status=SlotStatus.FREE)
    new_slots = [
        Slot(
            doctor=doctor,
            rule_id=rule_id,
            start=start,
            end=end,
            status=SlotStatus.BLOCKED if _overlaps(start, end, exceptions) else SlotStatus.FREE,
        )
        for (start, end), rule_id in wanted.items()
        if (start, end) not in kept
    ]
    # ignore_conflicts: a slot with the same start (another length, booked) stays as it is.
    created = len(Slot.objects.bulk_create(new_slots, batch_size=1000, ignore_conflicts=True))
    changes = SlotChanges(
        created=created,
        deleted=deleted,
        blocked=blocked,
        freed=freed,
        window_start=window_start,
        window_end=window_end,
    )
    if changes.changed:
        publish(
            topic=topics.doctor_availability(doctor.pk),
            event="availability.changed",
            data={"doctor": doctor.pk, "from": clinic_iso(window_start), "to": clinic_iso(window_end)},
        )
        logger.info(
            "slots regenerated for doctor %s: +%s -%s blocked %s freed %s", doctor.pk, created, deleted, blocked, freed
        )
    return changes


def _check_rule_overlap(
    *, doctor: Doctor, weekday: int, start_time: time, end_time: time, valid_from: date | None, valid_until: date | None
) -> None:
    same_day = AvailabilityRule.objects.filter(
        doctor=doctor, weekday=weekday, start_time__lt=end_time, end_time__gt=start_time
    )
    for other in same_day:
        starts_before_other_ends = other.valid_until is None or valid_from is None or valid_from <= other.valid_until
        ends_after_other_starts = other.valid_from is None or valid_until is None or valid_until >= other.valid_from
        if starts_before_other_ends and ends_after_other_starts:
            raise ValidationFailed(
                "The rule overlaps another rule of that weekday.",
                fields={"start_time": [f"Overlaps rule {other.pk} ({other.start_time:%H:%M}-{other.end_time:%H:%M})."]},
            )


@transaction.atomic
def rule_create(
    *,
    actor: User,
    doctor: Doctor,
    weekday: int,
    start_time: time,
    end_time: time,
    slot_minutes: int | None = None,
    buffer_minutes: int = 0,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> AvailabilityRule:
    """Add weekly working hours (clinic wall-clock time) and generate their slots.

    `buffer_minutes` keeps a free gap after every slot, so slots start every
    `slot_minutes + buffer_minutes`.
    """
    if slot_minutes is None:
        slot_minutes = clinic_setting("default_slot_minutes")
    errors: dict[str, list[str]] = {}
    if end_time <= start_time:
        errors["end_time"] = ["Must be after start_time."]
    elif (datetime.combine(date.min, end_time) - datetime.combine(date.min, start_time)) < timedelta(
        minutes=slot_minutes
    ):
        errors["slot_minutes"] = ["The window is shorter than one slot."]
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = ["Must not be before valid_from."]
    if errors:
        raise ValidationFailed(fields=errors)
    # Serialise rule changes per doctor so the overlap check cannot be raced.
    Doctor.objects.select_for_update().filter(pk=doctor.pk).first()
    _check_rule_overlap(
        doctor=doctor,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    rule = AvailabilityRule.objects.create(
        doctor=doctor,
        weekday=weekday,
        start_time=start_time,
        end_time=end_time,
        slot_minutes=slot_minutes,
        buffer_minutes=buffer_minutes,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    audit_record(
        actor=actor,
        action="availability_rule.created",
        obj=rule,
        details={
            "doctor": doctor.pk,
            "weekday": weekday,
            "start_time": start_time.isoformat(),
            "end_time": end_time.isoformat(),
            "slot_minutes": slot_minutes,
            "buffer_minutes": buffer_minutes,
        },
    )
    slots_regenerate(doctor=doctor)
    return rule


@transaction.atomic
def rule_delete(*, actor: User, rule: AvailabilityRule) -> None:
    """Remove a rule and its free future slots; booked slots stay booked."""
    doctor = rule.doctor
    audit_record(
        actor=actor,
        action="availability_rule.deleted",
        obj=rule,
        details={"doctor": doctor.pk, "weekday": rule.weekday},
    )
    rule.delete()
    slots_regenerate(doctor=doctor)


@transaction.atomic
def exception_create(
    *, actor: User, doctor: Doctor, start: datetime, end: datetime, reason: str = ""
) -> AvailabilityException:
    """Time off: free slots inside [start, end) become unavailable; booked ones stay."""
    if end <= start:
        raise ValidationFailed(fields={"end": ["Must be after start."]})
    exception = AvailabilityException.objects.create(doctor=doctor, start=start, end=end, reason=reason)
    audit_record(
        actor=actor,
        action="availability_exception.created",
        obj=exception,
        details={"doctor": doctor.pk, "start": start.isoformat(), "end": end.isoformat()},
    )
    slots_regenerate(doctor=doctor)
    return exception


# --- Booking -------------------------------------------------------------------------


def _publish_slot(event: str, slot: Slot) -> None:
    publish(
        topic=topics.doctor_availability(slot.doctor_id),
        event=event,
        data={"doctor": slot.doctor_id, "start": clinic_iso(slot.start), "end": clinic_iso(slot.end)},
    )


def _resolve_patient(*, actor: User, patient: Patient | None) -> Patient:
    if _is_patient(actor):
        own = actor.patient
        if patient is not None and patient.pk != own.pk:
            raise Forbidden("Patients book only for themselves.")
        return own
    if not actor.is_staff_or_admin:
        raise Forbidden("Only patients, staff and admins book appointments.")
    if patient is None:
        raise ValidationFailed(fields={"patient": ["Required when staff book for a patient."]})
    return patient


def _check_slot_window(*, actor: User, start: datetime, overrides: list[str]) -> None:
    """Horizon for everyone; minimum notice for patients (staff and admin may override)."""
    now = timezone.now()
    if start <= now or start >= horizon_end():
        raise InvalidSlot()
    if start < now + timedelta(minutes=clinic_setting("min_notice_minutes")):
        if _is_patient(actor):
            raise NoticeTooShort("That slot starts too soon to book online.")
        overrides.append("min_notice")


def _check_open_cap(*, actor: User, patient: Patient, overrides: list[str], adding: int = 1) -> None:
    open_count = Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES).count()
    if open_count + adding > clinic_setting("max_open_appointments_per_patient"):
        if _is_patient(actor):
            raise AppointmentLimitReached()
        overrides.append("max_open_appointments")


def _check_patient_free(*, patient: Patient, start: datetime, end: datetime, exclude: int | None = None) -> None:
    clash = Appointment.objects.filter(patient=patient, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    if clash.exists():
        raise SlotUnavailable("The patient already has an appointment at that time.")


def appointment_book(
    *,
    actor: User,
    doctor: Doctor,
    start: datetime,
    patient: Patient | None = None,
    reason: str = "",
) -> Appointment:
    """Book the free slot of `doctor` at `start` for a patient.

    Patients book for themselves, within the minimum notice, the horizon and the
    open-appointment cap; staff and admin book for any patient and may override the
    notice and the cap (audited). 409 `slot_unavailable` when someone else holds the
    slot or the time, 400 `invalid_slot` when there is no such free future slot.
    """
    patient = _resolve_patient(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise InvalidSlot("This doctor is not taking bookings.")

    def book() -> Appointment:
        overrides: list[str] = []
        _check_slot_window(actor=actor, start=start, overrides=overrides)
        # The patient's row lock serialises one patient's bookings: the cap and the
        # "not twice at once" check below cannot be raced by a second request.
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        slot = Slot.objects.select_for_update().filter(doctor=doctor, start=start).first()
        if slot is None or slot.status == SlotStatus.BLOCKED:
            raise InvalidSlot()
        if slot.status != SlotStatus.FREE:
            raise SlotUnavailable()
        _check_open_cap(actor=actor, patient=patient, overrides=overrides)
        _check_patient_free(patient=patient, start=slot.start, end=slot.end)
        return _book_slot(actor=actor, patient=patient, slot=slot, reason=reason, overrides=overrides)

    return _as_conflict(book)


def _book_slot(
    *,
    actor: User,
    patient: Patient,
    slot: Slot,
    reason: str,
    overrides: list[str],
    series: AppointmentSeries | None = None,
) -> Appointment:
    """Book a free slot the caller has locked and checked: every booking's last step, so a
    series' occurrences are ordinary appointments (same audit, event and notification)."""
    slot.status = SlotStatus.BOOKED
    slot.save(update_fields=["status"])
    now = timezone.now()
    appointment = Appointment.objects.create(
        doctor_id=slot.doctor_id,
        patient=patient,
        slot=slot,
        start=slot.start,
        end=slot.end,
        reason=reason,
        series=series,
        booked_by=actor,
        created_at=now,
        updated_at=now,
    )
    details: dict[str, Any] = {"doctor": slot.doctor_id, "patient": patient.pk, "start": slot.start.isoformat()}
    if series is not None:
        details["series"] = series.pk
    if overrides:
        details["overrides"] = overrides
    audit_record(actor=actor, action="appointment.booked", obj=appointment, details=details)
    _publish_slot("slot.booked", slot)
    _notify_patient(appointment, "booked")
    return appointment


def appointment_book_request(*, actor: User, data: Mapping[str, Any]) -> Appointment:
    """Book from a validated `BookInput`: the one input path of every booking API.

    REST's /api/appointments/book/ and FHIR's `POST Appointment` both come through here, so
    a field added to `BookInput` reaches `appointment_book` the same way from both.
    """
    return appointment_book(actor=actor, **_booking(actor=actor, data=data))


def _booking(*, actor: User, data: Mapping[str, Any]) -> dict[str, Any]:
    """`BookInput`'s fields as the booking services take them (ids resolved to records)."""
    return {
        "doctor": selectors.doctor_for_booking(actor=actor, doctor_id=data["doctor"]),
        "patient": selectors.patient_for_booking(patient_id=data.get("patient")),
        "start": data["start"],
        "reason": data["reason"],
    }


def _notify_patient(appointment: Appointment, kind: str) -> None:
    # After commit: a rolled-back booking, move or cancellation notifies nobody. Robust: a
    # failure to notify is logged and must not turn the committed booking into an error.
    transaction.on_commit(partial(appointment_notify, appointment_id=appointment.pk, kind=kind), robust=True)


def _lock_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


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
        locked = _lock_appointment(appointment)
        if start is not None and start != locked.start:
            _move(actor=actor, appointment=locked, start=start)
        if reason is not None and reason != locked.reason:
            locked.reason = reason
            locked.updated_at = timezone.now()
            locked.save(update_fields=["reason", "updated_at"])
            audit_record(actor=actor, action="appointment.reason_changed", obj=locked)
        return locked

    return _as_conflict(update)


def _move(*, actor: User, appointment: Appointment, start: datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED:
        raise InvalidTransition("Only a booked appointment (not yet checked in) can be moved.")
    overrides: list[str] = []
    notice = timedelta(minutes=clinic_setting("patient_reschedule_notice_minutes"))
    if appointment.start < timezone.now() + notice:
        if _is_patient(actor):
            raise NoticeTooShort("It is too late to move this appointment online.")
        overrides.append("reschedule_notice")
    _check_slot_window(actor=actor, start=start, overrides=overrides)
    Patient.objects.select_for_update().filter(pk=appointment.patient_id).first()
    target = Slot.objects.filter(doctor_id=appointment.doctor_id, start=start).values_list("pk", flat=True).first()
    if target is None:
        raise InvalidSlot()
    # Both slots locked in id order: two opposite moves cannot deadlock each other.
    ids = sorted({target, appointment.slot_id} - {None})
    slots = {slot.pk: slot for slot in Slot.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    new_slot = slots[target]
    if new_slot.status == SlotStatus.BLOCKED:
        raise InvalidSlot()
    if new_slot.status != SlotStatus.FREE:
        raise SlotUnavailable()
    _check_patient_free(patient=appointment.patient, start=new_slot.start, end=new_slot.end, exclude=appointment.pk)
    old_slot = slots.get(appointment.slot_id) if appointment.slot_id else None
    old_start = appointment.start
    if old_slot is not None:
        old_slot.status = SlotStatus.FREE
        old_slot.save(update_fields=["status"])
    new_slot.status = SlotStatus.BOOKED
    new_slot.save(update_fields=["status"])
    appointment.slot = new_slot
    appointment.start = new_slot.start
    appointment.end = new_slot.end
    appointment.updated_at = timezone.now()
    appointment.save(update_fields=["slot", "start", "end", "updated_at"])
    details: dict[str, Any] = {"from": old_start.isoformat(), "to": new_slot.start.isoformat()}
    if overrides:
        details["overrides"] = overrides
    audit_record(actor=actor, action="appointment.rescheduled", obj=appointment, details=details)
    _notify_patient(appointment, "rescheduled")
    if old_slot is not None:
        _publish_slot("slot.released", old_slot)
    _publish_slot("slot.booked", new_slot)


# --- Series --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesBooking:
    series: AppointmentSeries
    appointments: list[Appointment]


def series_book_request(*, actor: User, data: Mapping[str, Any]) -> SeriesBooking:
    """Book from a validated `SeriesInput`: BookInput's fields, the same way, plus the rhythm."""
    return series_book(actor=actor, every=data["every"], count=data["count"], **_booking(actor=actor, data=data))


def series_book(
    *,
    actor: User,
    doctor: Doctor,
    start: datetime,
    every: str,
    count: int,
    patient: Patient | None = None,
    reason: str = "",
) -> SeriesBooking:
    """Book `count` occurrences `every` 1, 2 or 4 weeks from `start`, all or nothing.

    Occurrences keep `start`'s clinic wall-clock time across daylight-saving changes.
    One transaction, the locks of a single booking (the patient's row, then every slot
    in id order, so two racing series cannot deadlock), the same checks per occurrence.
    If any occurrence is not a free slot within the horizon, or the patient is busy then,
    nothing is booked: 409 `slot_unavailable` with `conflicts`, every such start.
    """
    patient = _resolve_patient(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise InvalidSlot("This doctor is not taking bookings.")
    starts = calendar.same_wall_time(start, clinic_timezone(), every_days=SERIES_EVERY_DAYS[every], count=count)

    def book() -> SeriesBooking:
        overrides: list[str] = []
        # The later occurrences are weeks after the first: only the first can be too soon.
        _check_slot_window(actor=actor, start=starts[0], overrides=overrides)
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        slots = {
            slot.start: slot
            for slot in Slot.objects.select_for_update().filter(doctor=doctor, start__in=starts).order_by("pk")
        }
        conflicts = _series_conflicts(patient=patient, starts=starts, slots=slots)
        if conflicts:
            raise SlotUnavailable(
                "Some occurrences are not free; nothing was booked.",
                extra={"conflicts": [clinic_iso(start) for start in conflicts]},
            )
        _check_open_cap(actor=actor, patient=patient, overrides=overrides, adding=count)
        series = AppointmentSeries.objects.create(
            doctor=doctor, patient=patient, every=every, count=count, booked_by=actor
        )
        appointments = [
            _book_slot(
                actor=actor, patient=patient, slot=slots[start], reason=reason, overrides=overrides, series=series
            )
            for start in starts
        ]
        details: dict[str, Any] = {"doctor": doctor.pk, "patient": patient.pk, "every": every, "count": count}
        audit_record(actor=actor, action="appointment_series.booked", obj=series, details=details)
        return SeriesBooking(series=series, appointments=appointments)

    return _as_conflict(book)


def _series_conflicts(*, patient: Patient, starts: list[datetime], slots: dict[datetime, Slot]) -> list[datetime]:
    """The starts that cannot be booked: no free slot there, past the horizon, or the patient is busy."""
    last = horizon_end()
    busy = list(
        Appointment.objects.filter(
            patient=patient, status__in=ACTIVE_STATUSES, start__lt=starts[-1] + timedelta(days=1), end__gt=starts[0]
        ).values_list("start", "end")
    )
    conflicts = []
    for start in starts:
        slot = slots.get(start)
        if slot is None or slot.status != SlotStatus.FREE or start >= last or _overlaps(slot.start, slot.end, busy):
            conflicts.append(start)
    return conflicts


def series_cancel(*, actor: User, series: AppointmentSeries) -> int:
    """Cancel every future occurrence still `booked`, each as a single cancellation would
    (slot freed, audit, event, notification). Returns how many were cancelled.

    A patient cannot cancel online an occurrence inside the cancellation notice: it stays
    booked (the clinic cancels it); staff and admin override the notice, audited.
    """

    def cancel() -> int:
        now = timezone.now()
        # Every occurrence is locked first, in id order: the lock order of a single cancel.
        upcoming = list(
            Appointment.objects.select_for_update()
            .filter(series=series, status=AppointmentStatus.BOOKED, start__gt=now)
            .order_by("pk")
        )
        notice = timedelta(minutes=clinic_setting("patient_cancel_notice_minutes"))
        if _is_patient(actor):
            upcoming = [appointment for appointment in upcoming if appointment.start >= now + notice]
        for appointment in upcoming:
            _transition(actor=actor, appointment=appointment, status=AppointmentStatus.CANCELLED)
        series.cancelled_at = now
        series.save(update_fields=["cancelled_at"])
        audit_record(
            actor=actor, action="appointment_series.cancelled", obj=series, details={"cancelled": len(upcoming)}
        )
        return len(upcoming)

    return _as_conflict(cancel)


# --- The lifecycle -------------------------------------------------------------------

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
    if actor.role == Role.DOCTOR and appointment.doctor.user_id != actor.pk:
        raise Forbidden("Only the appointment's doctor may change its status.")

    def change() -> Appointment:
        return _transition(actor=actor, appointment=_lock_appointment(appointment), status=status)

    return _as_conflict(change)


def appointment_cancel(*, actor: User, appointment: Appointment) -> Appointment:
    """Cancel: the slot is free again at once. Patients respect the cancellation notice."""

    def cancel() -> Appointment:
        return _transition(actor=actor, appointment=_lock_appointment(appointment), status=S.CANCELLED)

    return _as_conflict(cancel)


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
        notice = timedelta(minutes=clinic_setting("patient_cancel_notice_minutes"))
        if notice and appointment.start < now + notice:
            if _is_patient(actor):
                raise NoticeTooShort("It is too late to cancel this appointment online.")
            details["overrides"] = ["cancel_notice"]
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
                _publish_slot("slot.released", slot)
    audit_record(actor=actor, action=f"appointment.{status}", obj=appointment, details=details)
    if status == S.CANCELLED:
        _notify_patient(appointment, "cancelled")
    if appointment.queue_date is not None:
        _publish_queue(appointment.doctor_id, appointment.queue_date)
    return appointment


def _assign_queue_number(appointment: Appointment) -> None:
    """The next number of the doctor's queue for the appointment's clinic day."""
    # The doctor's row lock serialises check-ins, so two cannot draw the same number.
    Doctor.objects.select_for_update().filter(pk=appointment.doctor_id).first()
    day = appointment.start.astimezone(clinic_timezone()).date()
    last = (
        Appointment.objects.filter(doctor_id=appointment.doctor_id, queue_date=day)
        .order_by("-queue_number")
        .values_list("queue_number", flat=True)
        .first()
    )
    appointment.queue_date = day
    appointment.queue_number = (last or 0) + 1


def _publish_queue(doctor_id: int, day: date) -> None:
    queue = selectors.queue_payload(doctor_id=doctor_id, day=day)
    publish(topic=topics.doctor_queue(doctor_id), event="queue.updated", data=queue)
    publish(
        topic=topics.display_doctor(doctor_id),
        event="queue.updated",
        data=selectors.display_payload(queue),
    )
