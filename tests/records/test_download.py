"""Local files: served only through signed, expiring links, checked against their SHA-256."""

import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditLog
from records import links
from records.storage import report_storage
from tests.records.helpers import pdf_bytes


def _link(client, report) -> str:
    return client.get(f"/api/reports/{report.id}/").json()["download_url"]


@pytest.mark.django_db
def test_good_link_sends_the_same_bytes_as_an_attachment(client_for, alice, report):
    url = _link(client_for(alice), report)
    response = APIClient().get(url)  # a browser following the link sends no token

    assert response.status_code == 200
    body = response.content
    assert hashlib.sha256(body).hexdigest() == report.sha256 == hashlib.sha256(pdf_bytes()).hexdigest()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="blood_panel.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Length"] == str(report.size)
    entry = AuditLog.objects.filter(action="report.downloaded").latest("id")
    assert entry.actor == alice and entry.object_id == str(report.id)


@pytest.mark.django_db
def test_link_expires_after_five_minutes(client_for, alice, report):
    url = urlparse(_link(client_for(alice), report))
    claims = links.read_token(token=parse_qs(url.query)["sig"][0], report_id=report.id)
    assert timedelta(minutes=4, seconds=58) < claims.expires_at - timezone.now() <= timedelta(minutes=5)


@pytest.mark.django_db
def test_expired_link_is_refused(alice, report):
    token = links.download_token(
        report_id=report.id, user_id=alice.id, break_glass=False, expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = APIClient().get(f"/api/reports/{report.id}/download/", {"sig": token})
    assert response.status_code == 403
    assert response.json()["code"] == "link_expired"
    assert AuditLog.objects.filter(action="report.access_refused", details__reason="link_expired").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("tamper", ["signature", "claims", "other-report"])
def test_tampered_link_is_refused(client_for, alice, carol, report, tamper):
    token = parse_qs(urlparse(_link(client_for(alice), report)).query)["sig"][0]
    report_id = report.id
    if tamper == "signature":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif tamper == "claims":
        # Change the signed claims: the signature no longer fits them.
        payload, signature = token.rsplit(":", 1)
        token = f"{payload[:-2]}xy:{signature}"
    else:
        from records import services
        from tests.records.helpers import upload

        other = services.report_upload(
            actor=carol, patient_id=alice.patient.id, title="Other", upload=upload(pdf_bytes())
        )
        report_id = other.id
    response = APIClient().get(f"/api/reports/{report_id}/download/", {"sig": token})
    assert response.status_code == 403
    assert response.json()["code"] == "link_invalid"
    assert AuditLog.objects.filter(action="report.access_refused", details__reason="link_invalid").exists()


@pytest.mark.django_db
def test_no_signature_is_401(report):
    response = APIClient().get(f"/api/reports/{report.id}/download/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_link_stops_working_when_the_report_is_deleted(client_for, alice, carol, report):
    url = _link(client_for(alice), report)
    client_for(carol).delete(f"/api/reports/{report.id}/delete/")
    assert APIClient().get(url).status_code == 404


@pytest.mark.django_db
def test_a_changed_file_is_not_sent(client_for, alice, report, records_dir):
    url = _link(client_for(alice), report)
    path = records_dir / report.storage_key
    path.write_bytes(path.read_bytes().replace(b"%%EOF", b"%%EOX"))

    response = APIClient().get(url)
    assert response.status_code == 409
    assert response.json()["code"] == "integrity_check_failed"
    assert AuditLog.objects.filter(action="report.access_refused", details__reason="integrity_check_failed").exists()


@pytest.mark.django_db
def test_files_are_private_on_disk_and_never_overwritten(report, records_dir):
    path = records_dir / report.storage_key
    assert path.stat().st_mode & 0o777 == 0o600
    storage = report_storage()
    from django.core.files.base import ContentFile

    again = storage.save(report.storage_key, ContentFile(b"other"))
    assert again != report.storage_key
    assert hashlib.sha256(path.read_bytes()).hexdigest() == report.sha256


@pytest.mark.django_db
def test_a_link_signed_with_a_far_expiry_is_refused(alice, report, settings):
    # Whoever can sign chooses the expiry; the verifier caps it at the configured lifetime.
    token = links.download_token(
        report_id=report.id,
        user_id=alice.id,
        break_glass=False,
        expires_at=timezone.now() + timedelta(seconds=settings.RECORDS_DOWNLOAD_URL_TTL, days=365),
    )
    response = APIClient().get(f"/api/reports/{report.id}/download/", {"sig": token})
    assert response.status_code == 403
    assert response.json()["code"] == "link_invalid"
