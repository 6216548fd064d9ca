"""Uploads are judged by content; every refusal stores nothing and is audited."""

import io

import pytest
from django.test import override_settings
from pypdf import PdfWriter

from audit.models import AuditLog
from records.models import MedicalReport
from tests.records.helpers import image_bytes, pdf_bytes, stored_files, upload

TEN_MB = 10 * 1024 * 1024
# The first bytes of a Windows executable and of a Linux one.
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 4000
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 4000


def _post(client, alice, file, **extra):
    return client.post(
        "/api/reports/upload/",
        {"patient": alice.patient.id, "title": "Scan", "file": file, **extra},
        format="multipart",
    )


def _pdf_with_attachment(size: int) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_attachment("padding.bin", b"x" * size)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _padded_pdf(total: int) -> bytes:
    """A valid PDF of exactly `total` bytes (an attached file pads it)."""
    padding = total
    for _ in range(5):
        data = _pdf_with_attachment(padding)
        if len(data) == total:
            return data
        padding += total - len(data)
    raise AssertionError("could not pad the PDF to size")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "content_type", "status", "code"),
    [
        pytest.param("setup.pdf", EXECUTABLE, "application/pdf", 415, "unsupported_file_type", id="exe-renamed-pdf"),
        pytest.param("run.pdf", ELF, "application/octet-stream", 415, "unsupported_file_type", id="elf-renamed-pdf"),
        pytest.param(
            "page.pdf",
            b"<html><script>alert(1)</script></html>",
            "application/pdf",
            415,
            "unsupported_file_type",
            id="html-claiming-pdf",
        ),
        pytest.param(
            "photo.pdf", image_bytes("PNG"), "application/pdf", 415, "content_type_mismatch", id="png-says-pdf"
        ),
        pytest.param("scan.jpg", pdf_bytes(), "image/jpeg", 415, "content_type_mismatch", id="pdf-says-jpeg"),
        pytest.param("empty.pdf", b"", "application/pdf", 400, "empty_file", id="empty"),
        pytest.param("cut.pdf", b"%PDF-1.", "application/pdf", 400, "corrupt_file", id="truncated-pdf-header"),
        pytest.param("cut.pdf", pdf_bytes()[:200], "application/pdf", 400, "corrupt_file", id="truncated-pdf-body"),
        pytest.param("cut.png", image_bytes("PNG")[:40], "image/png", 400, "corrupt_file", id="truncated-png"),
        pytest.param("cut.jpg", image_bytes("JPEG")[:120], "image/jpeg", 400, "corrupt_file", id="truncated-jpeg"),
    ],
)
def test_refused_uploads_store_nothing(
    client_for, carol, alice, treats, records_dir, name, data, content_type, status, code
):
    response = _post(client_for(carol), alice, upload(data, name=name, content_type=content_type))

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert MedicalReport.objects.count() == 0
    assert stored_files(records_dir) == []
    entry = AuditLog.objects.filter(action="report.access_refused").latest("id")
    assert entry.actor == carol
    assert entry.details["operation"] == "upload" and entry.details["reason"] == code


@pytest.mark.django_db
def test_ten_mb_plus_one_byte_is_refused_while_reading(client_for, carol, alice, treats, records_dir):
    response = _post(client_for(carol), alice, upload(_padded_pdf(TEN_MB + 1)))
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert MedicalReport.objects.count() == 0
    assert stored_files(records_dir) == []
    assert AuditLog.objects.filter(action="report.access_refused", details__reason="file_too_large").exists()


@pytest.mark.django_db
def test_exactly_ten_mb_is_accepted(client_for, carol, alice, treats, records_dir):
    response = _post(client_for(carol), alice, upload(_padded_pdf(TEN_MB)))
    assert response.status_code == 201, response.content
    assert response.json()["size"] == TEN_MB
    assert len(stored_files(records_dir)) == 1


