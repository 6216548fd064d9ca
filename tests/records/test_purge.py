"""Deleted records are purged, with their files, once past `retain_until`; nothing else is."""

from datetime import timedelta

import pytest
from django.conf import settings

from audit.models import AuditLog
from clinic.clock import clinic_today
from records import services
from records.models import MedicalReport, Medication, Prescription
from records.tasks import purge_expired_records
from tests.records.helpers import pdf_bytes, stored_files, upload

pytestmark = pytest.mark.django_db(transaction=True)


def _past_retention(record, days: int) -> None:
    type(record).objects.filter(pk=record.pk).update(retain_until=clinic_today() - timedelta(days=days))


def test_the_daily_job_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["records-purge-expired"]
    assert entry["task"] == purge_expired_records.name


def test_deleted_records_past_retention_go_with_their_files(carol, alice, report, prescription, records_dir):
    services.report_delete(actor=carol, report_id=report.pk)
    services.prescription_delete(actor=carol, prescription_id=prescription.pk)
    _past_retention(report, days=1)
    _past_retention(prescription, days=1)
    assert len(stored_files(records_dir)) == 1

    assert purge_expired_records.delay().get() == 2

    assert not MedicalReport.objects.filter(pk=report.pk).exists()
    assert not Prescription.objects.filter(pk=prescription.pk).exists()
    assert not Medication.objects.filter(prescription_id=prescription.pk).exists()
    assert stored_files(records_dir) == []
    purges = AuditLog.objects.filter(action__in=["report.purged", "prescription.purged"], actor=None)
    assert {(entry.action, entry.details["patient"]) for entry in purges} == {
        ("report.purged", alice.patient.id),
        ("prescription.purged", alice.patient.id),
    }


def test_records_within_retention_or_never_deleted_stay(carol, alice, treats, report, prescription, records_dir):
    kept_through_today = services.report_upload(
        actor=carol,
        patient_id=alice.patient.id,
        appointment_id=treats.id,
        title="X-ray",
        description="",
        upload=upload(pdf_bytes(), name="xray.pdf"),
    )
    services.report_delete(actor=carol, report_id=kept_through_today.pk)
    _past_retention(kept_through_today, days=0)
    # Past its date but never deleted: a record in use stays.
    _past_retention(report, days=30)
    services.prescription_delete(actor=carol, prescription_id=prescription.pk)

    assert purge_expired_records.delay().get() == 0

    assert MedicalReport.objects.filter(pk__in=[report.pk, kept_through_today.pk]).count() == 2
    assert Prescription.objects.filter(pk=prescription.pk).exists()
    assert len(stored_files(records_dir)) == 2
    assert not AuditLog.objects.filter(action__endswith=".purged").exists()
