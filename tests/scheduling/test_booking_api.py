"""Booking, listing, reading, moving and cancelling appointments (contract §4)."""

from datetime import time, timedelta

import pytest
import time_machine

from audit.models import AuditLog
from realtime.models import Event
from scheduling import services
from scheduling.models import Appointment, Slot, SlotStatus
from scheduling.serializers import clinic_iso
from tests import factories
from tests.clock import clinic_at, clinic_date
from tests.scheduling.helpers import set_policy

pytestmark = pytest.mark.django_db

BOOK = "/api/appointments/book/"


def _book(client, doctor, slot, **extra):
    return client.post(BOOK, {"doctor": doctor.doctor.id, "start": slot.start.isoformat(), **extra}, format="json")


# --- Book ----------------------------------------------------------------------------


def test_patient_books_a_free_slot(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    response = _book(client_for(alice), carol_hours, slot, reason="Cough")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {
        "id", "doctor", "patient", "start", "end", "status", "reason", "visit_type", "series", "patient_name",
        "queue_number", "checked_in_at", "created_at", "updated_at",
    }  # fmt: skip
    assert body["patient_name"] == "Alice Anders"
    assert body["doctor"] == carol_hours.doctor.id and body["patient"] == alice.patient.id
    assert body["status"] == "booked" and body["reason"] == "Cough" and body["queue_number"] is None
    assert body["series"] is None
    # The clinic's offset, whatever the zone: +00:00 in UTC, +14:00 in Kiritimati.
    assert body["start"] == clinic_iso(slot.start)
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    event = Event.objects.get(topic=f"doctor.{carol_hours.doctor.id}.availability", name="slot.booked")
    assert event.data == {"doctor": carol_hours.doctor.id, "start": body["start"], "end": body["end"]}
    assert AuditLog.objects.filter(action="appointment.booked", object_id=str(body["id"])).exists()


def test_a_patient_books_a_video_visit(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    response = client_for(alice).post(
        BOOK, {"doctor": carol_hours.doctor.id, "start": slot.start.isoformat(), "visit_type": "video"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["visit_type"] == "video"
    assert Appointment.objects.get(pk=response.json()["id"]).visit_type == "video"


def test_in_person_is_the_default(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    response = client_for(alice).post(BOOK, {"doctor": carol_hours.doctor.id, "start": slot.start.isoformat()})
    assert response.json()["visit_type"] == "in_person"


def test_an_unknown_visit_type_is_400(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    response = client_for(alice).post(
        BOOK, {"doctor": carol_hours.doctor.id, "start": slot.start.isoformat(), "visit_type": "phone"}, format="json"
    )
    assert response.status_code == 400 and "visit_type" in response.json()["fields"]


def test_staff_book_for_a_patient(client_for, rita, alice, carol_hours, slot_of):
    response = _book(client_for(rita), carol_hours, slot_of(0), patient=alice.patient.id)
    assert response.status_code == 201
    assert response.json()["patient"] == alice.patient.id


def test_staff_must_name_the_patient(client_for, rita, carol_hours, slot_of):
    response = _book(client_for(rita), carol_hours, slot_of(0))
    assert response.status_code == 400
    assert "patient" in response.json()["fields"]


def test_a_taken_slot_is_409(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    assert _book(client_for(alice), carol_hours, slot).status_code == 201
    response = _book(client_for(bob), carol_hours, slot)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"


def test_a_patient_cannot_be_in_two_places(client_for, alice, carol_hours, dave_hours, slot_of):
    slot = slot_of(0)
    assert _book(client_for(alice), carol_hours, slot).status_code == 201
    response = _book(client_for(alice), dave_hours, slot)
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"


@pytest.mark.parametrize(
    ("days", "wall"),
    [
        (1, time(10, 7)),  # not a slot boundary
        (-1, time(10)),  # the past (a slot time of yesterday)
        (30, time(10)),  # beyond the horizon
    ],
)
def test_not_a_free_future_slot_is_invalid_slot(client_for, alice, carol_hours, days, wall):
    start = clinic_at(wall, days=days)
    response = client_for(alice).post(
        BOOK, {"doctor": carol_hours.doctor.id, "start": start.isoformat()}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_slot"


def test_time_off_slot_is_invalid_slot(client_for, alice, rita, carol_hours, slot_of):
    slot = slot_of(0)
    services.exception_create(actor=rita, doctor=carol_hours.doctor, start=slot.start, end=slot.end)
    response = _book(client_for(alice), carol_hours, slot)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_slot"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "doctor"),
        ({"doctor": "x", "start": "2027-01-01T10:00:00+00:00"}, "doctor"),
        ({"doctor": 1}, "start"),
        ({"doctor": 1, "start": "tomorrow"}, "start"),
        ({"doctor": 1, "start": "2027-01-01T10:00:00"}, "start"),
        ({"doctor": 999999, "start": "2027-01-01T10:00:00+00:00"}, "doctor"),
        ({"doctor": 1, "start": "2027-01-01T10:00:00+00:00", "reason": "x" * 501}, "reason"),
    ],
)
def test_bad_booking_input_is_400(client_for, alice, carol, body, field):
    response = client_for(alice).post(BOOK, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_unapproved_doctor_is_not_bookable(client_for, alice, clinic):
    pending = factories.DoctorFactory(approved=False)
    response = client_for(alice).post(
        BOOK, {"doctor": pending.doctor.id, "start": "2027-01-01T10:00:00+00:00"}, format="json"
    )
    assert response.status_code == 400
    assert "doctor" in response.json()["fields"]


def test_booking_refusals(client_for, anon, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    assert _book(anon, carol_hours, slot).status_code == 401
    assert _book(client_for(carol_hours), carol_hours, slot).status_code == 403
    # A patient books for themself only.
    assert _book(client_for(alice), carol_hours, slot, patient=bob.patient.id).status_code == 403


def test_minimum_notice_binds_patients_but_staff_may_override(client_for, alice, rita, carol_hours, slot_of):
    set_policy("min_notice_minutes", 3 * 24 * 60)
    slot = slot_of(0)
    response = _book(client_for(alice), carol_hours, slot)
    assert response.status_code == 400
    assert response.json()["code"] == "notice_too_short"
    assert "the minimum notice is 4320 minutes" in response.json()["detail"]
    response = _book(client_for(rita), carol_hours, slot, patient=alice.patient.id)
    assert response.status_code == 201
    entry = AuditLog.objects.get(action="appointment.booked", object_id=str(response.json()["id"]))
    assert entry.details["overrides"] == ["min_notice"]


def test_open_appointment_cap(client_for, alice, rita, carol_hours, slot_of):
    set_policy("max_open_appointments_per_patient", 2)
    client = client_for(alice)
    assert _book(client, carol_hours, slot_of(0)).status_code == 201
    assert _book(client, carol_hours, slot_of(1)).status_code == 201
    response = _book(client, carol_hours, slot_of(2))
    assert response.status_code == 400
    assert response.json()["code"] == "appointment_limit_reached"
    response = _book(client_for(rita), carol_hours, slot_of(2), patient=alice.patient.id)
    assert response.status_code == 201
    entry = AuditLog.objects.get(action="appointment.booked", object_id=str(response.json()["id"]))
    assert entry.details["overrides"] == ["max_open_appointments"]


# --- List and detail -----------------------------------------------------------------


@pytest.fixture
def booked(alice, bob, rita, carol_hours, dave_hours, slot_of):
    """alice with carol (twice) and dave; bob with carol."""
    dave_slot = next(s for s in Slot.objects.filter(doctor=dave_hours.doctor, status="free").order_by("start")[5:])
    return {
        "alice_carol": services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start),
        "alice_carol_2": services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(20).start),
        "alice_dave": services.appointment_book(actor=alice, doctor=dave_hours.doctor, start=dave_slot.start),
        "bob_carol": services.appointment_book(actor=bob, doctor=carol_hours.doctor, start=slot_of(1).start),
    }


def _ids(response):
    assert response.status_code == 200, response.json()
    return {a["id"] for a in response.json()["results"]}


def test_list_is_scoped_to_the_caller(client_for, alice, bob, carol, dave, rita, ada, booked):
    assert _ids(client_for(alice).get("/api/appointments/list/")) == {
        booked[k].id for k in ("alice_carol", "alice_carol_2", "alice_dave")
    }
    assert _ids(client_for(bob).get("/api/appointments/list/")) == {booked["bob_carol"].id}
    assert _ids(client_for(carol).get("/api/appointments/list/")) == {
        booked[k].id for k in ("alice_carol", "alice_carol_2", "bob_carol")
    }
    assert _ids(client_for(dave).get("/api/appointments/list/")) == {booked["alice_dave"].id}
    everything = {a.id for a in booked.values()}
    assert _ids(client_for(rita).get("/api/appointments/list/")) == everything
    assert _ids(client_for(ada).get("/api/appointments/list/")) == everything


def test_list_filters(client_for, alice, carol, rita, booked):
    client = client_for(rita)
    assert _ids(client.get("/api/appointments/list/", {"doctor": carol.doctor.id})) == {
        booked[k].id for k in ("alice_carol", "alice_carol_2", "bob_carol")
    }
    day = clinic_date(booked["alice_carol_2"].start).isoformat()
    assert booked["alice_carol_2"].id in _ids(client.get("/api/appointments/list/", {"date": day}))
    assert booked["alice_carol"].id not in _ids(client.get("/api/appointments/list/", {"date": day}))
    services.appointment_cancel(actor=alice, appointment=booked["alice_dave"])
    assert _ids(client.get("/api/appointments/list/", {"status": "cancelled"})) == {booked["alice_dave"].id}
    page = client.get("/api/appointments/list/", {"page_size": 2}).json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]


@pytest.mark.parametrize("query", [{"status": "lost"}, {"date": "soon"}, {"doctor": "x"}])
def test_list_bad_filter_is_400(client_for, alice, query):
    response = client_for(alice).get("/api/appointments/list/", query)
    assert response.status_code == 400
    assert set(query) <= set(response.json()["fields"])


def test_list_needs_a_token(anon):
    assert anon.get("/api/appointments/list/").status_code == 401


def test_detail_for_its_people_only(client_for, anon, alice, bob, carol, dave, rita, ada, booked):
    url = f"/api/appointments/{booked['alice_carol'].id}/"
    for user in (alice, carol, rita, ada):
        assert client_for(user).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 404
    assert client_for(dave).get(url).status_code == 404
    assert anon.get(url).status_code == 401
    assert client_for(ada).get("/api/appointments/999999/").status_code == 404


# --- Update (move) -------------------------------------------------------------------


def _update(client, appointment, body):
    return client.put(f"/api/appointments/{appointment.id}/update/", body, format="json")


def test_patient_moves_an_appointment(client_for, alice, carol_hours, slot_of):
    old, new = slot_of(0), slot_of(3)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=old.start)
    response = _update(client_for(alice), appointment, {"start": new.start.isoformat(), "reason": "Follow-up"})
    assert response.status_code == 200, response.json()
    assert response.json()["start"] == clinic_iso(new.start) and response.json()["reason"] == "Follow-up"
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (SlotStatus.FREE, SlotStatus.BOOKED)
    names = list(
        Event.objects.filter(topic=f"doctor.{carol_hours.doctor.id}.availability").values_list("name", flat=True)
    )
    assert names[-2:] == ["slot.released", "slot.booked"]


def test_a_move_to_a_taken_slot_is_409_and_the_old_booking_stands(client_for, alice, bob, carol_hours, slot_of):
    old, taken = slot_of(0), slot_of(1)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=old.start)
    services.appointment_book(actor=bob, doctor=carol_hours.doctor, start=taken.start)
    response = _update(client_for(alice), appointment, {"start": taken.start.isoformat(), "reason": "changed"})
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    appointment.refresh_from_db()
    old.refresh_from_db()
    assert appointment.start == old.start and appointment.reason == "" and old.status == SlotStatus.BOOKED


def test_move_to_no_slot_is_invalid_slot(client_for, alice, carol_hours, slot_of):
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    response = _update(client_for(alice), appointment, {"start": (slot_of(0).start + timedelta(minutes=7)).isoformat()})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_slot"


def test_reschedule_notice_binds_patients_but_staff_may_override(client_for, alice, rita, carol_hours, slot_of):
    set_policy("patient_reschedule_notice_minutes", 5 * 24 * 60)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    response = _update(client_for(alice), appointment, {"start": slot_of(1).start.isoformat()})
    assert response.status_code == 400
    assert response.json()["code"] == "notice_too_short"
    assert _update(client_for(rita), appointment, {"start": slot_of(1).start.isoformat()}).status_code == 200
    entry = AuditLog.objects.filter(action="appointment.rescheduled").latest("id")
    assert entry.details["overrides"] == ["reschedule_notice"]


@pytest.mark.parametrize(("body", "field"), [({}, "non_field_errors"), ({"start": "later"}, "start")])
def test_bad_update_is_400(client_for, alice, carol_hours, slot_of, body, field):
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    response = _update(client_for(alice), appointment, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_update_refusals(client_for, anon, alice, bob, carol_hours, slot_of):
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    body = {"reason": "x"}
    assert _update(anon, appointment, body).status_code == 401
    assert _update(client_for(carol_hours), appointment, body).status_code == 403
    assert _update(client_for(bob), appointment, body).status_code == 404


# --- Cancel --------------------------------------------------------------------------


def test_cancel_frees_the_slot_at_once(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot.start)
    response = client_for(alice).delete(f"/api/appointments/{appointment.id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    slot.refresh_from_db()
    assert slot.status == SlotStatus.FREE
    assert Event.objects.filter(name="slot.released").exists()
    assert _book(client_for(bob), carol_hours, slot).status_code == 201


def test_cancel_by_its_doctor_and_staff(client_for, alice, rita, carol_hours, slot_of):
    first = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    second = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(1).start)
    assert client_for(carol_hours).delete(f"/api/appointments/{first.id}/cancel/").status_code == 200
    assert client_for(rita).delete(f"/api/appointments/{second.id}/cancel/").status_code == 200


def test_cancel_twice_is_invalid_transition(client_for, alice, carol_hours, slot_of):
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    client = client_for(alice)
    client.delete(f"/api/appointments/{appointment.id}/cancel/")
    response = client.delete(f"/api/appointments/{appointment.id}/cancel/")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


def test_cancel_notice_binds_patients(client_for, alice, rita, carol_hours, slot_of):
    set_policy("patient_cancel_notice_minutes", 5 * 24 * 60)
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    response = client_for(alice).delete(f"/api/appointments/{appointment.id}/cancel/")
    assert response.status_code == 400
    assert response.json()["code"] == "notice_too_short"
    assert client_for(rita).delete(f"/api/appointments/{appointment.id}/cancel/").status_code == 200
    assert AuditLog.objects.get(action="appointment.cancelled").details["overrides"] == ["cancel_notice"]


def test_with_no_notice_a_patient_cannot_cancel_once_the_appointment_has_started(
    client_for, alice, rita, carol_hours, slot_of
):
    # Default notice 0 means "until the start", as for moving: after it, the patient's way
    # out is a no-show, not a cancellation. Staff may still cancel (audited override).
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    url = f"/api/appointments/{appointment.id}/cancel/"
    with time_machine.travel(appointment.start + timedelta(minutes=1)):
        response = client_for(alice).delete(url)
        assert response.status_code == 400
        assert response.json()["code"] == "notice_too_short"
        moved = client_for(alice).put(
            f"/api/appointments/{appointment.id}/update/", {"start": slot_of(1).start.isoformat()}, format="json"
        )
        assert moved.json()["code"] == "notice_too_short"
        assert client_for(rita).delete(url).status_code == 200
    assert AuditLog.objects.get(action="appointment.cancelled").details["overrides"] == ["cancel_notice"]


def test_cancel_refusals(client_for, anon, alice, bob, dave, carol_hours, slot_of):
    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    url = f"/api/appointments/{appointment.id}/cancel/"
    assert anon.delete(url).status_code == 401
    assert client_for(bob).delete(url).status_code == 404
    assert client_for(dave).delete(url).status_code == 404
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


@pytest.mark.parametrize("count", [1, 6])
def test_list_query_count_is_fixed(client_for, rita, alice, carol_hours, slot_of, django_assert_num_queries, count):
    for index in range(count):
        services.appointment_book(
            actor=rita, doctor=carol_hours.doctor, start=slot_of(index).start, patient=alice.patient
        )
    client = client_for(rita)
    client.get("/api/appointments/list/")  # warm the clinic-settings cache
    # token + user, the count, the page.
    with django_assert_num_queries(3):
        response = client.get("/api/appointments/list/")
    assert response.json()["count"] == count


def test_a_booking_request_makes_a_fixed_number_of_queries(
    client_for, alice, carol_hours, slot_of, settings, django_assert_num_queries, django_capture_on_commit_callbacks
):
    # Only the transaction is in the request: the relay sends the event (EVENT_RELAY=listen,
    # production's default) and the worker makes the notifications; after commit the
    # request only queues that task (docs/benchmarks.md, "Realtime at the floor").
    settings.EVENT_RELAY = "listen"
    client = client_for(alice)
    client.get("/api/users/me/")  # warm the clinic-settings cache
    with django_assert_num_queries(17), django_capture_on_commit_callbacks() as after_commit:
        response = _book(client, carol_hours, slot_of(0))
    assert response.status_code == 201, response.json()
    # After commit, scheduling announces the change (notifications queues its task) and
    # the metrics count it; no event is sent from the request.
    assert len(after_commit) == 2
    assert not any("send_event" in repr(callback) for callback in after_commit)


def test_a_notification_task_run_twice_notifies_once(alice, carol_hours, slot_of):
    from notifications.models import Notification
    from notifications.tasks import notify_appointment

    appointment = services.appointment_book(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    notify_appointment(appointment.pk, "booked")
    made = Notification.objects.filter(appointment=appointment).count()
    notify_appointment(appointment.pk, "booked")
    assert made > 0 and Notification.objects.filter(appointment=appointment).count() == made
