"""GET /api/doctors/{id}/availability/: the exact body, byte for byte, on a fixed clinic day.

Pins what the availability read returns before any change to how it is built: every
`available` / `bookable` / `reason` case, an hour of time off, holds (another patient's,
the caller's own), a booked slot, past slots left out, a daylight-saving change in the
window, and the compact JSON the client receives.
"""

import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import queries
from scheduling import selectors, services
from scheduling.models import Slot
from tests import factories
from tests.scheduling.helpers import set_policy

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Friday morning; Europe/Paris moves to summer time at 02:00 on Sunday 2027-03-28.
NOW = datetime(2027, 3, 26, 9, 40, tzinfo=PARIS)
WINDOW = {"from": "2027-03-26", "to": "2027-03-28"}


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=PARIS)


def _slot(start: str, end: str, available: bool, reason: str | None) -> dict:
    return {"start": start, "end": end, "available": available, "bookable": reason is None, "reason": reason}


@pytest.fixture
def fixture_day(time_machine, clinic, alice, bob, carol, ada):
    """Carol works 09:00-10:30 every day; by Friday 09:40 in Paris, Saturday's 09:00 is
    booked by bob, 09:30 held by eve and 10:00 held by alice; Sunday's 09:00 is time off."""
    time_machine.move_to(NOW, tick=False)
    set_policy("timezone", "Europe/Paris")
    for weekday in range(7):
        services.rule_create(actor=ada, doctor=carol.doctor, weekday=weekday, start_time=time(9), end_time=time(10, 30))
    eve = factories.PatientFactory(email="eve@example.test")
    services.appointment_book(actor=bob, doctor=carol.doctor, start=_at(27, 9, 0))
    services.hold_create(actor=eve, doctor=carol.doctor, start=_at(27, 9, 30))
    services.hold_create(actor=alice, doctor=carol.doctor, start=_at(27, 10, 0))
    services.exception_create(actor=ada, doctor=carol.doctor, start=_at(28, 9, 0), end=_at(28, 9, 30))
    return carol


def _get(client, doctor):
    response = client.get(f"/api/doctors/{doctor.doctor.id}/availability/", WINDOW)
    assert response.status_code == 200
    return response


def test_a_patient_gets_exactly_this_body(client_for, alice, fixture_day):
    response = _get(client_for(alice), fixture_day)
    expected = {
        "doctor": fixture_day.doctor.id,
        "timezone": "Europe/Paris",
        "slots": [
            # Friday: 09:00 and 09:30 are past; 10:00 is inside the hour of minimum notice.
            _slot("2027-03-26T10:00:00+01:00", "2027-03-26T10:30:00+01:00", True, "notice"),
            _slot("2027-03-27T09:00:00+01:00", "2027-03-27T09:30:00+01:00", False, "unavailable"),
            _slot("2027-03-27T09:30:00+01:00", "2027-03-27T10:00:00+01:00", False, "unavailable"),
            _slot("2027-03-27T10:00:00+01:00", "2027-03-27T10:30:00+01:00", True, None),
            _slot("2027-03-28T09:00:00+02:00", "2027-03-28T09:30:00+02:00", False, "unavailable"),
            _slot("2027-03-28T09:30:00+02:00", "2027-03-28T10:00:00+02:00", True, None),
            _slot("2027-03-28T10:00:00+02:00", "2027-03-28T10:30:00+02:00", True, None),
        ],
    }
    assert response.json() == expected
    assert response.content == json.dumps(expected, ensure_ascii=False, separators=(",", ":")).encode()


def test_staff_and_doctors_get_their_own_reasons(client_for, rita, fixture_day):
    for_staff = [(s["available"], s["reason"]) for s in _get(client_for(rita), fixture_day).json()["slots"]]
    # Staff override the notice and see every hold as taken (alice's too).
    taken = (False, "unavailable")
    assert for_staff == [(True, None), taken, taken, taken, taken, (True, None), (True, None)]
    for_doctor = [s["reason"] for s in _get(client_for(fixture_day), fixture_day).json()["slots"]]
    assert for_doctor == ["role", "unavailable", "unavailable", "unavailable", "unavailable", "role", "role"]


def test_times_keep_their_microseconds_and_the_clinic_offset(client_for, alice, carol, clinic, time_machine):
    # Slots from rules start on the minute; a slot written otherwise keeps its exact instant.
    time_machine.move_to(NOW, tick=False)
    set_policy("timezone", "Europe/Paris")
    start = datetime(2027, 3, 28, 1, 59, 59, 999999, tzinfo=PARIS)
    Slot.objects.create(doctor=carol.doctor, start=start, end=start + timedelta(minutes=30))
    [slot] = _get(client_for(alice), carol).json()["slots"]
    assert (slot["start"], slot["end"]) == ("2027-03-28T01:59:59.999999+01:00", "2027-03-28T03:29:59.999999+02:00")


def test_a_month_is_three_queries(client_for, alice, fixture_day, django_assert_num_queries):
    client = client_for(alice)
    month = {"from": "2027-03-26", "to": "2027-04-25"}
    client.get(f"/api/doctors/{fixture_day.doctor.id}/availability/", month)  # warm the clinic-settings cache
    # token + user, the doctor, the slots.
    with django_assert_num_queries(3):
        response = client.get(f"/api/doctors/{fixture_day.doctor.id}/availability/", month)
    assert len(response.json()["slots"]) > 7


def test_the_compiled_read_answers_what_the_queryset_answers(client_for, alice, fixture_day, time_machine, monkeypatch):
    # Time moves, as in production: each "now" of the read is its own value, so it compiles.
    time_machine.move_to(NOW, tick=True)
    client = client_for(alice)
    slot_texts = selectors._slot_texts
    slot_texts._plans.clear()
    with monkeypatch.context() as uncompiled:
        uncompiled.setattr(queries, "_compile", lambda queryset, args: None)
        built = _get(client, fixture_day).content
    assert not slot_texts._plans
    monkeypatch.setattr(queries, "VERIFY", False)  # the plan alone, as in production
    bodies = [_get(client, fixture_day).content for _ in range(3)]
    assert slot_texts._plans, "the availability read was never compiled"
    assert bodies == [built] * 3
