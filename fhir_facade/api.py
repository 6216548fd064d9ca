"""FHIR R4 interactions at /fhir/R4/ (contract §13). Thin: parse, call a selector or the
booking service, build the resource.

Same Bearer tokens, same access rules (the scheduling and accounts selectors), same audit
as the REST API; every error is an OperationOutcome (`fhir_facade.errors`).
"""

from datetime import timedelta
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from pydantic import ValidationError as ModelInvalid
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_user
from accounts.selectors import doctor_get
from core.exceptions import ValidationFailed
from core.inputs import validated
from core.parsers import JSONParser
from fhir_facade import errors, resources, search
from fhir_facade import selectors as fhir_selectors
from fhir_facade.capability import capability_statement
from fhir_facade.rendering import FhirJSONParser, FhirJSONRenderer, PlainJSONRenderer
from scheduling import selectors, services
from scheduling.serializers import BookInput

MAX_SLOT_WINDOW_DAYS = 31


class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer, PlainJSONRenderer]
    parser_classes = [FhirJSONParser, JSONParser]
    # FHIR is described by its CapabilityStatement, not by the REST API's OpenAPI document.
    schema = None

    def get_exception_handler(self) -> Any:
        return errors.exception_handler

    def base_url(self, request: Request) -> str:
        return request.build_absolute_uri("/fhir/R4/")

    def read_params(self, request: Request) -> None:
        """A read takes no parameter but `_format`."""
        search.check_known(request.query_params, ())


class MetadataApi(FhirView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        self.read_params(request)
        return Response(capability_statement(base_url=self.base_url(request)))


class PractitionerReadApi(FhirView):
    def get(self, request: Request, doctor_id: int) -> Response:
        self.read_params(request)
        return Response(resources.practitioner(doctor_get(actor=request_user(request), doctor_id=doctor_id)))


def _schedule(doctor: Any) -> Any:
    return resources.schedule(doctor, horizon_start=timezone.now(), horizon_end=services.horizon_end())


class ScheduleReadApi(FhirView):
    def get(self, request: Request, doctor_id: int) -> Response:
        self.read_params(request)
        return Response(_schedule(doctor_get(actor=request_user(request), doctor_id=doctor_id)))


class ScheduleSearchApi(FhirView):
    def get(self, request: Request) -> Response:
        values = search.check_known(request.query_params, search.SEARCH_PARAMS["Schedule"])
        actor = search.first(values, "actor")
        doctor_id = None if actor is None else search.reference_id("actor", actor, "Practitioner")
        doctors = fhir_selectors.schedules(actor=request_user(request), doctor_id=doctor_id)
        return _paged(self, request, values, doctors, _schedule)


class SlotReadApi(FhirView):
    def get(self, request: Request, slot_id: int) -> Response:
        self.read_params(request)
        row = selectors.slot_get(actor=request_user(request), slot_id=slot_id)
        return Response(resources.slot(row))


class SlotSearchApi(FhirView):
    def get(self, request: Request) -> Response:
        """One doctor's slots in a window of at most 31 days: REST availability, as Slots."""
        values = search.check_known(request.query_params, search.SEARCH_PARAMS["Slot"])
        doctor_id = search.reference_id("schedule", values["schedule"][0], "Schedule")
        lower, upper = search.date_window("start", values.get("start", []))
        lower = lower or timezone.now()
        upper = upper or lower + timedelta(days=MAX_SLOT_WINDOW_DAYS)
        if upper - lower > timedelta(days=MAX_SLOT_WINDOW_DAYS):
            raise ValidationFailed(fields={"start": [f"At most {MAX_SLOT_WINDOW_DAYS} days at once."]})
        wanted = search.first(values, "status")
        statuses = search.tokens("status", wanted, ("free", "busy")) if wanted else {"free", "busy"}
        rows = selectors.doctor_slots(
            actor=request_user(request), doctor_id=doctor_id, window_start=lower, window_end=upper
        )
        slots = [resources.slot(row) for row in rows if ("free" if row.available else "busy") in statuses]
        bundle = resources.searchset(
            request_url=request.build_absolute_uri(),
            base_url=self.base_url(request),
            resources=slots,
            total=len(slots),
            page=1,
            pages=1,
        )
        return Response(bundle)


class AppointmentReadApi(FhirView):
    def get(self, request: Request, appointment_id: int) -> Response:
        self.read_params(request)
        appointment = selectors.appointment_read(actor=request_user(request), appointment_id=appointment_id)
        return Response(resources.appointment(appointment))


class AppointmentSearchCreateApi(FhirView):
    def get(self, request: Request) -> Response:
        values = search.check_known(request.query_params, search.SEARCH_PARAMS["Appointment"])
        patient, practitioner, wanted = (search.first(values, name) for name in ("patient", "practitioner", "status"))
        starts_from, starts_before = search.date_window("date", values.get("date", []))
        found = fhir_selectors.appointments(
            actor=request_user(request),
            patient_id=None if patient is None else search.reference_id("patient", patient, "Patient"),
            doctor_id=None
            if practitioner is None
            else search.reference_id("practitioner", practitioner, "Practitioner"),
            statuses=search.tokens("status", wanted, fhir_selectors.APPOINTMENT_STATUSES) if wanted else None,
            starts_from=starts_from,
            starts_before=starts_before,
        )
        return _paged(self, request, values, found, resources.appointment)

    def post(self, request: Request) -> Response:
        """Create = book: the very same input path and service as /api/appointments/book/."""
        appointment = services.appointment_book_request(actor=request_user(request), data=_booking_input(request))
        return Response(
            resources.appointment(appointment),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"{self.base_url(request)}Appointment/{appointment.pk}"},
        )


