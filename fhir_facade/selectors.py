"""The facade's reads: the scheduling and accounts selectors, with FHIR's search filters.

Access is never decided here twice: appointments come from `scheduling.selectors` (its
patient, its doctor, staff, admin), doctors from `accounts.selectors`, slots from the
same read as REST availability. Only the Patient read is new, and it admits whoever the
records rules admit: the patient, staff, admin and doctors with a care relation.
"""

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Doctor, Patient, Role, User
from accounts.selectors import doctor_list
from audit.services import audit_record
from scheduling import selectors as scheduling_selectors
from scheduling.models import Appointment, AppointmentStatus

# FHIR Appointment.status codes → the clinic's statuses (resources.APPOINTMENT_STATUS reversed).
APPOINTMENT_STATUSES: dict[str, tuple[str, ...]] = {
    "booked": (AppointmentStatus.BOOKED,),
    "arrived": (AppointmentStatus.CHECKED_IN,),
    "fulfilled": (AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED),
    "noshow": (AppointmentStatus.NO_SHOW,),
    "cancelled": (AppointmentStatus.CANCELLED,),
}


def schedules(*, actor: User, doctor_id: int | None = None) -> QuerySet[Doctor]:
    """The doctors whose schedules the actor may see (one Schedule per doctor)."""
    doctors = doctor_list(actor=actor)
    return doctors.filter(pk=doctor_id) if doctor_id is not None else doctors


def appointments(
    *,
    actor: User,
    patient_id: int | None = None,
    doctor_id: int | None = None,
    statuses: set[str] | None = None,
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> QuerySet[Appointment]:
    """The actor's appointments (as REST lists them), narrowed by FHIR's search parameters."""
    found = scheduling_selectors.appointment_list(actor=actor, doctor_id=doctor_id).select_related(
        "doctor__user", "patient__user"
    )
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if statuses:
        found = found.filter(status__in=[s for code in statuses for s in APPOINTMENT_STATUSES[code]])
    if starts_from is not None:
        found = found.filter(start__gte=starts_from)
    if starts_before is not None:
        found = found.filter(start__lt=starts_before)
    return found


def patient_read(*, actor: User, patient_id: int) -> Patient:
    """A patient the actor may see, else 404; the read is audited like a record's."""
    record = Patient.objects.select_related("user").filter(pk=patient_id).first()
    if record is None or not _may_see(actor, record):
        raise Http404
    audit_record(actor=actor, action="patient.read", obj=record)
    return record


def _may_see(actor: User, record: Patient) -> bool:
    if actor.is_staff_or_admin or record.user_id == actor.pk:
        return True
    if actor.role == Role.DOCTOR:
        doctor = getattr(actor, "doctor", None)
        return doctor is not None and scheduling_selectors.care_relation_exists(
            doctor_id=doctor.pk, patient_id=record.pk
        )
    return False
