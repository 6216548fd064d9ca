"""Buffers (contract §12): a rule's `buffer_minutes` keeps a free gap after every slot."""

from datetime import datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from audit.models import AuditLog
from clinic.clock import clinic_timezone, clinic_today
from scheduling import services
from scheduling.models import AvailabilityRule, Slot
from tests.scheduling.helpers import set_policy

pytestmark = pytest.mark.django_db


def _day():
    # Two clinic days ahead: its 09:00 is in the future at any hour in any time zone.
    return clinic_today() + timedelta(days=2)


def _walls(doctor, day):
    tz = clinic_timezone()
    slots = Slot.objects.filter(doctor=doctor.doctor).order_by("start")
    return [s.start.astimezone(tz).strftime("%H:%M") for s in slots if s.start.astimezone(tz).date() == day]


def _rule_url(doctor):
    return f"/api/doctors/{doctor.doctor.id}/availability/rules/"


def test_a_rule_with_a_buffer_leaves_its_gap(client_for, carol, clinic):
    day = _day()
    body = {
        "weekday": day.weekday(),
        "start_time": "09:00",
        "end_time": "12:00",
        "slot_minutes": 30,
        "buffer_minutes": 10,
    }
    response = client_for(carol).post(_rule_url(carol), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["buffer_minutes"] == 10
    assert _walls(carol, day) == ["09:00", "09:40", "10:20", "11:00"]
    slots = list(Slot.objects.filter(doctor=carol.doctor).order_by("start"))
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert all(b.start - a.end >= timedelta(minutes=10) for a, b in pairwise(slots))
    audit = AuditLog.objects.get(action="availability_rule.created")
    assert audit.details["buffer_minutes"] == 10


def test_rules_default_to_no_buffer(client_for, carol, clinic):
    day = _day()
    body = {"weekday": day.weekday(), "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30}
    response = client_for(carol).post(_rule_url(carol), body, format="json")
    assert response.status_code == 201 and response.json()["buffer_minutes"] == 0
    assert _walls(carol, day) == ["09:00", "09:30"]
    assert client_for(carol).get(_rule_url(carol)).json()[0]["buffer_minutes"] == 0


@pytest.mark.parametrize("buffer", [-1, 121, "ten"])
def test_a_bad_buffer_is_400(client_for, carol, clinic, buffer):
    body = {"weekday": 0, "start_time": "09:00", "end_time": "10:00", "slot_minutes": 30, "buffer_minutes": buffer}
    response = client_for(carol).post(_rule_url(carol), body, format="json")
    assert response.status_code == 400 and "buffer_minutes" in response.json()["fields"]
    assert not AvailabilityRule.objects.exists()


def test_the_database_refuses_a_buffer_out_of_range(carol, clinic):
    with pytest.raises(IntegrityError):
        AvailabilityRule.objects.create(
            doctor=carol.doctor, weekday=0, start_time=time(9), end_time=time(10), slot_minutes=30, buffer_minutes=121
        )


def test_the_buffer_survives_regeneration(carol, ada, clinic):
    day = _day()
    services.rule_create(
        actor=ada,
        doctor=carol.doctor,
        weekday=day.weekday(),
        start_time=time(9),
        end_time=time(12),
        slot_minutes=30,
        buffer_minutes=10,
    )
    expected = ["09:00", "09:40", "10:20", "11:00"]
    assert not services.slots_regenerate(doctor=carol.doctor).changed
    # Time off and its end: slots are blocked and freed in place, no slot fills a gap.
    tz = clinic_timezone()
    off_start = datetime.combine(day, time(9, 30), tzinfo=tz)
    services.exception_create(actor=ada, doctor=carol.doctor, start=off_start, end=off_start + timedelta(hours=1))
    assert _walls(carol, day) == expected
    # A second rule the same day, after the first: its slots follow, the first's gaps stay.
    services.rule_create(
        actor=ada, doctor=carol.doctor, weekday=day.weekday(), start_time=time(13), end_time=time(14), slot_minutes=30
    )
    assert _walls(carol, day) == [*expected, "13:00", "13:30"]
    # The daily task regenerates every doctor: still the same slots.
    from scheduling.tasks import extend_slots

    extend_slots.delay().get()
    assert _walls(carol, day) == [*expected, "13:00", "13:30"]


def test_a_buffered_rule_across_dst_keeps_wall_clock_starts(carol, ada, clinic):
    set_policy("timezone", "Europe/London")
    set_policy("booking_horizon_days", 366)
    services.rule_create(
        actor=ada,
        doctor=carol.doctor,
        weekday=6,
        start_time=time(0),
        end_time=time(4),
        slot_minutes=40,
        buffer_minutes=20,
    )
    london = ZoneInfo("Europe/London")
    slots = list(Slot.objects.filter(doctor=carol.doctor).order_by("start"))
    offsets = {s.start.astimezone(london).utcoffset() for s in slots}
    assert offsets == {timedelta(0), timedelta(hours=1)}, "a year of Sundays crosses both changes"
    assert all(s.end - s.start == timedelta(minutes=40) for s in slots)
    assert all(b.start - a.end >= timedelta(minutes=20) for a, b in pairwise(slots))
    walls = {s.start.astimezone(london).strftime("%H:%M") for s in slots}
    assert walls <= {"00:00", "01:00", "02:00", "03:00"}
