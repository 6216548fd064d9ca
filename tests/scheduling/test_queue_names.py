"""Queue payloads name the patient for the doctor, staff and admin; screens get numbers only."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from realtime import topics
from realtime.models import Event
from scheduling import services
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_check_in_names_the_patient_on_the_queue_and_never_on_the_display(client_for, alice, carol, rita):
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = factories.appointment_at(doctor=carol, patient=alice, start=start)
    services.appointment_set_status(actor=rita, appointment=appointment, status="checked_in")

    queue = client_for(carol).get(f"/api/doctors/{carol.doctor.pk}/queue/").json()
    assert [entry["patient_name"] for entry in queue["waiting"]] == ["Alice Anders"]
    event = Event.objects.filter(topic=topics.doctor_queue(carol.doctor.pk)).latest("pk")
    assert event.data["waiting"][0]["patient_name"] == "Alice Anders"
    screen = Event.objects.filter(topic=topics.display_doctor(carol.doctor.pk)).latest("pk")
    assert "Alice" not in json.dumps(screen.data) and "patient" not in json.dumps(screen.data)
    # The appointment itself names its patient for its doctor and for the patient.
    for who in (carol, alice, rita):
        body = client_for(who).get(f"/api/appointments/{appointment.pk}/").json()
        assert body["patient_name"] == "Alice Anders"


def test_listing_appointments_with_names_is_a_fixed_number_of_queries(client_for, carol, django_assert_max_num_queries):
    for hours in range(1, 6):
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
        factories.appointment_at(doctor=carol, patient=factories.PatientFactory(), start=start)
    client = client_for(carol)
    with django_assert_max_num_queries(5):
        assert client.get("/api/appointments/list/").json()["count"] == 5
