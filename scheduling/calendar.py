"""Pure wall-clock arithmetic: which instants a weekly rule yields on one clinic day.

No database here, so the daylight-saving behaviour can be tested exhaustively
(tests/scheduling/test_slot_times.py). Rules are in the clinic's wall-clock time; slots
are instants (UTC in the database), computed with `zoneinfo`, never fixed offsets.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RuleWindow:
    """What slot generation needs of an AvailabilityRule."""

    rule_id: int | None
    weekday: int
    start_time: time
    end_time: time
    slot_minutes: int
    valid_from: date | None = None
    valid_until: date | None = None
    # A gap kept free after every slot: slots start every slot_minutes + buffer_minutes.
    buffer_minutes: int = 0

    def applies_on(self, day: date) -> bool:
        if day.weekday() != self.weekday:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


@dataclass(frozen=True)
class SlotTime:
    start: datetime
    end: datetime
    rule_id: int | None
    # The free gap after the slot (its rule's buffer): no other slot starts inside it.
    buffer: timedelta = timedelta(0)


def wall_exists(wall: datetime, tz: ZoneInfo) -> bool:
    """False for a wall time inside a spring-forward gap (it names no instant)."""
    aware = wall.replace(tzinfo=tz, fold=0)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall.replace(tzinfo=None)


def to_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of an existing wall time; in a fall-back hour, its first occurrence."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def same_wall_time(start: datetime, tz: ZoneInfo, *, every_days: int, count: int) -> list[datetime]:
    """`count` instants `every_days` clinic days apart at `start`'s wall-clock time.

    09:00 stays 09:00 across a daylight-saving change (the instants are then 23 or 25
    hours further apart than usual). A wall time that falls in a spring-forward gap names
    no real slot; it is returned as `to_instant` gives it, so that no slot matches it.
    """
    wall = start.astimezone(tz).replace(tzinfo=None)
    return [start] + [to_instant(wall + timedelta(days=every_days * n), tz) for n in range(1, count)]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of one clinic day as UTC instants (23, 24 or 25 hours long)."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def slot_times(rules: Iterable[RuleWindow], day: date, tz: ZoneInfo) -> list[SlotTime]:
    """The slots the rules yield on `day`, in time order, never overlapping.

    Each slot lasts exactly its rule's `slot_minutes` of real time, and its rule's
    `buffer_minutes` after it stay free: slots start every `slot_minutes + buffer_minutes`
    of wall-clock time. A start in a spring-forward gap is skipped; in a fall-back hour
    only the first occurrence of a wall time is used, so no wall time gives two slots. A
    slot that would overlap the one before it or its buffer (possible only across a
    transition, or where one rule's last buffer runs into the next rule's window) is
    skipped, and every slot ends by its rule's end wall time.
    """
    candidates: list[SlotTime] = []
    for rule in rules:
        if not rule.applies_on(day):
            continue
        length = timedelta(minutes=rule.slot_minutes)
        buffer = timedelta(minutes=rule.buffer_minutes)
        wall = datetime.combine(day, rule.start_time)
        wall_end = datetime.combine(day, rule.end_time)
        limit = _latest_instant(wall_end, tz)
        while wall + length <= wall_end:
            if wall_exists(wall, tz):
                start = to_instant(wall, tz)
                if start + length <= limit:
                    candidates.append(SlotTime(start=start, end=start + length, rule_id=rule.rule_id, buffer=buffer))
            wall += length + buffer
    candidates.sort(key=lambda slot: (slot.start, slot.end))
    accepted: list[SlotTime] = []
    for slot in candidates:
        if accepted and slot.start < accepted[-1].end + accepted[-1].buffer:
            continue
        accepted.append(slot)
    return accepted


def _latest_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant a rule's end wall time stands for (the earliest one in a gap or a repeat)."""
    if wall_exists(wall, tz):
        return to_instant(wall, tz)
    # In a gap, the wall time names no instant: the gap's start (its first moment) is the end.
    probe = wall
    while not wall_exists(probe, tz):
        probe -= timedelta(minutes=1)
    return to_instant(probe, tz) + timedelta(minutes=1)
