"""FHIR reads and searches (contract §13): the same rules as REST, in valid R4 resources."""

from datetime import datetime, timedelta

import pytest

from audit.models import AuditLog
from clinic.clock import clinic_today
from scheduling import services
from tests.fhir_facade.outcomes import assert_outcome, fhir_json
from tests.scheduling.helpers import free_slots

pytestmark = pytest.mark.django_db

R4 = "/fhir/R4"


def _instant(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _book(patient, doctor, index=0):
    slot = free_slots(doctor)[index]
    return services.appointment_book(actor=patient, doctor=doctor.doctor, start=slot.start, reason="Back pain")


# --- metadata ------------------------------------------------------------------------


def test_metadata_needs_no_token_and_lists_every_interaction(anon):
    body = fhir_json(anon.get(f"{R4}/metadata"))
    assert body["resourceType"] == "CapabilityStatement" and body["fhirVersion"] == "4.0.1"
    listed = {r["type"]: {i["code"] for i in r["interaction"]} for r in body["rest"][0]["resource"]}
    assert listed == {
        "Practitioner": {"read"},
        "Schedule": {"read", "search-type"},
        "Slot": {"read", "search-type"},
        "Appointment": {"read", "search-type", "create"},
        "Patient": {"read"},
    }
    slot_params = {p["name"] for r in body["rest"][0]["resource"] if r["type"] == "Slot" for p in r["searchParam"]}
    assert slot_params == {"schedule", "start", "status"}


def test_plain_json_is_served_too(client_for, alice):
    response = client_for(alice).get(f"{R4}/metadata", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")


def test_xml_is_not_acceptable(anon):
    assert_outcome(anon.get(f"{R4}/metadata", HTTP_ACCEPT="application/fhir+xml"), 406, "not_acceptable")


# --- Practitioner, Schedule ------------------------------------------------------------


def test_practitioner_is_the_doctor(client_for, alice, carol):
    body = fhir_json(client_for(alice).get(f"{R4}/Practitioner/{carol.doctor.id}"))
    assert body["id"] == str(carol.doctor.id) and body["active"] is True
    assert body["name"][0]["family"] == "Chen"
    assert body["identifier"][0] == {
        "use": "official",
        "system": "https://clinic.example/fhir/id/doctor",
        "value": str(carol.doctor.id),
    }


def test_an_unapproved_doctor_is_404_for_patients(client_for, alice):
    from tests import factories

    pending = factories.DoctorFactory(approved=False)
    assert_outcome(client_for(alice).get(f"{R4}/Practitioner/{pending.doctor.id}"), 404, "not_found")


def test_schedule_search_by_actor_is_the_doctors_one_schedule(client_for, alice, carol, dave):
    body = fhir_json(client_for(alice).get(f"{R4}/Schedule", {"actor": f"Practitioner/{carol.doctor.id}"}))
    assert body["type"] == "searchset" and body["total"] == 1
    schedule = body["entry"][0]["resource"]
    assert schedule["id"] == str(carol.doctor.id)
    assert schedule["actor"] == [{"reference": f"Practitioner/{carol.doctor.id}", "display": "Carol Chen"}]
    assert body["entry"][0]["fullUrl"].endswith(f"/fhir/R4/Schedule/{carol.doctor.id}")
    every = fhir_json(client_for(alice).get(f"{R4}/Schedule"))
    assert every["total"] == 2
    assert fhir_json(client_for(alice).get(f"{R4}/Schedule/{dave.doctor.id}"))["id"] == str(dave.doctor.id)


def test_schedule_search_is_paged(client_for, alice, carol, dave):
    first = fhir_json(client_for(alice).get(f"{R4}/Schedule", {"_count": 1}))
    assert first["total"] == 2 and len(first["entry"]) == 1
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = fhir_json(client_for(alice).get(following))
    assert len(second["entry"]) == 1 and second["entry"][0]["resource"]["id"] != first["entry"][0]["resource"]["id"]
    assert [link["relation"] for link in second["link"]] == ["self", "previous"]


# --- Slot ------------------------------------------------------------------------------


def test_a_slot_search_for_a_doctor_week_is_exactly_rest_availability(client_for, alice, bob, carol_hours):
    _book(bob, carol_hours, index=3)
    first = clinic_today() + timedelta(days=1)
    last = first + timedelta(days=6)
    rest = client_for(alice).get(
        f"/api/doctors/{carol_hours.doctor.id}/availability/", {"from": first.isoformat(), "to": last.isoformat()}
    )
    assert rest.status_code == 200
    fhir = fhir_json(
        client_for(alice).get(
            f"{R4}/Slot?schedule=Schedule/{carol_hours.doctor.id}"
            f"&start=ge{first.isoformat()}&start=lt{(last + timedelta(days=1)).isoformat()}"
        )
    )
    # The same instants (FHIR writes UTC as `Z`, REST as `+00:00`) and the same availability.
    as_rest = [
        (_instant(e["resource"]["start"]), _instant(e["resource"]["end"]), e["resource"]["status"] == "free")
        for e in fhir["entry"]
    ]
    assert as_rest == [(_instant(s["start"]), _instant(s["end"]), s["available"]) for s in rest.json()["slots"]]
    assert fhir["total"] == len(as_rest) > 7 * 16 - 5
    assert [available for _, _, available in as_rest].count(False) == 1


def test_slot_search_by_status_and_slot_read(client_for, alice, bob, carol_hours):
    taken = _book(bob, carol_hours)
    busy = fhir_json(
        client_for(alice).get(f"{R4}/Slot", {"schedule": f"Schedule/{carol_hours.doctor.id}", "status": "busy"})
    )
    assert [e["resource"]["id"] for e in busy["entry"]] == [str(taken.slot_id)]
    read = fhir_json(client_for(alice).get(f"{R4}/Slot/{taken.slot_id}"))
    assert read["status"] == "busy" and read["schedule"] == {"reference": f"Schedule/{carol_hours.doctor.id}"}


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"schedule": "Schedule/1", "colour": "red"}, "colour"),
        ({"schedule": "Schedule/1", "status:not": "free"}, "status:not"),
        ({"status": "free"}, "schedule"),
        ({"schedule": "Location/1"}, "schedule"),
        ({"schedule": "Schedule/1", "status": "maybe"}, "status"),
        ({"schedule": "Schedule/1", "start": "ge2026-13-45"}, "start"),
        ({"schedule": "Schedule/1", "start": "sa2026-12-01"}, "start"),
        ({"schedule": "Schedule/1", "start": ["ge2026-12-01", "lt2026-12-02", "lt2026-12-03"]}, "start"),
        ({"schedule": "Schedule/1", "start": ["ge2026-12-01", "lt2027-02-01"]}, "start"),
        ({"schedule": "Schedule/1", "_format": "xml"}, "_format"),
    ],
)
def test_slot_search_parameters_are_validated(client_for, alice, query, param):
    assert_outcome(client_for(alice).get(f"{R4}/Slot", query), 400, "invalid", expression=param)


