"""Every write to medical records: upload and delete reports, write and amend prescriptions.

Writes are by doctors with a care relation to the patient; only the author of a record
may change or delete it. Each change is audited in its transaction; each refusal is
audited on its own (records.access.refuse), so it stays when the request fails.
"""

import logging
import uuid
from datetime import date, datetime
from typing import Any, NoReturn

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from accounts.models import Patient, User
from audit.services import audit_record
from clinic.clock import clinic_timezone
from core.exceptions import DomainError, Forbidden, NotFound, ValidationFailed
from core.retention import years_after
from records import access, files
from records.models import MedicalReport, Medication, Prescription
from records.selectors import PRESCRIPTION, REPORT
from records.storage import report_storage, storage_errors
from scheduling.models import Appointment

logger = logging.getLogger(__name__)


def _retain_until(created: datetime) -> date:
    """RECORDS_RETENTION_YEARS from the clinic's day of writing (not the UTC date)."""
    return years_after(created.astimezone(clinic_timezone()).date(), settings.RECORDS_RETENTION_YEARS)


def _appointment_for(*, appointment_id: int | None, patient: Patient, doctor_id: int) -> Appointment | None:
    """The record's appointment: one of this doctor's with this patient, or none."""
    if appointment_id is None:
        return None
    appointment = Appointment.objects.filter(pk=appointment_id, patient=patient, doctor_id=doctor_id).first()
    if appointment is None:
        raise ValidationFailed(fields={"appointment": ["No such appointment of yours with this patient."]})
    return appointment


def _authored(*, actor: User, kind: str, operation: str, records: Any, record_id: int) -> Any:
    """The live record, when the actor is its author (403 for a treating doctor who is not; 404 otherwise)."""
    object_type = "medicalreport" if kind == REPORT else "prescription"
    doctor_id = access.require_doctor(
        actor=actor, kind=kind, operation=operation, object_type=object_type, object_id=record_id
    )
    record = records.filter(pk=record_id).first()
    if record is None or not access.care_relation_exists(doctor_id=doctor_id, patient_id=record.patient_id):
        access.refuse(
            actor=actor,
            kind=kind,
            operation=operation,
            reason="not_found" if record is None else "no_care_relation",
            error=NotFound(),
            object_type=object_type,
            object_id=record_id,
        )
    if record.doctor_id != doctor_id:
        access.refuse(
            actor=actor,
            kind=kind,
            operation=operation,
            reason="not_author",
            error=Forbidden("Only the doctor who wrote this record may change it."),
            object_type=object_type,
            object_id=record_id,
        )
    return record


def _locked(records: Any, record_id: int) -> Any:
    """The record again, locked for the change; gone if a concurrent delete won the race."""
    record = records.select_for_update().filter(pk=record_id).first()
    if record is None:
        raise NotFound()
    return record


# --- Reports ------------------------------------------------------------------------------


def report_upload_refused(*, actor: User, error: DomainError, patient_id: int | None = None) -> NoReturn:
    """Audit an upload refused for its file (too large, wrong type, damaged) and raise `error`."""
    access.refuse(
        actor=actor,
        kind=REPORT,
        operation="upload",
        reason=error.code,
        error=error,
        object_type="patient" if patient_id else "",
        object_id=patient_id or "",
    )


def report_upload(
    *,
    actor: User,
    patient_id: int,
    title: str,
    upload: UploadedFile,
    description: str = "",
    appointment_id: int | None = None,
) -> MedicalReport:
    """Store a report file for a patient the doctor treats.

    The file is judged by its content (records.files) before anything is stored, kept
    under a generated key that never overwrites, and its SHA-256 is recorded for the
    check made at every download.
    """
    patient = access.treated_patient(actor=actor, kind=REPORT, operation="upload", patient_id=patient_id)
    doctor_id = actor.doctor.id
    appointment = _appointment_for(appointment_id=appointment_id, patient=patient, doctor_id=doctor_id)
    try:
        inspected = files.inspect_upload(upload, limit=settings.RECORDS_MAX_UPLOAD_BYTES)
    except (files.FileTooLarge, files.FileTypeRefused, ValidationFailed) as exc:
        report_upload_refused(actor=actor, error=exc, patient_id=patient_id)

    storage = report_storage()
    key = f"reports/{uuid.uuid4().hex}{inspected.kind.extension}"
    with storage_errors("save", key):
        key = storage.save(key, ContentFile(inspected.data))
    try:
        with transaction.atomic():
            now = timezone.now()
            report = MedicalReport.objects.create(
                patient=patient,
                doctor_id=doctor_id,
                appointment=appointment,
                title=title,
                description=description,
                storage_key=key,
                filename=inspected.filename,
                content_type=inspected.kind.content_type,
                size=inspected.size,
                sha256=inspected.sha256,
                created_at=now,
                retain_until=_retain_until(now),
            )
            audit_record(
                actor=actor,
                action="report.uploaded",
                obj=report,
                details={"patient": patient.id, "content_type": report.content_type, "size": report.size},
            )
    except Exception:
        # The row was not written: the file must not linger without a record.
        logger.warning("report upload for patient %s failed after storing %s; removing it", patient.id, key)
        storage.delete(key)
        raise
    return report


