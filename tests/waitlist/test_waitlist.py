"""The waitlist (contract §11): joining, offers of freed slots, accepting, declining, expiry."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditLog
from clinic.clock import clinic_timezone
from notifications.models import Notification
from notifications.services import preference_update
from realtime.models import Event
from scheduling import services as scheduling
from scheduling.models import Appointment, Hold, HoldStatus
from scheduling.serializers import clinic_iso
from tests import factories
from tests.clock import clinic_date
from tests.scheduling.helpers import set_policy
from tests.waitlist.conftest import window
from waitlist import services, tasks
from waitlist.models import Offer, OfferStatus, WaitlistEntry

pytestmark = pytest.mark.django_db

WAITLIST = "/api/waitlist/"


@pytest.fixture
def booked(bob, carol_hours, slot_of):
    """Carol's first slot from tomorrow, booked by bob: what the others wait for."""
    slot = slot_of(0)
    appointment = scheduling.appointment_book(actor=bob, doctor=carol_hours.doctor, start=slot.start)
    return slot, appointment


def _cancel(appointment, actor, capture):
    with capture(execute=True):
        scheduling.appointment_cancel(actor=actor, appointment=appointment)


def _entry(body) -> WaitlistEntry:
    return WaitlistEntry.objects.get(pk=body["id"])


# --- Joining -----------------------------------------------------------------------------


def test_a_patient_joins_a_doctors_waitlist(client_for, alice, booked, django_capture_on_commit_callbacks):
    slot, _ = booked
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(WAITLIST, window(slot), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "waiting" and body["offer"] is None
    assert (body["doctor"], body["patient"]) == (slot.doctor_id, alice.patient.id)
    assert body["from"] == body["to"] == clinic_date(slot.start).isoformat()
    assert body["earliest_time"] == f"{slot.start.astimezone(clinic_timezone()):%H:%M}"
    assert AuditLog.objects.filter(action="waitlist_entry.created", object_id=str(body["id"])).exists()


def test_staff_add_a_patient_and_must_name_one(client_for, rita, alice, booked):
    slot, _ = booked
    assert client_for(rita).post(WAITLIST, window(slot), format="json").status_code == 400
    response = client_for(rita).post(WAITLIST, {**window(slot), "patient": alice.patient.id}, format="json")
    assert response.status_code == 201 and response.json()["patient"] == alice.patient.id


def test_outsiders_are_refused(anon, client_for, carol, booked):
    slot, _ = booked
    assert anon.post(WAITLIST, window(slot), format="json").status_code == 401
    assert anon.get(WAITLIST).status_code == 401
    assert client_for(carol).post(WAITLIST, window(slot), format="json").status_code == 403


def test_one_open_entry_per_patient_and_doctor(client_for, alice, booked, join):
    slot, _ = booked
    join(alice, slot)
    response = client_for(alice).post(WAITLIST, window(slot), format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_waiting"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "2000-01-01"}, "from"),
        ({"to": "2000-01-01"}, "to"),
        ({"earliest_time": "12:00", "latest_time": "11:00"}, "latest_time"),
    ],
)
def test_bad_windows_are_400(client_for, alice, booked, change, field):
    slot, _ = booked
    response = client_for(alice).post(WAITLIST, {**window(slot), **change}, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]


def test_beyond_the_horizon_is_400(client_for, alice, booked):
    slot, _ = booked
    far = (timezone.now() + timedelta(days=60)).date().isoformat()
    response = client_for(alice).post(WAITLIST, {**window(slot), "to": far}, format="json")
    assert response.status_code == 400 and "to" in response.json()["fields"]


def test_each_sees_their_own_entries_and_the_desk_all(client_for, alice, bob, rita, carol, booked, join):
    slot, _ = booked
    carlos = factories.PatientFactory()
    mine = join(alice, slot)
    join(carlos, slot)
    assert [e["id"] for e in client_for(alice).get(WAITLIST).json()["results"]] == [mine["id"]]
    assert client_for(bob).get(WAITLIST).json()["count"] == 0
    assert client_for(carol).get(WAITLIST).json()["count"] == 0
    assert client_for(rita).get(WAITLIST).json()["count"] == 2
    assert client_for(bob).delete(f"{WAITLIST}{mine['id']}/").status_code == 404


# --- Offers ------------------------------------------------------------------------------


