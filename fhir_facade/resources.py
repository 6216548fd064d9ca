"""The clinic's records as FHIR R4 resources, built with `fhir.resources` (its R4B models).

`fhir.resources` 8.x models R5 by default and R4B (4.3.0) as a sub-package; R4B is the
R4 release with no change to the resources used here (Patient, Practitioner, Schedule,
Slot, Appointment, Bundle, OperationOutcome, CapabilityStatement), so every resource is
built as an R4B model and validated by it before it is sent. Times carry the clinic's
offset, as in the REST API.

Mapping (docs/fhir.md): Practitioner = a doctor, Schedule = one per doctor (same id),
Slot = a slot, Appointment = an appointment, Patient = a patient. Every resource carries
an identifier in the clinic's system (`FHIR_IDENTIFIER_SYSTEM`).
"""

from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.appointment import AppointmentParticipant
from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntrySearch, BundleLink
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.contactpoint import ContactPoint
from fhir.resources.R4B.domainresource import DomainResource
from fhir.resources.R4B.humanname import HumanName
from fhir.resources.R4B.identifier import Identifier
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.period import Period
from fhir.resources.R4B.practitioner import Practitioner, PractitionerQualification
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from accounts.models import Doctor, Gender, Patient, User
from scheduling.models import Appointment, AppointmentStatus, VisitType
from scheduling.selectors import SlotRow
from scheduling.serializers import clinic_iso

CLINIC_CODE_SYSTEM = "error-code"

# The clinic's lifecycle in FHIR's Appointment.status codes. FHIR has no "in progress":
# once the visit has begun the appointment is `fulfilled` (the encounter takes over).
APPOINTMENT_STATUS: dict[str, str] = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CHECKED_IN: "arrived",
    AppointmentStatus.IN_PROGRESS: "fulfilled",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.NO_SHOW: "noshow",
    AppointmentStatus.CANCELLED: "cancelled",
}
# FHIR's AdministrativeGender; "prefer not to say" is `unknown`.
_GENDER: dict[str, str] = {
    Gender.FEMALE: "female",
    Gender.MALE: "male",
    Gender.OTHER: "other",
    Gender.UNDISCLOSED: "unknown",
}


def identifier_system() -> str:
    return settings.FHIR_IDENTIFIER_SYSTEM.rstrip("/")


def visit_type_system() -> str:
    """The code system of the clinic's visit types (`in_person`, `video`): Appointment.appointmentType."""
    return f"{identifier_system()}/visit-type"


def _identifier(kind: str, pk: int) -> Identifier:
    return Identifier(use="official", system=f"{identifier_system()}/{kind}", value=str(pk))


def _name(user: User) -> HumanName:
    return HumanName(
        use="official",
        text=user.full_name or None,
        family=user.last_name or None,
        given=[user.first_name] if user.first_name else None,
    )


def _instant(value: datetime) -> str:
    return clinic_iso(value)


def practitioner_reference(doctor: Doctor) -> Reference:
    return Reference(reference=f"Practitioner/{doctor.pk}", display=doctor.user.full_name or None)


def practitioner(doctor: Doctor) -> Practitioner:
    qualifications = [
        PractitionerQualification(code=CodeableConcept(text=text))
        for text in (doctor.specialization, doctor.qualifications)
        if text
    ]
    return Practitioner(
        id=str(doctor.pk),
        identifier=[_identifier("doctor", doctor.pk)],
        active=doctor.is_approved and doctor.user.is_active,
        name=[_name(doctor.user)],
        qualification=qualifications or None,
    )


def schedule(doctor: Doctor, *, horizon_start: datetime, horizon_end: datetime) -> Schedule:
    """A doctor's one Schedule: its slots are the doctor's slots, bookable within the horizon."""
    return Schedule(
        id=str(doctor.pk),
        identifier=[_identifier("schedule", doctor.pk)],
        active=doctor.is_approved and doctor.user.is_active,
        specialty=[CodeableConcept(text=doctor.specialization)] if doctor.specialization else None,
        actor=[practitioner_reference(doctor)],
        planningHorizon=Period(start=_instant(horizon_start), end=_instant(horizon_end)),
    )


def slot(row: SlotRow) -> FhirSlot:
    """A slot as availability shows it: `free` when the caller could book it, else `busy`."""
    return FhirSlot(
        id=str(row.id),
        schedule=Reference(reference=f"Schedule/{row.doctor_id}"),
        status="free" if row.available else "busy",
        start=_instant(row.start),
        end=_instant(row.end),
    )


def patient(record: Patient) -> FhirPatient:
    user = record.user
    telecom = [ContactPoint(system="email", value=user.email, use="home")]
    if user.phone:
        telecom.append(ContactPoint(system="phone", value=user.phone, use="mobile"))
    return FhirPatient(
        id=str(record.pk),
        identifier=[_identifier("patient", record.pk)],
        active=user.is_active,
        name=[_name(user)],
        telecom=telecom if user.anonymised_at is None else None,
        gender=_GENDER.get(record.gender),
        birthDate=record.date_of_birth,
        address=[{"text": record.address}] if record.address else None,
    )


def appointment(record: Appointment) -> FhirAppointment:
    """Needs `doctor__user` and `patient__user` loaded (the selectors select them)."""
    participants = [
        AppointmentParticipant(
            actor=Reference(reference=f"Patient/{record.patient_id}", display=record.patient.user.full_name or None),
            required="required",
            status="accepted",
        ),
        AppointmentParticipant(actor=practitioner_reference(record.doctor), required="required", status="accepted"),
    ]
    return FhirAppointment(
        id=str(record.pk),
        identifier=[_identifier("appointment", record.pk)],
        status=APPOINTMENT_STATUS[record.status],
        appointmentType=CodeableConcept(
            coding=[
                Coding(
                    system=visit_type_system(),
                    code=record.visit_type,
                    display=VisitType(record.visit_type).label,
                )
            ]
        ),
        reasonCode=[CodeableConcept(text=record.reason)] if record.reason else None,
        start=_instant(record.start),
        end=_instant(record.end),
        minutesDuration=int((record.end - record.start).total_seconds() // 60),
        slot=[Reference(reference=f"Slot/{record.slot_id}")] if record.slot_id else None,
        created=_instant(record.created_at),
        participant=participants,
    )


def searchset(
    *, request_url: str, base_url: str, resources: list[DomainResource], total: int, page: int, pages: int
) -> Bundle:
    """A searchset Bundle of one page, with self/next/previous links when paged."""
    links = [BundleLink(relation="self", url=request_url)]
    for relation, number in (("previous", page - 1), ("next", page + 1)):
        if 1 <= number <= pages:
            links.append(BundleLink(relation=relation, url=_with_page(request_url, number)))
    return Bundle(
        type="searchset",
        total=total,
        link=links,
        entry=[
            BundleEntry(
                fullUrl=f"{base_url}{resource.get_resource_type()}/{resource.id}",
                resource=resource,
                search=BundleEntrySearch(mode="match"),
            )
            for resource in resources
        ]
        or None,
    )


def _with_page(url: str, number: int) -> str:
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "page"]
    query.append(("page", str(number)))
    return urlunsplit(parts._replace(query=urlencode(query)))