def test_a_read_takes_no_search_parameter(client_for, alice, carol):
    response = client_for(alice).get(f"{R4}/Practitioner/{carol.doctor.id}", {"name": "x"})
    assert_outcome(response, 400, "invalid", expression="name")


# --- Appointment -----------------------------------------------------------------------


def test_appointment_read_is_its_patients_and_audited_like_a_rest_read(client_for, alice, carol_hours):
    appointment = _book(alice, carol_hours)
    body = fhir_json(client_for(alice).get(f"{R4}/Appointment/{appointment.pk}"))
    assert body["status"] == "booked" and body["reasonCode"] == [{"text": "Back pain"}]
    assert body["slot"] == [{"reference": f"Slot/{appointment.slot_id}"}]
    actors = {p["actor"]["reference"] for p in body["participant"]}
    assert actors == {f"Patient/{alice.patient.id}", f"Practitioner/{carol_hours.doctor.id}"}
    assert client_for(alice).get(f"/api/appointments/{appointment.pk}/").status_code == 200
    reads = AuditLog.objects.filter(action="appointment.read", object_id=str(appointment.pk), actor=alice)
    assert reads.count() == 2


def test_another_patients_appointment_is_404(client_for, alice, bob, dave, carol_hours):
    appointment = _book(alice, carol_hours)
    for outsider in (bob, dave):
        assert_outcome(client_for(outsider).get(f"{R4}/Appointment/{appointment.pk}"), 404, "not_found")
    assert not AuditLog.objects.filter(action="appointment.read").exists()