def test_a_freed_slot_is_offered_to_the_earliest_entry(
    client_for, alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    carlos = factories.PatientFactory()
    first = join(alice, slot)
    second = join(carlos, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)

    body = client_for(alice).get(WAITLIST).json()["results"][0]
    assert body["id"] == first["id"] and body["status"] == "offered"
    hold = Hold.objects.get(patient=alice.patient, status=HoldStatus.ACTIVE)
    assert body["offer"] == {
        "hold": hold.pk,
        "start": clinic_iso(slot.start),
        "end": clinic_iso(slot.end),
        "expires_at": clinic_iso(hold.expires_at),
    }
    assert hold.expires_at - hold.created_at == timedelta(minutes=15)
    assert _entry(second).status == "waiting"
    # The slot is taken for everyone but alice.
    attempt = client_for(carlos).post(
        "/api/appointments/book/", {"doctor": slot.doctor_id, "start": slot.start.isoformat()}, format="json"
    )
    assert attempt.status_code == 409
    names = list(Event.objects.filter(topic=f"doctor.{slot.doctor_id}.availability").values_list("name", flat=True))
    assert names[-2:] == ["slot.released", "slot.held"]


def test_the_offer_reaches_the_patient_live_and_by_their_channels(
    alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    preference_update(actor=alice, user=alice, changes={"sms": False})
    join(alice, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    offers = Notification.objects.filter(user=alice, kind="waitlist_offer")
    assert sorted(offers.values_list("channel", flat=True)) == ["email", "in_app"]
    live = Event.objects.get(topic=f"user.{alice.pk}.notifications", name="notification.created")
    assert live.data["kind"] == "waitlist_offer" and "held for you" in live.data["body"]


@pytest.mark.django_db(transaction=True)
def test_the_offer_goes_out_by_sms_and_email_through_the_providers(standin, alice_reachable, bob, booked, join):
    slot, appointment = booked
    join(alice_reachable, slot)
    scheduling.appointment_cancel(actor=bob, appointment=appointment)
    (sms,) = [r.form() for r in standin.sends("sms") if r.form()["To"] == [alice_reachable.phone]]
    assert "held for you" in sms["Body"][0]
    emails = [r.json() for r in standin.sends("email") if alice_reachable.email in r.body.decode()]
    assert [e["subject"] for e in emails] == ["A slot you are waiting for is free"]
    assert Notification.objects.filter(user=alice_reachable, kind="waitlist_offer", status="sent").count() == 3


def test_only_slots_inside_the_window_are_offered(
    alice, bob, booked, slot_of, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    wanted = slot_of(2)  # free, later that day; the join's own pass is not run here
    join(alice, wanted)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    assert Hold.objects.get(patient=alice.patient, status=HoldStatus.ACTIVE).start == wanted.start
    assert not Hold.objects.filter(start=slot.start).exists()


def test_joining_while_a_matching_slot_is_free_offers_it_at_once(
    alice, carol_hours, slot_of, join, django_capture_on_commit_callbacks
):
    slot = slot_of(0)
    with django_capture_on_commit_callbacks(execute=True):
        entry = join(alice, slot)
    assert _entry(entry).status == "offered"
    assert Hold.objects.get(patient=alice.patient).start == slot.start


def test_accepting_books_the_slot(client_for, alice, bob, booked, join, django_capture_on_commit_callbacks):
    slot, appointment = booked
    entry = join(alice, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    response = client_for(alice).post(f"{WAITLIST}{entry['id']}/accept/")
    assert response.status_code == 201, response.json()
    booking = Appointment.objects.get(pk=response.json()["id"])
    assert (booking.patient_id, booking.start, booking.status) == (alice.patient.id, slot.start, "booked")
    stored = _entry(entry)
    assert (stored.status, stored.appointment_id) == ("booked", booking.pk)
    assert Offer.objects.get(entry=stored).status == OfferStatus.ACCEPTED
    assert client_for(alice).get(WAITLIST).json()["results"][0]["appointment"] == booking.pk


def test_only_its_patient_accepts(client_for, alice, bob, rita, booked, join, django_capture_on_commit_callbacks):
    slot, appointment = booked
    entry = join(alice, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    assert client_for(bob).post(f"{WAITLIST}{entry['id']}/accept/").status_code == 404
    assert client_for(rita).post(f"{WAITLIST}{entry['id']}/accept/").status_code == 403


def test_accepting_after_expiry_is_409_and_the_slot_passes_on(
    client_for, alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    carlos = factories.PatientFactory()
    entry = join(alice, slot)
    later = join(carlos, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    expires_at = Hold.objects.get(patient=alice.patient).expires_at
    with time_machine.travel(expires_at, tick=False):
        listed = client_for(alice).get(WAITLIST).json()["results"][0]
        assert (listed["status"], listed["offer"]) == ("expired", None)
        response = client_for(alice).post(f"{WAITLIST}{entry['id']}/accept/")
        assert response.status_code == 409 and response.json()["code"] == "offer_expired"
        with django_capture_on_commit_callbacks(execute=True):
            scheduling.holds_expire_due()
    assert _entry(entry).status == "expired"
    assert Offer.objects.get(entry_id=entry["id"]).status == OfferStatus.EXPIRED
    assert _entry(later).status == "offered"
    assert Hold.objects.get(patient=carlos.patient, status=HoldStatus.ACTIVE).start == slot.start


def test_declining_passes_the_slot_on_and_keeps_the_place(
    client_for, alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    carlos = factories.PatientFactory()
    entry = join(alice, slot)
    later = join(carlos, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(f"{WAITLIST}{entry['id']}/decline/")
    assert response.status_code == 200 and response.json()["status"] == "waiting"
    assert _entry(later).status == "offered"
    # The declined slot is never offered to alice again, even when it frees up once more.
    with django_capture_on_commit_callbacks(execute=True):
        client_for(carlos).post(f"{WAITLIST}{later['id']}/decline/")
    assert _entry(entry).status == "waiting"
    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists()


def test_releasing_the_offers_hold_is_a_decline(
    client_for, alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    entry = join(alice, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    hold = Hold.objects.get(patient=alice.patient)
    assert client_for(alice).delete(f"/api/holds/{hold.pk}/").status_code == 204
    assert _entry(entry).status == "waiting"
    assert Offer.objects.get(hold=hold).status == OfferStatus.DECLINED


def test_leaving_while_offered_passes_the_slot_on(
    client_for, alice, bob, booked, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    carlos = factories.PatientFactory()
    entry = join(alice, slot)
    later = join(carlos, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(alice).delete(f"{WAITLIST}{entry['id']}/").status_code == 204
    assert _entry(entry).status == "cancelled"
    assert _entry(later).status == "offered"
    assert AuditLog.objects.filter(action="waitlist_entry.cancelled", object_id=str(entry["id"])).exists()


def test_a_patient_holding_a_slot_is_skipped_for_the_next(
    client_for, alice, bob, booked, slot_of, join, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    carlos = factories.PatientFactory()
    entry = join(alice, slot)
    later = join(carlos, slot)
    own = client_for(alice).post(
        "/api/holds/", {"doctor": slot.doctor_id, "start": slot_of(3).start.isoformat()}, format="json"
    )
    assert own.status_code == 201
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    assert _entry(entry).status == "waiting" and _entry(later).status == "offered"
    assert Hold.objects.get(pk=own.json()["id"]).status == HoldStatus.ACTIVE


def test_entries_whose_days_have_passed_expire(alice, booked, join):
    slot, _ = booked
    entry = join(alice, slot)
    with time_machine.travel(slot.end + timedelta(days=1), tick=False):
        tasks.sweep()
    assert _entry(entry).status == "expired"


def test_offer_minutes_is_a_clinic_setting(alice, bob, booked, join, django_capture_on_commit_callbacks):
    set_policy("offer_minutes", 30)
    slot, appointment = booked
    join(alice, slot)
    _cancel(appointment, bob, django_capture_on_commit_callbacks)
    hold = Hold.objects.get(patient=alice.patient)
    assert hold.expires_at - hold.created_at == timedelta(minutes=30)


# --- Lost and repeated work: never lost, never twice --------------------------------------


def test_a_lost_offer_task_is_made_up_by_the_sweep_once(alice, bob, booked, join, monkeypatch):
    slot, appointment = booked
    entry = join(alice, slot)
    # The cancellation commits but its after-commit task never runs (the process died).
    scheduling.appointment_cancel(actor=bob, appointment=appointment)
    assert _entry(entry).status == "waiting"
    assert tasks.sweep() == 1
    assert tasks.sweep() == 0
    assert services.offers_make(doctor_id=slot.doctor_id) == 0
    assert Offer.objects.filter(entry_id=entry["id"]).count() == 1
    assert Notification.objects.filter(user=alice, kind="waitlist_offer", channel="in_app").count() == 1


def test_a_crash_while_offering_leaves_nothing_half_made(alice, bob, booked, join, monkeypatch):
    slot, appointment = booked
    entry = join(alice, slot)
    scheduling.appointment_cancel(actor=bob, appointment=appointment)

    def provider_down(**kwargs):
        raise ConnectionError("the worker died mid-offer")

    monkeypatch.setattr("waitlist.services.user_notify", provider_down)
    with pytest.raises(ConnectionError):
        services.offers_make(doctor_id=slot.doctor_id)
    assert _entry(entry).status == "waiting"
    assert not Hold.objects.filter(status=HoldStatus.ACTIVE).exists() and not Offer.objects.exists()
    monkeypatch.undo()
    assert tasks.sweep() == 1
    assert _entry(entry).status == "offered" and Offer.objects.count() == 1
