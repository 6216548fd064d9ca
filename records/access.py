"""Who may touch a patient's records, and the audit entry every refusal leaves.

- A doctor reads and writes a patient's records only with a care relation: the doctor
  has, or had, an appointment with that patient (any status).
- A patient reads their own records.
- Staff see none.
- An admin reads one record only by giving a reason (break-glass), flagged in the log.

Refusals are audited outside any transaction of the request, so the entry stays when the
request fails.
"""

from typing import Any, NoReturn

from accounts.models import Patient, User
from audit.services import audit_record
from core.exceptions import DomainError, Forbidden, NotFound
from core.roles import Role
from scheduling.selectors import care_relation_exists

BREAK_GLASS_MIN_LENGTH = 10


class BreakGlassReasonRequired(Forbidden):
    code = "break_glass_reason_required"
    default_detail = "An administrator must give a reason (?reason=...) to read a medical record."


def refuse(
    *,
    actor: User | None,
    kind: str,
    operation: str,
    reason: str,
    error: DomainError,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> NoReturn:
    """Audit a refused attempt on a record (`<kind>.access_refused`) and raise `error`."""
    audit_record(
        actor=actor,
        action=f"{kind}.access_refused",
        object_type=object_type,
        object_id=object_id,
        details={"operation": operation, "reason": reason, **(details or {})},
    )
    raise error


def doctor_id_of(actor: User) -> int | None:
    return actor.doctor.id if actor.role == Role.DOCTOR and hasattr(actor, "doctor") else None


def patient_id_of(actor: User) -> int | None:
    return actor.patient.id if actor.role == Role.PATIENT and hasattr(actor, "patient") else None


def require_doctor(*, actor: User, kind: str, operation: str, object_type: str = "", object_id: str | int = "") -> int:
    """The actor's doctor id; anyone else is refused (403)."""
    doctor_id = doctor_id_of(actor)
    if doctor_id is None:
        refuse(
            actor=actor,
            kind=kind,
            operation=operation,
            reason="role",
            error=Forbidden("Only a doctor with a care relation to the patient may do this."),
            object_type=object_type,
            object_id=object_id,
        )
    return doctor_id


def treated_patient(*, actor: User, kind: str, operation: str, patient_id: int) -> Patient:
    """The patient, when the actor is a doctor with a care relation to them.

    Other roles get 403; a doctor without a care relation gets 404, as if the patient
    did not exist.
    """
    doctor_id = require_doctor(actor=actor, kind=kind, operation=operation, object_type="patient", object_id=patient_id)
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None or not care_relation_exists(doctor_id=doctor_id, patient_id=patient_id):
        refuse(
            actor=actor,
            kind=kind,
            operation=operation,
            reason="no_care_relation" if patient else "not_found",
            error=NotFound(),
            object_type="patient",
            object_id=patient_id,
        )
    return patient


def listable_patient(*, actor: User, kind: str, patient_id: int) -> None:
    """A patient's list of records: the patient themself, or a doctor with a care relation."""
    if actor.role != Role.PATIENT:
        treated_patient(actor=actor, kind=kind, operation="list", patient_id=patient_id)
    elif patient_id_of(actor) != patient_id:
        refuse(
            actor=actor,
            kind=kind,
            operation="list",
            reason="not_own",
            error=NotFound(),
            object_type="patient",
            object_id=patient_id,
        )


def may_read(*, actor: User, patient_id: int) -> bool:
    """Whether a patient or doctor may read a record of `patient_id` (admins: break-glass)."""
    if actor.role == Role.PATIENT:
        return patient_id_of(actor) == patient_id
    doctor_id = doctor_id_of(actor)
    return doctor_id is not None and care_relation_exists(doctor_id=doctor_id, patient_id=patient_id)


def audit_list_read(*, actor: User, kind: str, patient_id: int, ids: list[int]) -> None:
    """One entry for a page of records read from a patient's list."""
    audit_record(
        actor=actor, action=f"{kind}.listed", object_type="patient", object_id=patient_id, details={"ids": ids}
    )
