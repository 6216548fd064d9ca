"""PUT /api/appointments/{id}/status/ and GET /api/doctors/{id}/queue/ (contract §4)."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from realtime.models import Event
from scheduling import events, services
from scheduling.models import Appointment, Slot, SlotStatus
from scheduling.services import TRANSITIONS
from tests import factories
from tests.clock import clinic_at, clinic_day
from tests.scheduling.helpers import set_policy

pytestmark = pytest.mark.django_db

ALL = ["booked", "checked_in", "in_progress", "completed", "no_show", "cancelled"]


def _status(client, appointment, status):
    return client.put(f"/api/appointments/{appointment.id}/status/", {"status": status}, format="json")


def _past_appointment(carol, patient, status="booked", minutes_ago=10):
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return factories.appointment_at(doctor=carol, patient=patient, start=start, status=status)


@pytest.mark.parametrize("source", ALL)
@pytest.mark.parametrize("target", ALL)
def test_transition_table(client_for, carol, alice, clinic, source, target):
    appointment = _past_appointment(carol, alice, status=source)
    response = _status(client_for(carol), appointment, target)
    if target in TRANSITIONS[source]:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == target
    else:
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
        assert Appointment.objects.get(pk=appointment.pk).status == source


def test_the_whole_day_of_an_appointment(client_for, carol, alice, rita, clinic):
    appointment = _past_appointment(carol, alice)
    assert _status(client_for(rita), appointment, "checked_in").json()["queue_number"] == 1
    assert _status(client_for(carol), appointment, "in_progress").status_code == 200
    body = _status(client_for(carol), appointment, "completed").json()
    assert body["status"] == "completed"
    appointment.refresh_from_db()
    assert appointment.checked_in_at and appointment.started_at and appointment.finished_at


def test_no_show_is_refused_before_the_start(client_for, carol, alice, carol_hours, slot_of):
    appointment = services.appointment_book(actor=alice, doctor=carol.doctor, start=slot_of(0).start)
    response = _status(client_for(carol), appointment, "no_show")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


def test_check_in_before_the_day_by_default_but_a_setting_may_restrict_it(client_for, carol, alice, rita, slot_of):
    early = services.appointment_book(actor=alice, doctor=carol.doctor, start=slot_of(0).start)
    assert _status(client_for(rita), early, "checked_in").status_code == 200
    set_policy("checkin_opens_minutes_before", 30)
    later = services.appointment_book(actor=alice, doctor=carol.doctor, start=slot_of(1).start)
    response = _status(client_for(rita), later, "checked_in")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


def test_staff_may_only_check_in_and_mark_no_show(client_for, rita, ada, carol, alice, clinic):
    appointment = _past_appointment(carol, alice, status="checked_in")
    for user in (rita, ada):
        response = _status(client_for(user), appointment, "in_progress")
        assert response.status_code == 403
    assert _status(client_for(rita), appointment, "no_show").status_code == 200


def test_no_show_frees_the_slot(client_for, rita, carol, alice, clinic):
    appointment = _past_appointment(carol, alice)
    _status(client_for(rita), appointment, "no_show")
    assert Slot.objects.get(pk=appointment.slot_id).status == SlotStatus.FREE


def test_status_refusals(client_for, anon, alice, bob, carol, dave, clinic):
    appointment = _past_appointment(carol, alice)
    assert _status(anon, appointment, "checked_in").status_code == 401
    assert _status(client_for(alice), appointment, "cancelled").status_code == 403
    assert _status(client_for(dave), appointment, "checked_in").status_code == 404
    assert _status(client_for(carol), appointment, "lost").status_code == 400
    response = client_for(carol).put(f"/api/appointments/{appointment.id}/status/", {}, format="json")
    assert "status" in response.json()["fields"]
    assert (
        client_for(carol).put("/api/appointments/999999/status/", {"status": "checked_in"}, format="json").status_code
        == 404
    )


# --- The queue -----------------------------------------------------------------------


@pytest.fixture
def morning(carol, alice, bob, clinic, time_machine):
    """Three of carol's appointments earlier today (alice, bob, alice), at noon in the clinic.

    Noon, not "now": 90 minutes before 00:30 is yesterday, and the queue is per clinic day.
    """
    time_machine.move_to(clinic_at(time(12)))
    patients = [alice, bob, alice]
    return [
        factories.appointment_at(doctor=carol, patient=p, start=clinic_at(time(10, 30)) + timedelta(minutes=30 * i))
        for i, p in enumerate(patients)
    ]


def test_check_in_numbers_the_queue_per_doctor_and_day(client_for, rita, carol, morning):
    client = client_for(rita)
    numbers = [_status(client, a, "checked_in").json()["queue_number"] for a in reversed(morning)]
    assert numbers == [1, 2, 3]


def test_queue_shows_now_serving_waiting_and_done(client_for, rita, carol, morning):
    staff, doctor = client_for(rita), client_for(carol)
    for appointment in morning:
        _status(staff, appointment, "checked_in")
    _status(doctor, morning[0], "in_progress")
    _status(doctor, morning[0], "completed")
    _status(doctor, morning[1], "in_progress")

    day = clinic_day().isoformat()
    response = doctor.get(f"/api/doctors/{carol.doctor.id}/queue/", {"date": day})
    assert response.status_code == 200
    body = response.json()
    assert body["doctor"] == carol.doctor.id and body["date"] == day
    assert body["now_serving"]["id"] == morning[1].id and body["now_serving"]["queue_number"] == 2
    assert [a["id"] for a in body["waiting"]] == [morning[2].id]
    assert body["done"] == 1
    assert client_for(rita).get(f"/api/doctors/{carol.doctor.id}/queue/").json() == body

    # The events carry the same payload, and the display version has no names or ids.
    queue_event = Event.objects.filter(topic=f"doctor.{carol.doctor.id}.queue").latest("id")
    assert queue_event.name == "queue.updated" and queue_event.data == body
    display = Event.objects.filter(topic=f"display.doctor.{carol.doctor.id}").latest("id")
    assert display.data == {
        "doctor": carol.doctor.id,
        "date": day,
        "now_serving": {"queue_number": 2, "status": "in_progress"},
        "waiting": [{"queue_number": 3, "status": "checked_in"}],
    }
    assert display.data == events.display_payload(body)


def test_queue_refusals(client_for, anon, alice, carol, dave, clinic):
    url = f"/api/doctors/{carol.doctor.id}/queue/"
    assert anon.get(url).status_code == 401
    assert client_for(alice).get(url).status_code == 403
    assert client_for(dave).get(url).status_code == 403
    assert client_for(carol).get("/api/doctors/999999/queue/").status_code == 404
    response = client_for(carol).get(url, {"date": "today"})
    assert response.status_code == 400 and "date" in response.json()["fields"]
