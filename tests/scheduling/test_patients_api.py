"""GET /api/patients/list/ and /api/patients/{id}/ (added): patients as their doctors
(the care relation) and the clinic's staff see them; anyone else's is 404."""

import pytest

from tests import factories
from tests.billing.helpers import past

pytestmark = pytest.mark.django_db


def test_a_doctor_reads_the_patients_they_treat_and_no_others(client_for, alice, bob, carol):
    factories.appointment_at(doctor=carol, patient=alice, start=past(1), status="completed")
    client = client_for(carol)
    listed = client.get("/api/patients/list/").json()
    assert [p["id"] for p in listed["results"]] == [alice.patient.pk]
    body = client.get(f"/api/patients/{alice.patient.pk}/").json()
    assert body["user_id"] == alice.pk
    assert body["display_name"] == "Alice Anders" and body["email"] == "alice@example.test"
    assert client.get(f"/api/patients/{bob.patient.pk}/").status_code == 404


def test_the_care_relation_also_counts_cancelled_and_past_visits(client_for, alice, carol):
    factories.appointment_at(doctor=carol, patient=alice, start=past(30), status="cancelled")
    assert client_for(carol).get(f"/api/patients/{alice.patient.pk}/").status_code == 200


def test_another_doctor_without_a_care_relation_gets_404(client_for, alice, carol, dave):
    factories.appointment_at(doctor=carol, patient=alice, start=past(1))
    assert client_for(dave).get(f"/api/patients/{alice.patient.pk}/").status_code == 404
    assert client_for(dave).get("/api/patients/list/").json()["count"] == 0


def test_staff_read_every_patient_and_search_by_name(client_for, alice, bob, rita, ada):
    assert client_for(rita).get("/api/patients/list/").json()["count"] == 2
    found = client_for(ada).get("/api/patients/list/", {"search": "bak"}).json()["results"]
    assert [p["id"] for p in found] == [bob.patient.pk]


def test_a_patient_reads_only_themself(client_for, alice, bob, anon):
    assert client_for(alice).get(f"/api/patients/{alice.patient.pk}/").json()["id"] == alice.patient.pk
    assert client_for(alice).get(f"/api/patients/{bob.patient.pk}/").status_code == 404
    assert client_for(bob).get("/api/patients/list/").json()["count"] == 1
    assert anon.get(f"/api/patients/{alice.patient.pk}/").status_code == 401
    assert anon.get("/api/patients/list/").status_code == 401


def test_the_list_reads_a_fixed_number_of_queries(client_for, carol, django_assert_max_num_queries):
    for days in range(1, 5):
        factories.appointment_at(doctor=carol, patient=factories.PatientFactory(), start=past(days))
    client = client_for(carol)
    with django_assert_max_num_queries(5):
        assert client.get("/api/patients/list/").json()["count"] == 4
