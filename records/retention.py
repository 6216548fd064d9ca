"""Purging what is past its retention: deleted reports (with their files) and prescriptions.

A report or prescription a doctor deleted is kept, hidden, through its `retain_until`
day (RECORDS_RETENTION_YEARS after it was written); the day after, the daily beat job
(`records.tasks.purge_expired_records`) removes the row, its medication lines and the
report's file. A record nobody deleted stays. Each purge is audited.
"""

import logging
from datetime import date
from functools import partial

from django.db import transaction

from audit.services import audit_record
from clinic.clock import clinic_today
from records.models import MedicalReport, Medication, Prescription
from records.storage import report_storage

logger = logging.getLogger(__name__)


@transaction.atomic
def records_purge_expired(*, today: date | None = None) -> int:
    """Remove the deleted records past their retention; returns how many rows went."""
    today = today or clinic_today()
    reports = list(MedicalReport.objects.select_for_update().filter(deleted_at__isnull=False).past_retention(today))
    prescriptions = list(
        Prescription.objects.select_for_update().filter(deleted_at__isnull=False).past_retention(today)
    )
    purged: list[tuple[MedicalReport | Prescription, str]] = [(report, "report.purged") for report in reports]
    purged += [(prescription, "prescription.purged") for prescription in prescriptions]
    for record, action in purged:
        audit_record(
            actor=None,
            action=action,
            obj=record,
            details={"patient": record.patient_id, "retain_until": record.retain_until.isoformat()},
        )
    Medication.objects.filter(prescription__in=prescriptions).delete()
    Prescription.objects.filter(pk__in=[p.pk for p in prescriptions]).delete()
    MedicalReport.objects.filter(pk__in=[r.pk for r in reports]).delete()
    # The files go once the rows are gone for good: a rolled-back purge keeps both.
    transaction.on_commit(partial(_delete_files, [report.storage_key for report in reports]), robust=True)
    if reports or prescriptions:
        logger.info("purged %s reports and %s prescriptions past retention", len(reports), len(prescriptions))
    return len(reports) + len(prescriptions)


def _delete_files(keys: list[str]) -> None:
    storage = report_storage()
    for key in keys:
        storage.delete(key)
