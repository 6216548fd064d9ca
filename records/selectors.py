"""Reads of medical records, scoped to the actor; every read and refusal is audited.

"Not yours" is 404 (never reveal another person's record); a role that may never read
records (staff, or an admin without a reason) is 403.
"""

import hashlib
import logging
from dataclasses import dataclass
from typing import NoReturn

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils.http import content_disposition_header

from accounts.models import User
from audit.services import audit_record
from core.exceptions import Conflict, DomainError, Forbidden, NotFound
from core.roles import Role
from records import access, links
from records.models import MedicalReport, Medication, Prescription
from records.storage import RecordsS3Storage, report_storage, storage_errors

logger = logging.getLogger(__name__)

REPORT = "report"
PRESCRIPTION = "prescription"


@dataclass(frozen=True)
class RecordRead:
    """A record the actor may see, and whether it was opened by break-glass."""

    record: MedicalReport | Prescription
    break_glass: bool = False


def _prescriptions() -> QuerySet[Prescription]:
    return Prescription.objects.live().prefetch_related(
        Prefetch("medications", queryset=Medication.objects.filter(replaced_at__isnull=True), to_attr="lines")
    )


def _read_one(*, actor: User, kind: str, records: QuerySet, record_id: int, reason: str = "") -> RecordRead:
    operation = "read"
    object_type = "medicalreport" if kind == REPORT else "prescription"

    def refuse(why: str, error: DomainError) -> NoReturn:
        access.refuse(
            actor=actor,
            kind=kind,
            operation=operation,
            reason=why,
            error=error,
            object_type=object_type,
            object_id=record_id,
        )

    if actor.role == Role.STAFF:
        refuse("role", Forbidden("Reception staff do not see medical records."))
    if actor.role == Role.ADMIN:
        reason = reason.strip()
        if len(reason) < access.BREAK_GLASS_MIN_LENGTH:
            refuse("break_glass_reason_required", access.BreakGlassReasonRequired())
        record = records.filter(pk=record_id).first()
        if record is None:
            refuse("not_found", NotFound())
        audit_record(
            actor=actor,
            action=f"{kind}.break_glass_read",
            obj=record,
            details={"break_glass": True, "reason": reason[:500], "operation": operation, "patient": record.patient_id},
        )
        return RecordRead(record=record, break_glass=True)
    record = records.filter(pk=record_id).first()
    if record is None or not access.may_read(actor=actor, patient_id=record.patient_id):
        refuse("not_found" if record is None else "no_care_relation", NotFound())
    audit_record(
        actor=actor, action=f"{kind}.read", obj=record, details={"operation": operation, "patient": record.patient_id}
    )
    return RecordRead(record=record)


def report_get(*, actor: User, report_id: int, reason: str = "") -> RecordRead:
    """One report for its patient, a doctor with a care relation, or an admin giving a reason."""
    return _read_one(
        actor=actor,
        kind=REPORT,
        records=MedicalReport.objects.live().select_related("patient", "doctor"),
        record_id=report_id,
        reason=reason,
    )


def report_list_for_patient(*, actor: User, patient_id: int) -> QuerySet[MedicalReport]:
    """A patient's reports, for the patient or a doctor with a care relation (the caller audits the page read)."""
    access.listable_patient(actor=actor, kind=REPORT, patient_id=patient_id)
    return MedicalReport.objects.live().filter(patient_id=patient_id).order_by("-created_at", "-id")


def prescription_get(*, actor: User, prescription_id: int, reason: str = "") -> RecordRead:
    """One prescription for its patient, a doctor with a care relation, or an admin giving a reason."""
    return _read_one(actor=actor, kind=PRESCRIPTION, records=_prescriptions(), record_id=prescription_id, reason=reason)


def prescription_list_for_patient(*, actor: User, patient_id: int) -> QuerySet[Prescription]:
    """A patient's prescriptions, for the patient or a doctor with a care relation (the caller audits the page read)."""
    access.listable_patient(actor=actor, kind=PRESCRIPTION, patient_id=patient_id)
    return _prescriptions().filter(patient_id=patient_id).order_by("-created_at", "-id")


@dataclass(frozen=True)
class ReportFile:
    """What the download route sends: the checked bytes, or a presigned S3 URL to redirect to."""

    report: MedicalReport
    filename_header: str
    data: bytes | None = None
    redirect_url: str | None = None


class IntegrityCheckFailed(Conflict):
    code = "integrity_check_failed"
    default_detail = "The stored file does not match the record; it was not sent."


def report_file(*, token: str, report_id: int) -> ReportFile:
    """Follow a signed download link: check the link, the reader's access now, and the
    file's SHA-256 against the one taken at upload. Audited as `report.downloaded`."""
    try:
        claims = links.read_token(token=token, report_id=report_id)
    except (links.LinkInvalid, links.LinkExpired) as exc:
        access.refuse(
            actor=None,
            kind=REPORT,
            operation="download",
            reason=exc.code,
            error=exc,
            object_type="medicalreport",
            object_id=report_id,
        )
    reader = User.objects.select_related("patient", "doctor").filter(pk=claims.user_id, is_active=True).first()
    if reader is None:
        access.refuse(
            actor=None,
            kind=REPORT,
            operation="download",
            reason="reader_inactive",
            error=links.LinkInvalid(),
            object_type="medicalreport",
            object_id=report_id,
        )
    report = MedicalReport.objects.live().filter(pk=report_id).first()
    allowed = report is not None and (
        (reader.role == Role.ADMIN and claims.break_glass)
        or access.may_read(actor=reader, patient_id=report.patient_id)
    )
    if report is None or not allowed:
        access.refuse(
            actor=reader,
            kind=REPORT,
            operation="download",
            reason="not_found" if report is None else "no_access",
            error=NotFound(),
            object_type="medicalreport",
            object_id=report_id,
        )

    storage = report_storage()
    header = content_disposition_header(as_attachment=True, filename=report.filename)
    with storage_errors("read", report.storage_key):
        if isinstance(storage, RecordsS3Storage):
            stored_digest = storage.sha256(report.storage_key)
            data = None
        else:
            try:
                with storage.open(report.storage_key, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                data = None
            stored_digest = hashlib.sha256(data).hexdigest() if data is not None else None
    if stored_digest != report.sha256:
        logger.error(
            "report %s: stored file %s fails its SHA-256 check (expected %s, found %s)",
            report.pk,
            report.storage_key,
            report.sha256,
            stored_digest,
        )
        access.refuse(
            actor=reader,
            kind=REPORT,
            operation="download",
            reason="integrity_check_failed",
            error=IntegrityCheckFailed(),
            object_type="medicalreport",
            object_id=report_id,
        )
    audit_record(
        actor=reader,
        action="report.downloaded",
        obj=report,
        details={"break_glass": claims.break_glass, "patient": report.patient_id},
    )
    if isinstance(storage, RecordsS3Storage):
        url = storage.presigned_download_url(
            report.storage_key,
            filename_header=header,
            content_type=report.content_type,
            ttl=settings.RECORDS_DOWNLOAD_URL_TTL,
        )
        return ReportFile(report=report, filename_header=header, redirect_url=url)
    return ReportFile(report=report, filename_header=header, data=data)
