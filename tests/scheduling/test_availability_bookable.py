"""Availability is honest per caller: `bookable: false` with a `reason` for a slot this
caller could not book now, checked the way booking checks it."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from clinic.clock import clinic_timezone, clinic_today
from scheduling import services
from tests.scheduling.helpers import free_slots, set_policy

pytestmark = pytest.mark.django_db


def _slots(client, doctor, day) -> dict[str, dict]:
    body = client.get(f"/api/doctors/{doctor.doctor.id}/availability/", {"date": day.isoformat()}).json()
    return {slot["start"]: slot for slot in body["slots"]}


def _iso(slot) -> str:
    return slot.start.astimezone(clinic_timezone()).isoformat()


def _clinic_date(slot) -> date:
    return slot.start.astimezone(clinic_timezone()).date()


def test_a_patient_sees_slots_inside_the_minimum_notice_as_not_bookable(client_for, alice, rita, carol_hours):
    # The first slot of the clinic's day after tomorrow, whatever the hour now.
    day = clinic_today() + timedelta(days=2)
    first = next(slot for slot in free_slots(carol_hours) if _clinic_date(slot) == day)
    # A notice that ends an hour after that slot starts: the rest of that day stays bookable.
    set_policy("min_notice_minutes", int((first.start - timezone.now()).total_seconds() // 60) + 60)
    slots = _slots(client_for(alice), carol_hours, day)
    assert slots[_iso(first)] == {**slots[_iso(first)], "available": True, "bookable": False, "reason": "notice"}
    later = [s for s in slots.values() if s["bookable"]]
    assert later and all(s["reason"] is None and s["available"] for s in later)
    # What the list says is what booking answers, with the minimum notice stated.
    answer = client_for(alice).post(
        "/api/appointments/book/", {"doctor": carol_hours.doctor.id, "start": _iso(first)}, format="json"
    )
    assert answer.status_code == 400 and answer.json()["code"] == "notice_too_short"
    assert "minimum notice is" in answer.json()["detail"]
    assert (
        client_for(alice)
        .post("/api/appointments/book/", {"doctor": carol_hours.doctor.id, "start": later[0]["start"]}, format="json")
        .status_code
        == 201
    )
    # Staff may override the notice: every free slot is bookable for them.
    assert _slots(client_for(rita), carol_hours, day)[_iso(first)]["bookable"] is True


def test_a_long_notice_makes_every_slot_of_the_day_not_bookable_for_patients(client_for, alice, carol_hours, slot_of):
    set_policy("min_notice_minutes", 3 * 24 * 60)
    slots = _slots(client_for(alice), carol_hours, _clinic_date(slot_of(0)))
    assert slots and all(s["bookable"] is False and s["reason"] == "notice" and s["available"] for s in slots.values())


def test_a_taken_slot_is_unavailable_and_doctors_never_book(client_for, alice, bob, carol_hours):
    day = clinic_today() + timedelta(days=2)
    slot, free = [slot for slot in free_slots(carol_hours) if _clinic_date(slot) == day][:2]
    services.appointment_book(actor=alice, doctor=carol_hours.doctor, patient=None, start=slot.start, reason="")
    taken = _slots(client_for(bob), carol_hours, day)[_iso(slot)]
    assert taken == {**taken, "available": False, "bookable": False, "reason": "unavailable"}
    as_doctor = _slots(client_for(carol_hours), carol_hours, day)
    assert as_doctor[_iso(free)]["reason"] == "role"
    assert all(not s["bookable"] for s in as_doctor.values())
