"""Records fixtures: carol treats alice; a report and a prescription carol wrote for alice.

Report files go to a fresh directory per test (local storage), so a test can see exactly
what was stored.
"""

from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from records import services
from records.models import MedicalReport, Prescription
from scheduling.models import Appointment
from tests.factories import appointment_at
from tests.records.helpers import MEDICATIONS, PAST, pdf_bytes, upload


@pytest.fixture(autouse=True)
def records_dir(settings: Any, tmp_path: Path) -> Path:
    location = tmp_path / "records"
    settings.STORAGES = {
        **settings.STORAGES,
        "records": {"BACKEND": "records.storage.RecordsFileStorage", "OPTIONS": {"location": location}},
    }
    return location


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


@pytest.fixture
def prescription(carol: User, alice: User, treats: Appointment) -> Prescription:
    return services.prescription_create(
        actor=carol,
        patient_id=alice.patient.id,
        appointment_id=treats.id,
        medications=MEDICATIONS,
        instructions="Finish the course.",
    )