def test_appointment_search_is_scoped_like_the_rest_list(client_for, alice, bob, carol_hours, rita):
    mine = _book(alice, carol_hours, index=0)
    _book(bob, carol_hours, index=2)
    own = fhir_json(client_for(alice).get(f"{R4}/Appointment", {"patient": f"Patient/{alice.patient.id}"}))
    assert [e["resource"]["id"] for e in own["entry"]] == [str(mine.pk)]
    others = fhir_json(client_for(alice).get(f"{R4}/Appointment", {"patient": f"Patient/{bob.patient.id}"}))
    assert others["total"] == 0 and "entry" not in others
    desk = fhir_json(
        client_for(rita).get(
            f"{R4}/Appointment", {"practitioner": f"Practitioner/{carol_hours.doctor.id}", "status": "booked"}
        )
    )
    assert desk["total"] == 2
    services.appointment_cancel(actor=alice, appointment=mine)
    cancelled = fhir_json(client_for(rita).get(f"{R4}/Appointment", {"status": "cancelled"}))
    assert [e["resource"]["status"] for e in cancelled["entry"]] == ["cancelled"]
    day = mine.start.date().isoformat()
    dated = fhir_json(client_for(rita).get(f"{R4}/Appointment", {"date": f"ge{day}", "_count": 1}))
    assert dated["total"] >= 1


# --- Patient ---------------------------------------------------------------------------


def test_patient_read_admits_the_patient_the_desk_and_their_doctor(client_for, alice, bob, carol_hours, dave, rita):
    _book(alice, carol_hours)
    url = f"{R4}/Patient/{alice.patient.id}"
    for reader in (alice, rita, carol_hours):
        body = fhir_json(client_for(reader).get(url))
        assert body["name"][0]["given"] == ["Alice"]
    for outsider in (bob, dave):
        assert_outcome(client_for(outsider).get(url), 404, "not_found")
    assert AuditLog.objects.filter(action="patient.read", object_id=str(alice.patient.id)).count() == 3


# --- Outsiders and unknown paths -------------------------------------------------------

EVERY_PATH = [
    "/Practitioner/1",
    "/Schedule",
    "/Schedule/1",
    "/Slot?schedule=Schedule/1",
    "/Slot/1",
    "/Appointment",
    "/Appointment/1",
    "/Patient/1",
]


@pytest.mark.parametrize("path", EVERY_PATH)
def test_anonymous_callers_get_401(anon, path):
    response = anon.get(f"{R4}{path}")
    assert_outcome(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_bad_token_is_401_even_for_metadata(anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer nope")
    assert_outcome(anon.get(f"{R4}/metadata"), 401, "authentication_failed")


def test_an_unknown_interaction_is_a_404_outcome(client_for, alice):
    assert_outcome(client_for(alice).get(f"{R4}/Encounter/1"), 404, "not_found")
    assert_outcome(client_for(alice).delete(f"{R4}/Appointment/1"), 405, "method_not_allowed")


# --- Query counts ----------------------------------------------------------------------


def _queries(client, url, params):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clinic.registry import clear_cache

    clear_cache()  # every measurement reads the clinic's settings afresh, not from a warm cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


def test_searches_cost_the_same_queries_whatever_they_find(client_for, rita, alice, bob, carol_hours):
    staff = client_for(rita)
    _book(alice, carol_hours, index=0)
    appointments = _queries(staff, f"{R4}/Appointment", {"practitioner": f"Practitioner/{carol_hours.doctor.id}"})
    slots = _queries(staff, f"{R4}/Slot", {"schedule": f"Schedule/{carol_hours.doctor.id}"})
    for index in (2, 4, 6):
        _book(bob if index % 4 else alice, carol_hours, index=index)
    assert (
        _queries(staff, f"{R4}/Appointment", {"practitioner": f"Practitioner/{carol_hours.doctor.id}"}) == appointments
    )
    assert _queries(staff, f"{R4}/Slot", {"schedule": f"Schedule/{carol_hours.doctor.id}"}) == slots