def report_delete(*, actor: User, report_id: int) -> MedicalReport:
    """Hide a report from the API; the row and the file are kept until `retain_until`."""
    _authored(actor=actor, kind=REPORT, operation="delete", records=MedicalReport.objects.live(), record_id=report_id)
    with transaction.atomic():
        return _report_soft_delete(actor=actor, report=_locked(MedicalReport.objects.live(), report_id))


def _report_soft_delete(*, actor: User, report: MedicalReport) -> MedicalReport:
    report.deleted_at = timezone.now()
    report.deleted_by = actor
    report.save(update_fields=["deleted_at", "deleted_by"])
    audit_record(
        actor=actor,
        action="report.deleted",
        obj=report,
        details={"patient": report.patient_id, "retain_until": report.retain_until.isoformat()},
    )
    return report


# --- Prescriptions ------------------------------------------------------------------------


def _write_lines(*, prescription: Prescription, medications: list[dict[str, Any]]) -> None:
    Medication.objects.bulk_create(
        Medication(
            prescription=prescription,
            position=position,
            name=line["name"],
            dosage=line["dosage"],
            frequency=line["frequency"],
            duration_days=line["duration_days"],
            notes=line.get("notes", ""),
        )
        for position, line in enumerate(medications)
    )


def _with_lines(prescription: Prescription) -> Prescription:
    # The serializer reads the current lines from here; set on the way out only.
    current = list(prescription.medications.filter(replaced_at__isnull=True).order_by("position"))
    prescription.lines = current  # type: ignore[attr-defined]
    return prescription


def prescription_create(
    *,
    actor: User,
    patient_id: int,
    medications: list[dict[str, Any]],
    instructions: str = "",
    appointment_id: int | None = None,
) -> Prescription:
    """Write a prescription, with its medication lines, for a patient the doctor treats."""
    patient = access.treated_patient(actor=actor, kind=PRESCRIPTION, operation="create", patient_id=patient_id)
    doctor_id = actor.doctor.id
    appointment = _appointment_for(appointment_id=appointment_id, patient=patient, doctor_id=doctor_id)
    with transaction.atomic():
        return _prescription_insert(
            actor=actor,
            patient=patient,
            doctor_id=doctor_id,
            appointment=appointment,
            medications=medications,
            instructions=instructions,
        )


def _prescription_insert(
    *,
    actor: User,
    patient: Patient,
    doctor_id: int,
    appointment: Appointment | None,
    medications: list[dict[str, Any]],
    instructions: str,
) -> Prescription:
    now = timezone.now()
    prescription = Prescription.objects.create(
        patient=patient,
        doctor_id=doctor_id,
        appointment=appointment,
        instructions=instructions,
        created_at=now,
        updated_at=now,
        retain_until=_retain_until(now),
    )
    _write_lines(prescription=prescription, medications=medications)
    audit_record(
        actor=actor,
        action="prescription.created",
        obj=prescription,
        details={"patient": patient.id, "medications": len(medications)},
    )
    return _with_lines(prescription)


def prescription_update(*, actor: User, prescription_id: int, data: dict[str, Any]) -> Prescription:
    """Amend a prescription (its author only). New medication lines replace the old ones,
    which are kept as history."""
    _authored(
        actor=actor,
        kind=PRESCRIPTION,
        operation="update",
        records=Prescription.objects.live(),
        record_id=prescription_id,
    )
    with transaction.atomic():
        # The row lock makes two concurrent amendments apply one after the other, so the
        # live lines are always exactly one edit's list.
        prescription = _locked(Prescription.objects.live(), prescription_id)
        return _prescription_amend(actor=actor, prescription=prescription, data=data)


def _prescription_amend(*, actor: User, prescription: Prescription, data: dict[str, Any]) -> Prescription:
    changed: list[str] = []
    if "instructions" in data and data["instructions"] != prescription.instructions:
        prescription.instructions = data["instructions"]
        changed.append("instructions")
    if "appointment" in data:
        appointment = _appointment_for(
            appointment_id=data["appointment"], patient=prescription.patient, doctor_id=prescription.doctor_id
        )
        if appointment != prescription.appointment:
            prescription.appointment = appointment
            changed.append("appointment")
    now = timezone.now()
    if "medications" in data:
        prescription.medications.filter(replaced_at__isnull=True).update(replaced_at=now)
        _write_lines(prescription=prescription, medications=data["medications"])
        changed.append("medications")
    if changed:
        prescription.updated_at = now
        prescription.save(update_fields=["instructions", "appointment", "updated_at"])
        audit_record(
            actor=actor,
            action="prescription.updated",
            obj=prescription,
            details={"patient": prescription.patient_id, "fields": changed},
        )
    return _with_lines(prescription)


def prescription_delete(*, actor: User, prescription_id: int) -> Prescription:
    """Hide a prescription from the API; it is kept until `retain_until`."""
    _authored(
        actor=actor,
        kind=PRESCRIPTION,
        operation="delete",
        records=Prescription.objects.live(),
        record_id=prescription_id,
    )
    with transaction.atomic():
        prescription = _locked(Prescription.objects.live(), prescription_id)
        prescription.deleted_at = timezone.now()
        prescription.deleted_by = actor
        prescription.save(update_fields=["deleted_at", "deleted_by"])
        audit_record(
            actor=actor,
            action="prescription.deleted",
            obj=prescription,
            details={"patient": prescription.patient_id, "retain_until": prescription.retain_until.isoformat()},
        )
    return prescription
