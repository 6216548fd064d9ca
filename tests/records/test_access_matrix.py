"""Every records endpoint, for every persona, with the outcome the rules give.

alice: the patient. carol: her treating doctor (and the author of her records).
dave: another doctor (he treats bob, not alice). bob: another patient. rita: reception.
ada: the admin, who may read one record only by giving a reason (break-glass).
anon: no token.

Each refusal must leave an `*.access_refused` audit entry; each read a `*.read` one.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog
from records import links
from records.models import MedicalReport, Prescription
from tests.clock import clinic_date
from tests.factories import appointment_at
from tests.records.helpers import MEDICATIONS, PAST, pdf_bytes

REASON = "Patient unconscious in A&E; treating team needs the panel."


def _upload(client, ctx):
    return client.post(
        "/api/reports/upload/",
        {"patient": ctx["alice"].patient.id, "title": "X-ray", "file": _pdf_file()},
        format="multipart",
    )


def _pdf_file():
    from tests.records.helpers import upload

    return upload(pdf_bytes(), name="xray.pdf")


def _download(client, ctx):
    if ctx["user"] is None:
        return client.get(f"/api/reports/{ctx['report'].id}/download/")
    token = links.download_token(
        report_id=ctx["report"].id,
        user_id=ctx["user"].id,
        break_glass=False,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    return client.get(f"/api/reports/{ctx['report'].id}/download/", {"sig": token})


ENDPOINTS = {
    "report-upload": _upload,
    "report-detail": lambda c, x: c.get(f"/api/reports/{x['report'].id}/"),
    "report-detail+reason": lambda c, x: c.get(f"/api/reports/{x['report'].id}/", {"reason": REASON}),
    "report-download": _download,
    "report-patient-list": lambda c, x: c.get(f"/api/reports/patient/{x['alice'].patient.id}/"),
    "report-delete": lambda c, x: c.delete(f"/api/reports/{x['report'].id}/delete/"),
    "prescription-create": lambda c, x: c.post(
        "/api/prescriptions/create/",
        {"patient": x["alice"].patient.id, "medications": MEDICATIONS[:1]},
        format="json",
    ),
    "prescription-detail": lambda c, x: c.get(f"/api/prescriptions/{x['prescription'].id}/"),
    "prescription-detail+reason": lambda c, x: c.get(f"/api/prescriptions/{x['prescription'].id}/", {"reason": REASON}),
    "prescription-patient-list": lambda c, x: c.get(f"/api/prescriptions/patient/{x['alice'].patient.id}/"),
    "prescription-update": lambda c, x: c.put(
        f"/api/prescriptions/{x['prescription'].id}/update/", {"instructions": "Take with water."}, format="json"
    ),
    "prescription-delete": lambda c, x: c.delete(f"/api/prescriptions/{x['prescription'].id}/delete/"),
}

PERSONAS = ["alice", "carol", "dave", "bob", "rita", "ada", "anon"]

# endpoint: outcome for alice, carol, dave, bob, rita, ada, anon
EXPECTED = {
    "report-upload": [403, 201, 404, 403, 403, 403, 401],
    "report-detail": [200, 200, 404, 404, 403, 403, 401],
    "report-detail+reason": [200, 200, 404, 404, 403, 200, 401],
    "report-download": [200, 200, 404, 404, 404, 404, 401],
    "report-patient-list": [200, 200, 404, 404, 403, 403, 401],
    "report-delete": [403, 204, 404, 403, 403, 403, 401],
    "prescription-create": [403, 201, 404, 403, 403, 403, 401],
    "prescription-detail": [200, 200, 404, 404, 403, 403, 401],
    "prescription-detail+reason": [200, 200, 404, 404, 403, 200, 401],
    "prescription-patient-list": [200, 200, 404, 404, 403, 403, 401],
    "prescription-update": [403, 200, 404, 403, 403, 403, 401],
    "prescription-delete": [403, 204, 404, 403, 403, 403, 401],
}

CASES = [
    pytest.param(endpoint, persona, status, id=f"{endpoint}-{persona}-{status}")
    for endpoint, statuses in EXPECTED.items()
    for persona, status in zip(PERSONAS, statuses, strict=True)
]


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "persona", "expected"), CASES)
def test_outcome(request, client_for, report, prescription, alice, bob, dave, endpoint, persona, expected):
    # dave has a patient of his own: a doctor with care relations, just not with alice.
    appointment_at(doctor=dave, patient=bob, start=PAST, status="completed")
    user = None if persona == "anon" else request.getfixturevalue(persona)
    client = APIClient() if user is None else client_for(user)
    refusals_before = AuditLog.objects.filter(action__endswith=".access_refused").count()

    response = ENDPOINTS[endpoint](
        client, {"alice": alice, "report": report, "prescription": prescription, "user": user}
    )

    assert response.status_code == expected, response.content[:300]
    refusals = AuditLog.objects.filter(action__endswith=".access_refused").count() - refusals_before
    if expected >= 400:
        assert refusals == 1
        assert response.json()["code"]
    else:
        assert refusals == 0


@pytest.mark.django_db
def test_admin_read_without_reason_says_why(client_for, ada, report):
    response = client_for(ada).get(f"/api/reports/{report.id}/")
    assert response.status_code == 403
    assert response.json()["code"] == "break_glass_reason_required"
    entry = AuditLog.objects.filter(action="report.access_refused").latest("id")
    assert entry.actor == ada
    assert entry.details["reason"] == "break_glass_reason_required"


@pytest.mark.django_db
def test_admin_break_glass_read_is_flagged_with_its_reason(client_for, ada, report, prescription):
    client = client_for(ada)
    assert client.get(f"/api/reports/{report.id}/", {"reason": REASON}).status_code == 200
    assert client.get(f"/api/prescriptions/{prescription.id}/", {"reason": REASON}).status_code == 200
    flagged = AuditLog.objects.filter(actor=ada, details__break_glass=True).order_by("id")
    assert [e.action for e in flagged] == ["report.break_glass_read", "prescription.break_glass_read"]
    assert all(e.details["reason"] == REASON for e in flagged)


@pytest.mark.django_db
def test_admin_break_glass_link_downloads_and_is_flagged(client_for, ada, report):
    body = client_for(ada).get(f"/api/reports/{report.id}/", {"reason": REASON}).json()
    response = APIClient().get(body["download_url"])
    assert response.status_code == 200
    entry = AuditLog.objects.filter(action="report.downloaded").latest("id")
    assert entry.actor == ada and entry.details["break_glass"] is True


@pytest.mark.django_db
def test_admin_reason_too_short_is_refused(client_for, ada, report):
    response = client_for(ada).get(f"/api/reports/{report.id}/", {"reason": "because"})
    assert response.status_code == 403
    assert response.json()["code"] == "break_glass_reason_required"


@pytest.mark.django_db
def test_reads_are_audited(client_for, alice, carol, report, prescription):
    client_for(alice).get(f"/api/reports/{report.id}/")
    client_for(carol).get(f"/api/prescriptions/{prescription.id}/")
    client_for(carol).get(f"/api/reports/patient/{alice.patient.id}/")
    assert AuditLog.objects.filter(actor=alice, action="report.read", object_id=str(report.id)).exists()
    assert AuditLog.objects.filter(actor=carol, action="prescription.read", object_id=str(prescription.id)).exists()
    listed = AuditLog.objects.get(actor=carol, action="report.listed")
    assert listed.object_id == str(alice.patient.id) and listed.details["ids"] == [report.id]


@pytest.mark.django_db
def test_a_treating_doctor_who_is_not_the_author_reads_but_cannot_change(client_for, alice, dave, report, prescription):
    appointment_at(doctor=dave, patient=alice, start=PAST + timedelta(days=1), status="cancelled")
    client = client_for(dave)
    assert client.get(f"/api/reports/{report.id}/").status_code == 200
    assert client.get(f"/api/prescriptions/patient/{alice.patient.id}/").status_code == 200
    assert client.delete(f"/api/reports/{report.id}/delete/").status_code == 403
    assert (
        client.put(f"/api/prescriptions/{prescription.id}/update/", {"instructions": "x"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/prescriptions/{prescription.id}/delete/").status_code == 403


@pytest.mark.django_db
def test_deleted_records_are_hidden_but_kept(client_for, alice, carol, report, prescription):
    client = client_for(carol)
    assert client.delete(f"/api/reports/{report.id}/delete/").status_code == 204
    assert client.delete(f"/api/prescriptions/{prescription.id}/delete/").status_code == 204
    assert client.get(f"/api/reports/{report.id}/").status_code == 404
    assert client.get(f"/api/prescriptions/{prescription.id}/").status_code == 404
    assert client.get(f"/api/reports/patient/{alice.patient.id}/").json()["count"] == 0
    assert client.delete(f"/api/reports/{report.id}/delete/").status_code == 404

    kept = MedicalReport.objects.get(pk=report.id)
    assert kept.deleted_at is not None and kept.deleted_by == carol
    assert kept.retain_until.year == clinic_date(kept.created_at).year + 10
    from records.storage import report_storage

    assert report_storage().exists(kept.storage_key)
    assert Prescription.objects.get(pk=prescription.id).deleted_at is not None


@pytest.mark.django_db
def test_unauthenticated_attempts_are_audited(report):
    response = APIClient().get(f"/api/reports/{report.id}/")
    assert response.status_code == 401
    entry = AuditLog.objects.filter(action="report.access_refused").latest("id")
    assert entry.actor is None and entry.details["reason"] == "not_authenticated"
