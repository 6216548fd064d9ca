"""Availability: weekly rules, time off (exceptions), and the slots they generate."""

import logging
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Doctor, User
from audit.services import audit_record
from clinic.clock import clinic_timezone, clinic_today
from clinic.registry import clinic_setting
from core.exceptions import Forbidden, ValidationFailed
from core.roles import Role
from scheduling import calendar, events, signals
from scheduling.models import AvailabilityException, AvailabilityRule, Slot, SlotStatus
from scheduling.services.hold_state import holds_withdraw
from scheduling.services.races import lock_doctor

logger = logging.getLogger(__name__)


def horizon_end() -> datetime:
    """The end of the bookable window: the end of the last clinic day of the horizon."""
    last_day = clinic_today() + timedelta(days=clinic_setting("booking_horizon_days"))
    return calendar.day_bounds(last_day, clinic_timezone())[1]


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


class Intervals:
    """Half-open intervals merged and sorted once, so each overlap question is a binary
    search: regeneration stays O((slots + exceptions) log exceptions), where a scan of
    every exception for every slot grew with their product."""

    def __init__(self, intervals: Iterable[tuple[datetime, datetime]]) -> None:
        merged: list[list[datetime]] = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [start for start, _ in merged]
        self.ends = [end for _, end in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        # The last merged interval starting before `end` is the only candidate: the ones
        # before it end before it starts.
        index = bisect_left(self.starts, end) - 1
        return index >= 0 and self.ends[index] > start


@transaction.atomic
def slots_regenerate(*, doctor: Doctor) -> SlotChanges:
    """Bring the doctor's future slots in line with the rules and exceptions.

    Works from now to the end of the booking horizon. Only free and blocked slots are
    created, deleted or flipped; a booked slot is never touched, and no new slot may
    overlap one. Idempotent: running it twice changes nothing the second time. Also
    what the daily beat task runs, to extend the slots as the horizon moves on.
    """
    # One regeneration per doctor at a time (a rule change racing the daily task).
    lock_doctor(doctor.pk)
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
        for slot_time in calendar.slot_times(rules, day, tz):
            if slot_time.start >= window_start:
                wanted[(slot_time.start, slot_time.end)] = slot_time.rule_id
        day += timedelta(days=1)

    # Every future slot, also past the horizon's end: a shortened horizon drops free ones.
    existing = list(Slot.objects.filter(doctor=doctor, start__gte=window_start))
    booked_keys = {(slot.start, slot.end) for slot in existing if slot.status == SlotStatus.BOOKED}
    booked = Intervals(booked_keys)
    exceptions = Intervals(
        AvailabilityException.objects.filter(doctor=doctor, end__gt=window_start, start__lt=window_end).values_list(
            "start", "end"
        )
    )
    # A wanted slot that overlaps a booked one (left from an older rule) must wait.
    wanted = {
        key: rule_id for key, rule_id in wanted.items() if key in booked_keys or not booked.overlaps(key[0], key[1])
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
        off = exceptions.overlaps(slot.start, slot.end)
        if off and slot.status == SlotStatus.FREE:
            to_block.append(slot.pk)
        elif not off and slot.status == SlotStatus.BLOCKED:
            to_free.append(slot.pk)

    # Lock what is to go or be blocked, re-checking the status under the lock: a slot
    # booked meanwhile is left alone, and one locked here cannot be booked before it is
    # gone. One query, in id order, as every slot lock is taken: no deadlock with a move.
    locked = dict(
        Slot.objects.select_for_update()
        .filter(pk__in=[*to_delete, *to_block])
        .order_by("pk")
        .values_list("pk", "status")
    )
    doomed = [pk for pk in to_delete if locked.get(pk) in (SlotStatus.FREE, SlotStatus.BLOCKED)]
    to_block = [pk for pk in to_block if locked.get(pk) == SlotStatus.FREE]
    # Time off and removed hours win over a patient's few minutes: their holds end first
    # (an active hold pins its slot, so the database would refuse the change otherwise).
    holds_withdraw(slot_ids=[*doomed, *to_block], now=now)
    deleted = Slot.objects.filter(pk__in=doomed).delete()[1].get("scheduling.Slot", 0)
    blocked = Slot.objects.filter(pk__in=to_block, status=SlotStatus.FREE).update(status=SlotStatus.BLOCKED)
    freed = Slot.objects.filter(pk__in=to_free, status=SlotStatus.BLOCKED).update(status=SlotStatus.FREE)
    new_slots = [
        Slot(
            doctor=doctor,
            rule_id=rule_id,
            start=start,
            end=end,
            status=SlotStatus.BLOCKED if exceptions.overlaps(start, end) else SlotStatus.FREE,
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
        events.availability_changed(doctor_id=doctor.pk, window_start=window_start, window_end=window_end)
        if created or freed:
            signals.announce_slots_opened(doctor.pk)
        # DEBUG: the demo clinic and the daily extension regenerate every doctor at once.
        logger.debug(
            "slots regenerated for doctor %s: +%s -%s blocked %s freed %s", doctor.pk, created, deleted, blocked, freed
        )
    return changes


class DoctorNotApproved(Forbidden):
    code = "doctor_not_approved"
    default_detail = "Your account is waiting for approval; the clinic sets your hours until then."


def _check_may_change(*, actor: User, doctor: Doctor) -> None:
    """A doctor changes their own availability only once approved: a self-registered
    account could otherwise make slot regeneration as costly as it liked."""
    if actor is not None and actor.role == Role.DOCTOR and not doctor.is_approved:
        raise DoctorNotApproved()


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
    _check_may_change(actor=actor, doctor=doctor)
    # Serialise rule changes per doctor so the overlap check and the cap cannot be raced.
    lock_doctor(doctor.pk)
    limit = clinic_setting("max_rules_per_doctor")
    if AvailabilityRule.objects.filter(doctor=doctor).count() >= limit:
        raise ValidationFailed(f"A doctor may have at most {limit} availability rules.", code="too_many_rules")
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
    _check_may_change(actor=actor, doctor=doctor)
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
    _check_may_change(actor=actor, doctor=doctor)
    # Serialise time-off changes per doctor so the cap cannot be raced.
    lock_doctor(doctor.pk)
    limit = clinic_setting("max_exceptions_per_doctor")
    if AvailabilityException.objects.filter(doctor=doctor, end__gt=timezone.now()).count() >= limit:
        raise ValidationFailed(
            f"A doctor may have at most {limit} upcoming time-off entries.", code="too_many_exceptions"
        )
    exception = AvailabilityException.objects.create(doctor=doctor, start=start, end=end, reason=reason)
    audit_record(
        actor=actor,
        action="availability_exception.created",
        obj=exception,
        details={"doctor": doctor.pk, "start": start.isoformat(), "end": end.isoformat()},
    )
    slots_regenerate(doctor=doctor)
    return exception
