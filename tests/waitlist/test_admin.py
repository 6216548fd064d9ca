"""The waitlist in the back office: reception sees the line, adds a patient, takes one off."""

from datetime import date, time

import pytest
from django.test import Client

from audit.models import AdminActionLog, AuditLog
from scheduling import services as scheduling
from scheduling.models import Hold, HoldStatus
from tests.backoffice import admin_login, changelist_action, submit
from tests.waitlist.conftest import window
from waitlist import services
from waitlist.models import EntryStatus, WaitlistEntry

pytestmark = pytest.mark.django_db

ENTRIES = "/admin/waitlist/waitlistentry/"


@pytest.fixture
def booked(bob, carol_hours, slot_of):
    slot = slot_of(0)
    return slot, scheduling.appointment_book(actor=bob, doctor=carol_hours.doctor, start=slot.start)


def _join(actor, patient, slot):
    body = window(slot)
    return services.entry_join(
        actor=actor,
        doctor=slot.doctor,
        patient=patient.patient,
        first_day=date.fromisoformat(body["from"]),
        last_day=date.fromisoformat(body["to"]),
        earliest_time=time.fromisoformat(body["earliest_time"]),
        latest_time=time.fromisoformat(body["latest_time"]),
    )


def test_reception_sees_the_line(rita, alice, booked):
    slot, _ = booked
    _join(rita, alice, slot)
    page = admin_login(rita.email).get(ENTRIES).content.decode()
    assert "Alice Anders" in page and "Waiting" in page


def test_reception_adds_a_patient_through_the_service(rita, alice, booked):
    slot, _ = booked
    body = window(slot)
    response = submit(
        admin_login(rita.email),
        f"{ENTRIES}add/",
        {
            "doctor": slot.doctor_id,
            "patient": alice.patient.pk,
            "first_day": body["from"],
            "last_day": body["to"],
            "earliest_time": body["earliest_time"],
            "latest_time": body["latest_time"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    entry = WaitlistEntry.objects.get(patient=alice.patient)
    assert entry.status == EntryStatus.WAITING and entry.created_by == rita
    assert AuditLog.objects.filter(action="waitlist_entry.created", actor=rita).exists()
    assert AdminActionLog.objects.filter(action="waitlistentry.added", admin=rita).exists()


def test_reception_takes_an_offered_patient_off_and_the_slot_is_freed(
    rita, alice, bob, booked, django_capture_on_commit_callbacks
):
    slot, appointment = booked
    entry = _join(rita, alice, slot)
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.appointment_cancel(actor=bob, appointment=appointment)
    assert Hold.objects.get(patient=alice.patient).status == HoldStatus.ACTIVE
    response = changelist_action(admin_login(rita.email), ENTRIES, "cancel", [entry.pk])
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == EntryStatus.CANCELLED
    assert Hold.objects.get(patient=alice.patient).status == HoldStatus.RELEASED
    assert AdminActionLog.objects.filter(action="waitlistentry.cancel", object_id=str(entry.pk)).exists()


def test_entries_cannot_be_edited_and_doctors_see_nothing(rita, carol, alice, booked):
    slot, _ = booked
    entry = _join(rita, alice, slot)
    page = admin_login(rita.email).get(f"{ENTRIES}{entry.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    doctor = Client()
    doctor.force_login(carol)
    assert doctor.get(ENTRIES).status_code == 302  # to the login page: no back office for doctors
