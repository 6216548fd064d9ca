"""Prescriptions: structured medication lines, amendments that keep history, soft delete."""

import pytest

from audit.models import AuditLog
from records.models import Medication, Prescription
from tests.factories import appointment_at
from tests.records.helpers import MEDICATIONS, PAST


@pytest.mark.django_db
def test_create_answers_the_prescription(client_for, carol, alice, treats):
    response = client_for(carol).post(
        "/api/prescriptions/create/",
        {"patient": alice.patient.id, "appointment": treats.id, "medications": MEDICATIONS, "instructions": "Rest."},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["patient"] == alice.patient.id and body["doctor"] == carol.doctor.id
    assert body["appointment"] == treats.id and body["instructions"] == "Rest."
    assert body["medications"] == MEDICATIONS
    assert {"id", "created_at", "updated_at"} <= set(body)
    assert AuditLog.objects.filter(actor=carol, action="prescription.created", object_id=str(body["id"])).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"medications": []}, "medications"),
        ({"medications": [{"name": "X", "dosage": "1", "frequency": "daily"}]}, "[0].duration_days"),
        ({"medications": [MEDICATIONS[0] | {"duration_days": 0}]}, "[0].duration_days"),
        ({"medications": [MEDICATIONS[0] | {"name": ""}]}, "[0].name"),
        ({"medications": "aspirin"}, "medications"),
        ({"patient": None}, "patient"),
        ({"appointment": 987654}, "appointment"),
    ],
)
def test_bad_input_is_400_with_fields(client_for, carol, alice, treats, body, field):
    payload = {"patient": alice.patient.id, "medications": MEDICATIONS} | body
    response = client_for(carol).post("/api/prescriptions/create/", payload, format="json")
    assert response.status_code == 400, response.content
    fields = response.json()["fields"]
    # Errors inside a medication line are listed under "medications" as "[index].field: message".
    if field.startswith("["):
        assert any(m.startswith(field) for m in fields["medications"]), fields
    else:
        assert field in fields, fields
    assert Prescription.objects.count() == 0


@pytest.mark.django_db
def test_an_amendment_replaces_the_lines_and_keeps_the_old_ones(client_for, carol, prescription):
    new_lines = [
        {"name": "Paracetamol", "dosage": "1 g", "frequency": "4 times a day", "duration_days": 3, "notes": ""}
    ]
    response = client_for(carol).put(
        f"/api/prescriptions/{prescription.id}/update/", {"medications": new_lines}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["medications"] == new_lines
    assert body["instructions"] == "Finish the course."
    assert Medication.objects.filter(prescription=prescription, replaced_at__isnull=False).count() == 2
    entry = AuditLog.objects.filter(action="prescription.updated").latest("id")
    assert entry.details["fields"] == ["medications"]


@pytest.mark.django_db
def test_partial_update_of_instructions_and_appointment(client_for, carol, alice, prescription):
    later = appointment_at(doctor=carol, patient=alice, start=PAST.replace(day=9))
    response = client_for(carol).patch(
        f"/api/prescriptions/{prescription.id}/update/",
        {"instructions": "Take after meals.", "appointment": later.id},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instructions"] == "Take after meals." and body["appointment"] == later.id
    assert len(body["medications"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"medications": []}, {"appointment": "x"}])
def test_update_bad_input_is_400(client_for, carol, prescription, body):
    response = client_for(carol).put(f"/api/prescriptions/{prescription.id}/update/", body, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]


@pytest.mark.django_db
def test_patient_list_is_paginated_with_a_fixed_number_of_queries(
    client_for, carol, alice, prescription, django_assert_max_num_queries
):
    client = client_for(carol)
    for _ in range(4):
        client.post(
            "/api/prescriptions/create/", {"patient": alice.patient.id, "medications": MEDICATIONS}, format="json"
        )
    with django_assert_max_num_queries(9):
        response = client.get(f"/api/prescriptions/patient/{alice.patient.id}/", {"page_size": 3})
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 5 and len(body["results"]) == 3 and body["next"]
    assert all(len(p["medications"]) == 2 for p in body["results"])


@pytest.mark.django_db
def test_report_list_queries_do_not_grow_with_the_page(client_for, carol, alice, report):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from records import services
    from tests.records.helpers import pdf_bytes, upload

    client = client_for(carol)
    with CaptureQueriesContext(connection) as one:
        client.get(f"/api/reports/patient/{alice.patient.id}/")
    for _ in range(3):
        services.report_upload(actor=carol, patient_id=alice.patient.id, title="More", upload=upload(pdf_bytes()))
    with CaptureQueriesContext(connection) as four:
        response = client.get(f"/api/reports/patient/{alice.patient.id}/")
    assert response.json()["count"] == 4
    assert len(four) == len(one)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["alice", "rita", "ada"])
def test_the_role_is_refused_before_the_body_is_read(request, client_for, carol, alice, treats, persona):
    # A patient, reception or admin may never write prescriptions: 403, whatever they send.
    client = client_for(request.getfixturevalue(persona))
    assert client.post("/api/prescriptions/create/", {"patient": "x"}, format="json").status_code == 403
    prescription = client_for(carol).post(
        "/api/prescriptions/create/", {"patient": alice.patient.id, "medications": MEDICATIONS[:1]}, format="json"
    )
    update = client.put(f"/api/prescriptions/{prescription.json()['id']}/update/", {"medications": 7}, format="json")
    assert update.status_code == 403
