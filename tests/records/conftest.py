"""Records fixtures: carol treats alice; a report and a prescription carol wrote for alice.

Report files go to a fresh directory per test (local storage), so a test can see exactly
what was stored.
"""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfWriter

from accounts.models import User
from records import services
from records.models import MedicalReport, Prescription
from scheduling.models import Appointment
from tests.factories import appointment_at

PAST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(data: bytes, name: str = "scan.pdf", content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def records_dir(settings: object, tmp_path: Path) -> Path:
    location = tmp_path / "records"
    settings.STORAGES = {
        **settings.STORAGES,
        "records": {"BACKEND": "records.storage.RecordsFileStorage", "OPTIONS": {"location": location}},
    }
    return location


def stored_files(location: Path) -> list[Path]:
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []


@pytest.fixture
def treats(carol: User, alice: User) -> Appointment:
    """carol's care relation with alice: a past, completed appointment."""
    return appointment_at(doctor=carol, patient=alice, start=PAST, status="completed")


@pytest.fixture
def report(carol: User, alice: User, treats: Appointment) -> MedicalReport:
    return services.report_upload(
        actor=carol,
        patient_id=alice.patient.id,
        appointment_id=treats.id,
        title="Blood panel",
        description="Routine",
        upload=upload(pdf_bytes(), name="blood panel.pdf"),
    )


MEDICATIONS = [
    {"name": "Amoxicillin", "dosage": "500 mg", "frequency": "3 times a day", "duration_days": 7, "notes": ""},
    {"name": "Ibuprofen", "dosage": "200 mg", "frequency": "as needed", "duration_days": 5, "notes": "with food"},
]


@pytest.fixture
def prescription(carol: User, alice: User, treats: Appointment) -> Prescription:
    return services.prescription_create(
        actor=carol,
        patient_id=alice.patient.id,
        appointment_id=treats.id,
        medications=MEDICATIONS,
        instructions="Finish the course.",
    )
