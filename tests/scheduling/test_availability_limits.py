"""Availability cannot be made to cost without bound: who may change it, how much of it, and
how regeneration scales."""

import random
from datetime import UTC, datetime, time, timedelta

import pytest

from scheduling.models import AvailabilityException, AvailabilityRule
from scheduling.services.availability import Intervals
from tests import factories
from tests.assertions import assert_error
from tests.clock import clinic_at
from tests.scheduling.conftest import set_policy

pytestmark = pytest.mark.django_db

RULE = {"weekday": 0, "start_time": "09:00", "end_time": "10:00", "slot_minutes": 5}


def _url(doctor, tail):
    return f"/api/doctors/{doctor.doctor.id}/availability/{tail}"


def _off(day: int) -> dict:
    start = clinic_at(time(12), days=day)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=5)).isoformat()}


def test_an_unapproved_doctor_cannot_change_availability(client_for, clinic, ada, rita):
    newcomer = factories.DoctorFactory(email="new@example.test", approved=False)
    client = client_for(newcomer)
    assert_error(client.post(_url(newcomer, "rules/"), RULE, format="json"), 403, "doctor_not_approved")
    assert_error(client.post(_url(newcomer, "exceptions/"), _off(1), format="json"), 403, "doctor_not_approved")
    assert not AvailabilityRule.objects.filter(doctor=newcomer.doctor).exists()
    # The clinic may still prepare the hours of a doctor it has not approved yet.
    assert client_for(rita).post(_url(newcomer, "rules/"), RULE, format="json").status_code == 201


def test_rules_are_capped_per_doctor(client_for, clinic, carol):
    set_policy("max_rules_per_doctor", 3)
    client = client_for(carol)
    for weekday in range(3):
        assert client.post(_url(carol, "rules/"), {**RULE, "weekday": weekday}, format="json").status_code == 201
    response = client.post(_url(carol, "rules/"), {**RULE, "weekday": 3}, format="json")
    assert_error(response, 400, "too_many_rules")
    assert AvailabilityRule.objects.filter(doctor=carol.doctor).count() == 3


def test_upcoming_exceptions_are_capped_per_doctor(client_for, clinic, carol):
    set_policy("max_exceptions_per_doctor", 3)
    client = client_for(carol)
    for day in range(1, 4):
        assert client.post(_url(carol, "exceptions/"), _off(day), format="json").status_code == 201
    assert_error(client.post(_url(carol, "exceptions/"), _off(4), format="json"), 400, "too_many_exceptions")
    assert AvailabilityException.objects.filter(doctor=carol.doctor).count() == 3


def test_the_interval_index_answers_like_a_scan():
    rng = random.Random(13)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    spans = []
    for _ in range(300):
        start = base + timedelta(minutes=rng.randrange(0, 20000))
        spans.append((start, start + timedelta(minutes=rng.randrange(1, 300))))
    index = Intervals(spans)
    for _ in range(2000):
        start = base + timedelta(minutes=rng.randrange(-100, 20500))
        end = start + timedelta(minutes=rng.randrange(1, 60))
        expected = any(start < other_end and other_start < end for other_start, other_end in spans)
        assert index.overlaps(start, end) is expected
    assert not Intervals([]).overlaps(base, base + timedelta(minutes=1))