class PatientReadApi(FhirView):
    def get(self, request: Request, patient_id: int) -> Response:
        self.read_params(request)
        return Response(
            resources.patient(fhir_selectors.patient_read(actor=request_user(request), patient_id=patient_id))
        )


def _paged(view: FhirView, request: Request, values: dict[str, list[str]], found: QuerySet, build: Any) -> Response:
    size, number = search.paging(values)
    paginator = Paginator(found, size)
    try:
        page = paginator.page(number)
    except EmptyPage:
        raise ValidationFailed(fields={"page": [f"There are {paginator.num_pages} pages."]}) from None
    return Response(
        resources.searchset(
            request_url=request.build_absolute_uri(),
            base_url=view.base_url(request),
            resources=[build(item) for item in page.object_list],
            total=paginator.count,
            page=number,
            pages=paginator.num_pages,
        )
    )


# BookInput's fields, named as the FHIR Appointment's elements that carry them.
_BOOKING_FIELDS = {
    "doctor": "Appointment.participant",
    "patient": "Appointment.participant",
    "start": "Appointment.slot",
    "reason": "Appointment.reasonCode",
    "visit_type": "Appointment.appointmentType",
}
_REQUESTED_STATUSES = {"proposed", "pending", "booked"}


def _booking_input(request: Request) -> dict[str, Any]:
    """A FHIR Appointment → `BookInput`, validated by both the R4 model and BookInput."""
    if not isinstance(request.data, dict):
        raise ValidationFailed(fields={"Appointment": ["Send one Appointment resource as a JSON object."]})
    try:
        wanted = FhirAppointment.model_validate(request.data)
    except (ModelInvalid, ValueError, TypeError) as exc:
        raise ValidationFailed("Not a valid FHIR Appointment.", fields=_model_errors(exc)) from None
    if wanted.status not in _REQUESTED_STATUSES:
        raise ValidationFailed(fields={"Appointment.status": ["Ask for proposed, pending or booked."]})
    slot_ref = [ref.reference for ref in wanted.slot or []]
    if len(slot_ref) != 1 or not (slot_ref[0] or "").startswith("Slot/"):
        raise ValidationFailed(fields={"Appointment.slot": ["Give exactly one reference Slot/{id}."]})
    slot = selectors.slot_get(
        actor=request_user(request), slot_id=search.reference_id("Appointment.slot", slot_ref[0], "Slot")
    )
    actors = [p.actor.reference for p in wanted.participant if p.actor is not None and p.actor.reference]
    patients = [ref for ref in actors if ref.startswith("Patient/")]
    if len(patients) != 1:
        raise ValidationFailed(fields={"Appointment.participant": ["Give exactly one Patient/{id} participant."]})
    doctors = {ref for ref in actors if ref.startswith("Practitioner/")}
    if doctors - {f"Practitioner/{slot.doctor_id}"}:
        raise ValidationFailed(fields={"Appointment.participant": ["The practitioner is not the slot's doctor."]})
    if wanted.start is not None and wanted.start != slot.start:
        raise ValidationFailed(fields={"Appointment.start": ["Differs from the slot's start."]})
    reason = next((c.text for c in wanted.reasonCode or [] if c.text), None) or wanted.description or ""
    payload = {
        "doctor": slot.doctor_id,
        "start": slot.start.isoformat(),
        "patient": search.reference_id("Appointment.participant", patients[0], "Patient"),
        "reason": reason,
    }
    visit_types = [
        coding.code
        for coding in (wanted.appointmentType.coding or [] if wanted.appointmentType else [])
        if coding.system == resources.visit_type_system()
    ]
    if visit_types:
        payload["visit_type"] = visit_types[0]
    try:
        return validated(BookInput, payload)
    except ValidationError as exc:
        fields = exc.detail if isinstance(exc.detail, dict) else {}
        raise ValidationFailed(
            fields={_BOOKING_FIELDS.get(name, name): [str(m) for m in messages] for name, messages in fields.items()}
        ) from None


def _model_errors(exc: Exception) -> dict[str, list[str]]:
    if not isinstance(exc, ModelInvalid):
        return {"Appointment": [str(exc)]}
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in ("Appointment", *error["loc"]))
        fields.setdefault(path, []).append(error["msg"])
    return fields
