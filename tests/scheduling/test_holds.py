"""Holds (contract §11): keeping a free slot for one patient for a few minutes."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import AdminActionLog, AuditLog
from realtime.models import Event
from scheduling import services
from scheduling.models import Hold, HoldStatus, Slot, SlotStatus
from scheduling.serializers import clinic_iso
from tests.backoffice import admin_login, changelist_action
from tests.clock import clinic_date
from tests.fhir_facade.outcomes import assert_outcome, fhir_json
from tests.fhir_facade.test_booking import _post, _resource
from tests.scheduling.helpers import set_policy

pytestmark = pytest.mark.django_db

HOLDS = "/api/holds/"
BOOK = "/api/appointments/book/"


def _hold(client, doctor, slot, **extra):
    return client.post(HOLDS, {"doctor": doctor.doctor.id, "start": slot.start.isoformat(), **extra}, format="json")


def _book(client, doctor, slot, **extra):
    return client.post(BOOK, {"doctor": doctor.doctor.id, "start": slot.start.isoformat(), **extra}, format="json")


def _available(client, doctor, slot) -> bool:
    day = clinic_date(slot.start).isoformat()
    body = client.get(f"/api/doctors/{doctor.doctor.id}/availability/?from={day}&to={day}").json()
    (match,) = [s for s in body["slots"] if s["start"] == clinic_iso(slot.start)]
    return match["available"]


def _events(doctor) -> list[str]:
    return list(
        Event.objects.filter(topic=f"doctor.{doctor.doctor.id}.availability")
        .order_by("id")
        .values_list("name", flat=True)
    )


# --- Holding -----------------------------------------------------------------------------


def test_a_patient_holds_a_free_slot(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    with time_machine.travel(timezone.now(), tick=False):
        response = _hold(client_for(alice), carol_hours, slot)
        now = timezone.now()
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "doctor", "patient", "start", "end", "expires_at"}
    assert (body["doctor"], body["patient"]) == (carol_hours.doctor.id, alice.patient.id)
    assert body["start"] == clinic_iso(slot.start) and body["end"] == clinic_iso(slot.end)
    assert body["expires_at"] == clinic_iso(now + timedelta(minutes=5))
    assert _events(carol_hours)[-1] == "slot.held"
    event = Event.objects.filter(name="slot.held").last()
    assert event.data == {"doctor": carol_hours.doctor.id, "start": body["start"], "end": body["end"]}
    assert AuditLog.objects.filter(action="hold.created", object_id=str(body["id"])).exists()


def test_hold_minutes_is_a_clinic_setting(client_for, alice, carol_hours, slot_of):
    set_policy("hold_minutes", 2)
    with time_machine.travel(timezone.now(), tick=False):
        body = _hold(client_for(alice), carol_hours, slot_of(0)).json()
        assert body["expires_at"] == clinic_iso(timezone.now() + timedelta(minutes=2))


def test_staff_hold_for_a_patient_and_must_name_one(client_for, rita, alice, carol_hours, slot_of):
    assert _hold(client_for(rita), carol_hours, slot_of(0)).json()["fields"].keys() == {"patient"}
    response = _hold(client_for(rita), carol_hours, slot_of(0), patient=alice.patient.id)
    assert response.status_code == 201 and response.json()["patient"] == alice.patient.id


def test_outsiders_are_refused(anon, client_for, carol, carol_hours, slot_of):
    assert _hold(anon, carol_hours, slot_of(0)).status_code == 401
    assert _hold(client_for(carol), carol_hours, slot_of(0)).status_code == 403
    assert anon.get(HOLDS).status_code == 401


def test_a_held_slot_is_taken_for_everyone_but_its_holder(client_for, alice, bob, rita, carol_hours, slot_of):
    slot = slot_of(0)
    assert _hold(client_for(alice), carol_hours, slot).status_code == 201
    assert _available(client_for(alice), carol_hours, slot) is True
    assert _available(client_for(bob), carol_hours, slot) is False
    assert _available(client_for(rita), carol_hours, slot) is False
    for attempt in (_hold(client_for(bob), carol_hours, slot), _book(client_for(bob), carol_hours, slot)):
        assert attempt.status_code == 409 and attempt.json()["code"] == "slot_unavailable"
    staff_booking = _book(client_for(rita), carol_hours, slot, patient=bob.patient.id)
    assert staff_booking.status_code == 409


def test_booking_with_the_hold_turns_it_into_the_appointment(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    response = _book(client_for(alice), carol_hours, slot, hold=hold["id"])
    assert response.status_code == 201, response.json()
    stored = Hold.objects.get(pk=hold["id"])
    assert stored.status == HoldStatus.BOOKED and stored.appointment_id == response.json()["id"]
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    assert _events(carol_hours)[-2:] == ["slot.held", "slot.booked"]


def test_the_holder_may_book_without_naming_the_hold(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    _hold(client_for(alice), carol_hours, slot)
    assert _book(client_for(alice), carol_hours, slot).status_code == 201
    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()


def test_someone_elses_hold_id_is_refused(client_for, alice, bob, carol_hours, slot_of):
    hold = _hold(client_for(alice), carol_hours, slot_of(0)).json()
    response = _book(client_for(bob), carol_hours, slot_of(0), hold=hold["id"])
    assert response.status_code == 400 and "hold" in response.json()["fields"]


def test_a_new_hold_replaces_the_old_one(client_for, alice, bob, carol_hours, slot_of):
    first, second = slot_of(0), slot_of(1)
    old = _hold(client_for(alice), carol_hours, first).json()
    assert _hold(client_for(alice), carol_hours, second).status_code == 201
    assert Hold.objects.get(pk=old["id"]).status == HoldStatus.RELEASED
    assert _events(carol_hours)[-3:] == ["slot.held", "slot.released", "slot.held"]
    assert _available(client_for(bob), carol_hours, first) is True
    assert Hold.objects.filter(patient=alice.patient, status=HoldStatus.ACTIVE).count() == 1


def test_holding_the_same_slot_again_renews_it(client_for, alice, carol_hours, slot_of):
    slot = slot_of(0)
    old = _hold(client_for(alice), carol_hours, slot).json()
    new = _hold(client_for(alice), carol_hours, slot).json()
    assert new["id"] != old["id"] and new["expires_at"] >= old["expires_at"]
    assert "slot.released" not in _events(carol_hours)


def test_booked_and_blocked_slots_cannot_be_held(client_for, alice, bob, ada, carol_hours, slot_of):
    booked, off = slot_of(0), slot_of(1)
    services.appointment_book(actor=bob, doctor=carol_hours.doctor, start=booked.start)
    services.exception_create(actor=ada, doctor=carol_hours.doctor, start=off.start, end=off.end)
    assert _hold(client_for(alice), carol_hours, booked).json()["code"] == "slot_unavailable"
    assert _hold(client_for(alice), carol_hours, off).json()["code"] == "invalid_slot"


def test_a_patient_cannot_hold_a_time_they_are_booked_elsewhere(client_for, alice, carol_hours, dave_hours, slot_of):
    slot = slot_of(0)
    services.appointment_book(actor=alice, doctor=dave_hours.doctor, start=slot.start)
    assert _hold(client_for(alice), carol_hours, slot).status_code == 409


def test_patients_respect_the_minimum_notice(client_for, alice, carol_hours):
    soon = Slot.objects.filter(doctor=carol_hours.doctor, start__gt=timezone.now()).order_by("start").first()
    set_policy("min_notice_minutes", 7 * 24 * 60)
    response = _hold(client_for(alice), carol_hours, soon)
    assert response.status_code == 400 and response.json()["code"] == "notice_too_short"


def test_a_patient_lists_their_live_hold(client_for, alice, bob, carol_hours, slot_of):
    hold = _hold(client_for(alice), carol_hours, slot_of(0)).json()
    assert [h["id"] for h in client_for(alice).get(HOLDS).json()["results"]] == [hold["id"]]
    assert client_for(bob).get(HOLDS).json()["count"] == 0


# --- Releasing and expiry ----------------------------------------------------------------


def test_releasing_frees_the_slot_at_once(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    assert client_for(bob).delete(f"{HOLDS}{hold['id']}/").status_code == 404
    assert client_for(alice).delete(f"{HOLDS}{hold['id']}/").status_code == 204
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.RELEASED
    assert _events(carol_hours)[-1] == "slot.released"
    assert _book(client_for(bob), carol_hours, slot).status_code == 201
    # Releasing again changes nothing.
    assert client_for(alice).delete(f"{HOLDS}{hold['id']}/").status_code == 204


def test_staff_release_any_hold_and_doctors_none(client_for, alice, rita, carol, carol_hours, slot_of):
    hold = _hold(client_for(alice), carol_hours, slot_of(0)).json()
    assert client_for(carol).delete(f"{HOLDS}{hold['id']}/").status_code == 403
    assert client_for(rita).delete(f"{HOLDS}{hold['id']}/").status_code == 204


def test_a_hold_ends_at_its_second_before_any_sweep(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    expires_at = Hold.objects.get(pk=hold["id"]).expires_at
    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        assert _available(client_for(bob), carol_hours, slot) is False
        assert _book(client_for(bob), carol_hours, slot).status_code == 409
    with time_machine.travel(expires_at, tick=False):
        assert _available(client_for(bob), carol_hours, slot) is True
        assert _book(client_for(bob), carol_hours, slot).status_code == 201
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.EXPIRED


def test_the_sweep_ends_expired_holds_and_says_so(client_for, alice, carol_hours, slot_of):
    hold = _hold(client_for(alice), carol_hours, slot_of(0)).json()
    expires_at = Hold.objects.get(pk=hold["id"]).expires_at
    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        assert services.holds_expire_due() == 0
    with time_machine.travel(expires_at, tick=False):
        assert services.holds_expire_due() == 1
        assert services.holds_expire_due() == 0
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.EXPIRED
    assert _events(carol_hours)[-2:] == ["slot.held", "slot.released"]
    assert AuditLog.objects.filter(action="hold.expired", object_id=str(hold["id"])).exists()


def test_an_expired_hold_can_be_replaced_by_anyone(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    with time_machine.travel(Hold.objects.get(pk=hold["id"]).expires_at, tick=False):
        assert _hold(client_for(bob), carol_hours, slot).status_code == 201
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.EXPIRED


# --- Rules, time off and moves around holds --------------------------------------------


def test_time_off_withdraws_the_hold(client_for, alice, ada, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    services.exception_create(actor=ada, doctor=carol_hours.doctor, start=slot.start, end=slot.end)
    assert Hold.objects.get(pk=hold["id"]).status == HoldStatus.WITHDRAWN
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BLOCKED


def test_removing_the_rule_withdraws_the_hold(client_for, alice, ada, carol_hours, slot_of):
    slot = slot_of(0)
    hold = _hold(client_for(alice), carol_hours, slot).json()
    for rule in carol_hours.doctor.availability_rules.all():
        services.rule_delete(actor=ada, rule=rule)
    stored = Hold.objects.get(pk=hold["id"])
    assert stored.status == HoldStatus.WITHDRAWN and stored.slot_id is None
    assert not Slot.objects.filter(pk=slot.pk).exists()


def test_a_move_onto_a_held_slot_is_409(client_for, alice, bob, carol_hours, slot_of):
    appointment = services.appointment_book(actor=bob, doctor=carol_hours.doctor, start=slot_of(0).start)
    target = slot_of(1)
    _hold(client_for(alice), carol_hours, target)
    response = client_for(bob).put(
        f"/api/appointments/{appointment.id}/update/", {"start": target.start.isoformat()}, format="json"
    )
    assert response.status_code == 409


# --- The database keeps holds honest whatever the code does (PostgreSQL) ----------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="constraints checked on PostgreSQL")


def _raw_hold(slot, patient, **extra):
    return Hold.objects.create(
        slot=slot,
        doctor_id=slot.doctor_id,
        patient=patient,
        start=slot.start,
        end=slot.end,
        expires_at=timezone.now() + timedelta(minutes=5),
        slot_status=SlotStatus.FREE,
        **extra,
    )


@postgres_only
def test_the_database_refuses_a_second_hold_on_a_slot(alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    _raw_hold(slot, alice.patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_hold(slot, bob.patient)


@postgres_only
def test_the_database_refuses_two_holds_of_one_patient(alice, carol_hours, slot_of):
    _raw_hold(slot_of(0), alice.patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_hold(slot_of(1), alice.patient)


@postgres_only
def test_the_database_refuses_booking_blocking_or_deleting_a_held_slot(alice, carol_hours, slot_of):
    slot = slot_of(0)
    _raw_hold(slot, alice.patient)
    for status in (SlotStatus.BOOKED, SlotStatus.BLOCKED):
        with pytest.raises(IntegrityError), transaction.atomic():
            Slot.objects.filter(pk=slot.pk).update(status=status)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).delete()


@postgres_only
def test_the_database_refuses_a_hold_on_a_booked_slot(alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    services.appointment_book(actor=bob, doctor=carol_hours.doctor, start=slot.start)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_hold(slot, alice.patient)


@postgres_only
def test_the_database_refuses_overlapping_holds_of_a_doctor(alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    overlapping = Slot.objects.create(
        doctor=slot.doctor, start=slot.start + timedelta(minutes=10), end=slot.end + timedelta(minutes=10)
    )
    _raw_hold(slot, alice.patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw_hold(overlapping, bob.patient)


# --- The back office -----------------------------------------------------------------------


def test_reception_releases_a_hold_in_the_back_office(rita, alice, carol_hours, slot_of):
    hold = services.hold_create(actor=alice, doctor=carol_hours.doctor, start=slot_of(0).start)
    browser = admin_login(rita.email)
    assert "Alice Anders" in browser.get("/admin/scheduling/hold/").content.decode()
    response = changelist_action(browser, "/admin/scheduling/hold/", "release", [hold.pk])
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.status == HoldStatus.RELEASED
    assert AdminActionLog.objects.filter(action="hold.release", object_id=str(hold.pk), admin=rita).exists()


# --- Series and FHIR see holds as REST does -------------------------------------------------


def test_a_series_over_someone_elses_held_slot_books_nothing(client_for, alice, bob, carol_hours, slot_of):
    # Room for a second weekly occurrence.
    set_policy("booking_horizon_days", 14)
    services.slots_regenerate(doctor=carol_hours.doctor)
    first = slot_of(0)
    _hold(client_for(bob), carol_hours, first)
    body = {"doctor": carol_hours.doctor.id, "start": first.start.isoformat(), "every": "week", "count": 2}
    response = client_for(alice).post("/api/appointments/series/", body, format="json")
    assert response.status_code == 409 and response.json()["conflicts"] == [clinic_iso(first.start)]
    mine = client_for(bob).post("/api/appointments/series/", body, format="json")
    assert mine.status_code == 201, mine.json()
    assert Hold.objects.get(patient=bob.patient).status == HoldStatus.BOOKED


def test_fhir_shows_a_held_slot_busy_to_others_and_refuses_booking_it(client_for, alice, bob, carol_hours, slot_of):
    slot = slot_of(0)
    _hold(client_for(alice), carol_hours, slot)
    assert fhir_json(client_for(bob).get(f"/fhir/R4/Slot/{slot.pk}"))["status"] == "busy"
    assert fhir_json(client_for(alice).get(f"/fhir/R4/Slot/{slot.pk}"))["status"] == "free"
    assert_outcome(_post(client_for(bob), _resource(slot, bob)), 409, "slot_unavailable")
    assert _post(client_for(alice), _resource(slot, alice)).status_code == 201
