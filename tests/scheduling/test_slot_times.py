"""Slot generation across daylight-saving changes (pure: no database)."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.calendar import RuleWindow, same_wall_time, slot_times, wall_exists

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")

# The days of the 2026/2027 transitions, with a day either side.
TRANSITION_DAYS = [
    date(2026, 3, 29),  # London springs forward at 01:00
    date(2026, 10, 25),  # London falls back at 02:00
    date(2026, 3, 8),  # New York springs forward at 02:00
    date(2026, 11, 1),  # New York falls back at 02:00
    date(2027, 3, 28),
    date(2027, 10, 31),
    date(2027, 3, 14),
    date(2027, 11, 7),
]


def _rule(day: date, start: time, end: time, minutes: int, buffer: int = 0) -> RuleWindow:
    return RuleWindow(
        rule_id=1, weekday=day.weekday(), start_time=start, end_time=end, slot_minutes=minutes, buffer_minutes=buffer
    )


def _local(slot_start: datetime, tz: ZoneInfo) -> datetime:
    return slot_start.astimezone(tz)


def test_spring_forward_new_york_skips_the_missing_hour():
    day = date(2027, 3, 14)
    slots = slot_times([_rule(day, time(0), time(5), 30)], day, NEW_YORK)
    walls = [_local(s.start, NEW_YORK).strftime("%H:%M") for s in slots]
    assert "02:00" not in walls and "02:30" not in walls
    assert walls[:4] == ["00:00", "00:30", "01:00", "01:30"]
    assert walls[4] == "03:00"
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_fall_back_london_gives_each_wall_time_once():
    day = date(2026, 10, 25)
    slots = slot_times([_rule(day, time(0), time(4), 30)], day, LONDON)
    walls = [_local(s.start, LONDON).strftime("%H:%M") for s in slots]
    assert len(walls) == len(set(walls))
    assert walls == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]


def test_a_buffer_keeps_its_gap_and_the_wall_clock_rhythm():
    day = date(2026, 12, 1)
    slots = slot_times([_rule(day, time(9), time(12), 30, buffer=10)], day, LONDON)
    walls = [_local(s.start, LONDON).strftime("%H:%M") for s in slots]
    assert walls == ["09:00", "09:40", "10:20", "11:00"]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_a_buffer_across_spring_forward_keeps_its_gap():
    day = date(2027, 3, 14)
    slots = slot_times([_rule(day, time(0), time(5), 40, buffer=20)], day, NEW_YORK)
    walls = [_local(s.start, NEW_YORK).strftime("%H:%M") for s in slots]
    assert walls == ["00:00", "01:00", "03:00", "04:00"]
    for before, after in pairwise(slots):
        assert after.start - before.end >= timedelta(minutes=20)


def test_the_last_buffer_of_one_rule_keeps_the_next_rules_first_slot_free():
    day = date(2026, 12, 1)
    first = _rule(day, time(9), time(10), 25, buffer=10)  # 09:00, 09:35; free until 10:10
    second = RuleWindow(rule_id=2, weekday=day.weekday(), start_time=time(10), end_time=time(11), slot_minutes=30)
    walls = [_local(s.start, LONDON).strftime("%H:%M") for s in slot_times([first, second], day, LONDON)]
    assert walls == ["09:00", "09:35", "10:30"]


def test_a_slot_straddling_the_gap_does_not_overlap_the_next():
    day = date(2027, 3, 14)
    slots = slot_times([_rule(day, time(1), time(5), 45)], day, NEW_YORK)
    for before, after in pairwise(slots):
        assert before.end <= after.start


@settings(max_examples=300, deadline=None)
@given(
    tz=st.sampled_from([LONDON, NEW_YORK]),
    day=st.sampled_from(TRANSITION_DAYS).flatmap(
        lambda d: st.integers(min_value=-1, max_value=1).map(lambda n: d + timedelta(days=n))
    ),
    start_minute=st.integers(min_value=0, max_value=22 * 60),
    length_minutes=st.integers(min_value=5, max_value=12 * 60),
    slot_minutes=st.integers(min_value=5, max_value=240),
    buffer_minutes=st.sampled_from([0, 0, 5, 10, 15, 45, 120]),
    second_rule=st.booleans(),
)
def test_slot_generation_properties_across_dst(
    tz, day, start_minute, length_minutes, slot_minutes, buffer_minutes, second_rule
):
    start_minute -= start_minute % 5
    end_minute = min(start_minute + length_minutes, 24 * 60 - 1)
    start = time(start_minute // 60, start_minute % 60)
    end = time(end_minute // 60, end_minute % 60)
    rules = [_rule(day, start, end, slot_minutes, buffer_minutes)] if end > start else []
    if second_rule and end_minute + 10 < 24 * 60 - 1:
        # A second rule later the same day, with another slot length.
        rules.append(
            RuleWindow(rule_id=2, weekday=day.weekday(), start_time=end, end_time=time(23, 59), slot_minutes=25)
        )

    slots = slot_times(rules, day, tz)

    lengths = {1: slot_minutes, 2: 25}
    starts = [s.start for s in slots]
    assert len(starts) == len(set(starts)), "no slot repeats"
    for slot in slots:
        assert slot.start.tzinfo is not None and slot.start.utcoffset() == timedelta(0)
        assert slot.end - slot.start == timedelta(minutes=lengths[slot.rule_id]), "every slot has its stated length"
        wall = slot.start.astimezone(tz).replace(tzinfo=None)
        assert wall_exists(wall, tz), "no slot starts in a gap"
        assert wall.date() == day
        rule = rules[slot.rule_id - 1]
        assert rule.start_time <= wall.time() < rule.end_time
    walls = [s.start.astimezone(tz).replace(tzinfo=None) for s in slots]
    assert len(walls) == len(set(walls)), "no wall time used twice in a fall-back hour"
    for before, after in pairwise(slots):
        assert before.end <= after.start, "slots never overlap"
        assert before.end + before.buffer <= after.start, "the buffer after a slot stays free"
    assert starts == sorted(starts)
    # On a day without a transition, the rule's window is filled with whole slots and buffers.
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    if rules and midnight.utcoffset() == (midnight + timedelta(days=1)).astimezone(tz).utcoffset():
        window = (end_minute - start_minute + buffer_minutes) // (slot_minutes + buffer_minutes)
        assert sum(1 for s in slots if s.rule_id == 1) == window


def test_a_weekly_series_keeps_its_wall_clock_time_across_both_changes():
    first = datetime(2026, 3, 23, 9, 0, tzinfo=LONDON).astimezone(UTC)  # the Monday before spring forward
    starts = same_wall_time(first, LONDON, every_days=7, count=12)
    assert {s.astimezone(LONDON).strftime("%a %H:%M") for s in starts} == {"Mon 09:00"}
    assert {s.utcoffset() for s in starts} == {timedelta(0)}, "instants stay UTC"
    assert starts[1] - starts[0] == timedelta(days=7) - timedelta(hours=1)
    autumn = same_wall_time(datetime(2026, 10, 19, 9, tzinfo=LONDON), LONDON, every_days=14, count=3)
    assert autumn[1] - autumn[0] == timedelta(days=14, hours=1)
