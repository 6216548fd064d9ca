"""POST /fhir/R4/Appointment books through the very same service as /api/appointments/book/."""

import pytest
from django.db import connection

from audit.models import AuditLog
from realtime.models import Event
from scheduling.models import Appointment, SlotStatus
from tests.concurrency import run_together
from tests.fhir_facade.outcomes import assert_outcome, fhir_json
from tests.scheduling.helpers import free_slots

R4 = "/fhir/R4"


def _resource(slot, patient, **extra):
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.pk}"}],
        "participant": [{"actor": {"reference": f"Patient/{patient.patient.id}"}, "status": "accepted"}],
        **extra,
    }


def _post(client, body):
    return client.post(f"{R4}/Appointment", body, format="json")


@pytest.mark.django_db
def test_a_patient_books_a_slot_like_rest(client_for, alice, carol_hours):
    slot = free_slots(carol_hours)[0]
    response = _post(client_for(alice), _resource(slot, alice, reasonCode=[{"text": "Knee"}]))
    body = fhir_json(response)
    assert response.status_code == 201
    appointment = Appointment.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"/fhir/R4/Appointment/{appointment.pk}")
    assert (appointment.patient_id, appointment.doctor_id, appointment.start) == (
        alice.patient.id,
        carol_hours.doctor.id,
        slot.start,
    )
    assert appointment.reason == "Knee" and body["status"] == "booked"
    slot.refresh_from_db()
    assert slot.status == SlotStatus.BOOKED
    # The same audit and the same event as a REST booking.
    assert AuditLog.objects.filter(action="appointment.booked", object_id=str(appointment.pk)).exists()
    assert Event.objects.filter(name="slot.booked", topic=f"doctor.{carol_hours.doctor.id}.availability").exists()


@pytest.mark.django_db
def test_a_video_visit_is_booked_through_appointment_type(client_for, alice, carol_hours):
    slot = free_slots(carol_hours)[0]
    video = {"coding": [{"system": "https://clinic.example/fhir/id/visit-type", "code": "video"}]}
    response = _post(client_for(alice), _resource(slot, alice, appointmentType=video))
    body = fhir_json(response)
    assert response.status_code == 201
    assert Appointment.objects.get(pk=body["id"]).visit_type == "video"
    assert body["appointmentType"]["coding"][0] == {
        "system": "https://clinic.example/fhir/id/visit-type",
        "code": "video",
        "display": "Video",
    }
    plain = _post(client_for(alice), _resource(free_slots(carol_hours)[1], alice))
    assert Appointment.objects.get(pk=plain.json()["id"]).visit_type == "in_person"


@pytest.mark.django_db
def test_an_unknown_visit_type_is_a_400_outcome(client_for, alice, carol_hours):
    phone = {"coding": [{"system": "https://clinic.example/fhir/id/visit-type", "code": "phone"}]}
    response = _post(client_for(alice), _resource(free_slots(carol_hours)[0], alice, appointmentType=phone))
    assert_outcome(response, 400, "invalid", expression="Appointment.appointmentType")


@pytest.mark.django_db
def test_staff_book_for_the_participant_patient(client_for, rita, alice, carol_hours):
    slot = free_slots(carol_hours)[0]
    body = _resource(slot, alice)
    body["participant"].append({"actor": {"reference": f"Practitioner/{carol_hours.doctor.id}"}, "status": "accepted"})
    response = _post(client_for(rita), body)
    assert response.status_code == 201, response.content
    assert Appointment.objects.get(pk=response.json()["id"]).patient_id == alice.patient.id


@pytest.mark.django_db
def test_a_taken_slot_is_a_409_outcome(client_for, alice, bob, carol_hours):
    slot = free_slots(carol_hours)[0]
    assert _post(client_for(alice), _resource(slot, alice)).status_code == 201
    assert_outcome(_post(client_for(bob), _resource(slot, bob)), 409, "slot_unavailable")


@pytest.mark.django_db
def test_a_patient_books_only_for_themself(client_for, alice, bob, carol_hours):
    slot = free_slots(carol_hours)[0]
    assert_outcome(_post(client_for(alice), _resource(slot, bob)), 403, "permission_denied")
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_doctors_may_not_book(client_for, carol_hours, alice):
    slot = free_slots(carol_hours)[0]
    assert_outcome(_post(client_for(carol_hours), _resource(slot, alice)), 403, "permission_denied")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"resourceType": "Patient"}, None),
        ({"status": "cancelled"}, "Appointment.status"),
        ({"slot": []}, "Appointment.slot"),
        ({"slot": [{"reference": "Slot/abc"}]}, "Appointment.slot"),
        ({"participant": [{"actor": {"reference": "Practitioner/1"}, "status": "accepted"}]}, None),
        ({"participant": []}, None),
        ({"start": "2020-01-01T09:00:00+00:00"}, "Appointment.start"),
        ({"reasonCode": [{"text": "x" * 501}]}, "Appointment.reasonCode"),
        ({"colour": "red"}, "Appointment.colour"),
    ],
)
def test_an_invalid_resource_is_a_400_outcome(client_for, alice, carol_hours, change, expression):
    slot = free_slots(carol_hours)[0]
    response = _post(client_for(alice), {**_resource(slot, alice), **change})
    assert_outcome(response, 400, "invalid", expression=expression)
    assert not Appointment.objects.exists()


@pytest.mark.django_db
def test_another_doctors_practitioner_is_refused(client_for, alice, carol_hours, dave):
    body = _resource(free_slots(carol_hours)[0], alice)
    body["participant"].append({"actor": {"reference": f"Practitioner/{dave.doctor.id}"}, "status": "accepted"})
    assert_outcome(_post(client_for(alice), body), 400, "invalid", expression="Appointment.participant")


@pytest.mark.django_db
def test_an_unknown_slot_is_404(client_for, alice, carol_hours):
    body = {**_resource(free_slots(carol_hours)[0], alice), "slot": [{"reference": "Slot/999999"}]}
    assert_outcome(_post(client_for(alice), body), 404, "not_found")


@pytest.mark.django_db
def test_a_body_that_is_not_json_is_a_400_outcome(client_for, alice):
    response = client_for(alice).post(f"{R4}/Appointment", "{nope", content_type="application/fhir+json")
    assert_outcome(response, 400, "parse_error")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="locking is tested on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_fhir_and_rest_race_for_one_slot_exactly_one_wins(client_for, alice, bob, carol_hours):
    fhir_client, rest_client = client_for(alice), client_for(bob)
    for slot in free_slots(carol_hours)[:6:2]:

        def book(index: int, slot=slot) -> int:
            if index == 0:
                return _post(fhir_client, _resource(slot, alice)).status_code
            body = {"doctor": carol_hours.doctor.id, "start": slot.start.isoformat()}
            return rest_client.post("/api/appointments/book/", body, format="json").status_code

        statuses = run_together(2, book)
        assert sorted(statuses) == [201, 409], statuses
        assert Appointment.objects.filter(slot=slot, status="booked").count() == 1