@pytest.mark.django_db
@override_settings(RECORDS_MAX_UPLOAD_BYTES=1000)
def test_a_body_far_beyond_the_limit_is_refused_before_it_is_read(client_for, carol, alice, treats, records_dir):
    response = _post(client_for(carol), alice, upload(_padded_pdf(200_000)))
    assert response.status_code == 413
    assert stored_files(records_dir) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name", "content_type", "stored_type", "filename"),
    [
        (
            pdf_bytes(2),
            "../../etc/Blood Panel (final).pdf",
            "application/pdf",
            "application/pdf",
            "Blood_Panel_final.pdf",
        ),
        (image_bytes("PNG"), "C:\\scans\\x-ray.png", "image/png", "image/png", "x-ray.png"),
        (image_bytes("JPEG"), "photo.jpeg", "image/jpg", "image/jpeg", "photo.jpg"),
        (image_bytes("PNG"), "wound.pdf", "application/octet-stream", "image/png", "wound.png"),
        (pdf_bytes(), ".htaccess", "", "application/pdf", "report.pdf"),
        (pdf_bytes(), "<script>.pdf", "application/pdf", "application/pdf", "script.pdf"),
    ],
    ids=["path-and-spaces", "windows-path", "jpg-alias", "png-named-pdf", "dotfile", "markup"],
)
def test_accepted_uploads_are_named_safely(
    client_for, carol, alice, treats, data, name, content_type, stored_type, filename
):
    response = _post(client_for(carol), alice, upload(data, name=name, content_type=content_type))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == stored_type
    assert body["filename"] == filename
    report = MedicalReport.objects.get(pk=body["id"])
    # The storage key is generated, never the client's name.
    assert report.storage_key.startswith("reports/") and filename not in report.storage_key


@pytest.mark.django_db
def test_upload_answers_the_contract_shape_and_audits(client_for, carol, alice, treats):
    import hashlib

    data = pdf_bytes()
    response = _post(client_for(carol), alice, upload(data), appointment=treats.id, description="Fasting sample")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {
        "id",
        "patient",
        "doctor",
        "appointment",
        "title",
        "description",
        "content_type",
        "size",
        "created_at",
        "download_url",
    }
    assert body["patient"] == alice.patient.id and body["doctor"] == carol.doctor.id
    assert body["appointment"] == treats.id and body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["download_url"].startswith("http://testserver/api/reports/")
    assert AuditLog.objects.filter(actor=carol, action="report.uploaded", object_id=str(body["id"])).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"title": ""}, "title"),
        ({"patient": "abc"}, "patient"),
        ({"file": None}, "file"),
        ({"appointment": 999999}, "appointment"),
    ],
)
def test_bad_input_is_400_with_fields(client_for, carol, alice, treats, records_dir, fields, bad):
    body = {"patient": alice.patient.id, "title": "Scan", "file": upload(pdf_bytes())} | fields
    body = {k: v for k, v in body.items() if v is not None}
    response = client_for(carol).post("/api/reports/upload/", body, format="multipart")
    assert response.status_code == 400
    assert bad in response.json()["fields"]
    assert stored_files(records_dir) == []


@pytest.mark.django_db
def test_an_appointment_of_another_doctor_is_refused(client_for, carol, dave, alice, treats):
    from tests.factories import appointment_at
    from tests.records.helpers import PAST

    other = appointment_at(doctor=dave, patient=alice, start=PAST.replace(hour=11))
    response = _post(client_for(carol), alice, upload(pdf_bytes()), appointment=other.id)
    assert response.status_code == 400
    assert "appointment" in response.json()["fields"]


def test_the_size_limit_handler_stops_at_the_first_byte_over():
    from records.files import FileTooLarge, SizeLimitUploadHandler

    handler = SizeLimitUploadHandler(limit=10)
    assert handler.receive_data_chunk(b"12345", 0) == b"12345"
    assert handler.receive_data_chunk(b"67890", 5) == b"67890"
    with pytest.raises(FileTooLarge):
        handler.receive_data_chunk(b"x", 10)


@pytest.mark.django_db
def test_a_failing_file_store_is_503_and_leaves_no_record(client_for, carol, alice, treats, settings, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the records directory should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "records": {"BACKEND": "records.storage.RecordsFileStorage", "OPTIONS": {"location": blocked}},
    }
    response = _post(client_for(carol), alice, upload(pdf_bytes()))
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert MedicalReport.objects.count() == 0


@pytest.mark.django_db
def test_a_file_is_removed_when_its_record_cannot_be_written(carol, alice, treats, records_dir, monkeypatch):
    from records import services

    def failing_audit(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "audit_record", failing_audit)
    with pytest.raises(RuntimeError):
        services.report_upload(actor=carol, patient_id=alice.patient.id, title="Scan", upload=upload(pdf_bytes()))
    assert MedicalReport.objects.count() == 0
    assert stored_files(records_dir) == []
