"""Who may act for whom: the rules every app applies the same way, written once.

- Patients act only for themselves; staff and admin act for the patient they name
  (`patient_acted_for`).
- A patient is bound by the clinic's rules (notice, caps); staff and admin may override
  them, and every override is named in the audit entry (`Overrides`).
- A doctor's own things are theirs, or the desk's: that doctor, staff or admin
  (`is_that_doctor_or_staff`).
"""

from typing import Any

from accounts.models import Doctor, Patient, User
from core.exceptions import DomainError, Forbidden, ValidationFailed
from core.roles import Role


def is_patient(actor: User) -> bool:
    return actor.role == Role.PATIENT


def is_that_doctor_or_staff(actor: User, doctor: Doctor) -> bool:
    """The doctor themself, or staff and admin (another doctor is not)."""
    return actor.is_staff_or_admin or (actor.role == Role.DOCTOR and doctor.user_id == actor.pk)


def patient_acted_for(*, actor: User, patient: Patient | None, verb: str, what: str) -> Patient:
    """The patient an action is for: a patient's own self; for staff and admin, the one named.

    `verb` and `what` name the action in refusals ("book", "appointments": "Patients book
    only for themselves.", "Only patients, staff and admins book appointments.").
    """
    if is_patient(actor):
        own = actor.patient
        if patient is not None and patient.pk != own.pk:
            raise Forbidden(f"Patients {verb} only for themselves.")
        return own
    if not actor.is_staff_or_admin:
        raise Forbidden(f"Only patients, staff and admins {verb} {what}.")
    if patient is None:
        raise ValidationFailed(fields={"patient": [f"Required when staff {verb} for a patient."]})
    return patient


class Overrides:
    """The rules one action broke that its actor may override, kept for its audit entry."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.names: list[str] = []

    def check(self, *, broken: bool, rule: str, refusal: DomainError) -> None:
        """A broken rule refuses a patient (`refusal`); staff and admin go on, and it is recorded."""
        if not broken:
            return
        if is_patient(self.actor):
            raise refusal
        self.names.append(rule)

    def audited(self, details: dict[str, Any]) -> dict[str, Any]:
        """`details` with the overridden rules, if any, under "overrides"."""
        return {**details, "overrides": list(self.names)} if self.names else details
