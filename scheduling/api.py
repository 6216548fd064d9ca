"""Scheduling endpoints (contract §3 and §4). Thin: parse, call a service or selector, serialize."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.inputs import validated
from core.permissions import IsDoctorStaffOrAdmin, IsPatientStaffOrAdmin
from core.schema import error_responses
from scheduling import selectors, services
from scheduling.serializers import (
    AppointmentListFilter,
    AppointmentSerializer,
    AppointmentUpdateInput,
    AvailabilityOutput,
    AvailabilityQuery,
    BookInput,
    CarePatientSerializer,
    ExceptionInput,
    ExceptionSerializer,
    HoldInput,
    HoldSerializer,
    PatientListFilter,
    QueueOutput,
    QueueQuery,
    RuleInput,
    RuleSerializer,
    SeriesCancelOutput,
    SeriesInput,
    SeriesOutput,
    StatusInput,
)

_NOT_BOOKABLE = (400, "invalid", "Invalid input.")  # e.g. fields.doctor: no bookable doctor with this id
_BOOK_EXAMPLE = OpenApiExample(
    "A patient books a free slot",
    value={"doctor": 1, "start": "2026-12-07T09:30:00+00:00", "reason": "Check-up"},
    description="`doctor` is the Doctor id (GET /api/doctors/list/); `start` is copied from a slot of "
    "GET /api/doctors/{id}/availability/ whose `bookable` is true. Staff and admin add `patient` (a Patient id).",
    request_only=True,
)
_MOVE_EXAMPLE = OpenApiExample(
    "Move to another free slot of the same doctor",
    value={"start": "2026-12-08T14:00:00+00:00"},
    request_only=True,
)


# --- §3 Availability and slots ---------------------------------------------------------


class AvailabilityApi(GenericAPIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("date", str, description="A clinic day, YYYY-MM-DD (default today)"),
            OpenApiParameter("from", str, description="First clinic day, with `to` (31 days at most)"),
            OpenApiParameter("to", str, description="Last clinic day, inclusive"),
        ],
        responses=AvailabilityOutput,
    )
    def get(self, request: Request, doctor_id: int) -> Response:
        window = validated(AvailabilityQuery, request.query_params)
        return Response(selectors.availability(actor=request_user(request), doctor_id=doctor_id, **window))


class RuleListCreateApi(GenericAPIView):
    @extend_schema(responses=RuleSerializer(many=True))
    def get(self, request: Request, doctor_id: int) -> Response:
        rules = selectors.rule_list(actor=request_user(request), doctor_id=doctor_id)
        return Response(RuleSerializer(rules, many=True).data)

    @extend_schema(request=RuleInput, responses={201: RuleSerializer})
    def post(self, request: Request, doctor_id: int) -> Response:
        doctor = selectors.doctor_for_change(actor=request_user(request), doctor_id=doctor_id)
        rule = services.rule_create(actor=request_user(request), doctor=doctor, **validated(RuleInput, request.data))
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class RuleDeleteApi(GenericAPIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, doctor_id: int, rule_id: int) -> Response:
        rule = selectors.rule_for_change(actor=request_user(request), doctor_id=doctor_id, rule_id=rule_id)
        services.rule_delete(actor=request_user(request), rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExceptionCreateApi(GenericAPIView):
    @extend_schema(request=ExceptionInput, responses={201: ExceptionSerializer})
    def post(self, request: Request, doctor_id: int) -> Response:
        doctor = selectors.doctor_for_change(actor=request_user(request), doctor_id=doctor_id)
        exception = services.exception_create(
            actor=request_user(request), doctor=doctor, **validated(ExceptionInput, request.data)
        )
        return Response(ExceptionSerializer(exception).data, status=status.HTTP_201_CREATED)


# --- §4 Appointments and the queue ---------------------------------------------------


class BookApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(
        request=BookInput,
        examples=[_BOOK_EXAMPLE],
        responses={
            201: AppointmentSerializer,
            **error_responses(
                _NOT_BOOKABLE,
                services.InvalidSlot,
                services.NoticeTooShort,
                services.AppointmentLimitReached,
                services.SlotUnavailable,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        appointment = services.appointment_book_request(
            actor=request_user(request), data=validated(BookInput, request.data)
        )
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class SeriesBookApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(
        request=SeriesInput,
        responses={
            201: SeriesOutput,
            409: OpenApiResponse(
                description="`slot_unavailable`: nothing booked; `conflicts` lists every start taken."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        booking = services.series_book_request(actor=request_user(request), data=validated(SeriesInput, request.data))
        body = {"series": booking.series.pk, "appointments": booking.appointments}
        return Response(SeriesOutput(body).data, status=status.HTTP_201_CREATED)


class SeriesCancelApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(request=None, responses={200: SeriesCancelOutput})
    def delete(self, request: Request, series_id: int) -> Response:
        series = selectors.series_for_change(actor=request_user(request), series_id=series_id)
        cancelled = services.series_cancel(actor=request_user(request), series=series)
        return Response(SeriesCancelOutput({"cancelled": cancelled}).data)


# --- §11 Holds ---------------------------------------------------------------------------


class HoldListCreateApi(GenericAPIView):
    serializer_class = HoldSerializer

    def get_permissions(self) -> list[BasePermission]:
        # Anyone signed in lists (their own); holding is for patients and the desk.
        return [IsPatientStaffOrAdmin()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses=HoldSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.hold_list(actor=request_user(request)))
        return self.get_paginated_response(HoldSerializer(page, many=True).data)

    @extend_schema(request=HoldInput, responses={201: HoldSerializer, **error_responses(services.SlotUnavailable)})
    def post(self, request: Request) -> Response:
        data = validated(HoldInput, request.data)
        hold = services.hold_create(
            actor=request_user(request),
            doctor=selectors.doctor_for_booking(actor=request_user(request), doctor_id=data["doctor"]),
            patient=selectors.patient_for_booking(patient_id=data.get("patient")),
            start=data["start"],
        )
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)


class HoldDeleteApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, hold_id: int) -> Response:
        services.hold_release(
            actor=request_user(request), hold=selectors.hold_get(actor=request_user(request), hold_id=hold_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppointmentListApi(GenericAPIView):
    serializer_class = AppointmentSerializer

    @extend_schema(parameters=[AppointmentListFilter], responses=AppointmentSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(AppointmentListFilter, request.query_params)
        appointments = selectors.appointment_list(
            actor=request_user(request),
            status=filters.get("status"),
            day=filters.get("date"),
            doctor_id=filters.get("doctor"),
        )
        page = self.paginate_queryset(appointments)
        return self.get_paginated_response(AppointmentSerializer(page, many=True).data)


class AppointmentDetailApi(GenericAPIView):
    @extend_schema(responses=AppointmentSerializer)
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_read(actor=request_user(request), appointment_id=appointment_id)
        return Response(AppointmentSerializer(appointment).data)


class AppointmentUpdateApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(
        request=AppointmentUpdateInput,
        examples=[_MOVE_EXAMPLE],
        responses={
            200: AppointmentSerializer,
            **error_responses(
                services.InvalidSlot, services.NoticeTooShort, services.InvalidTransition, services.SlotUnavailable
            ),
        },
    )
    def put(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        data = validated(AppointmentUpdateInput, request.data)
        appointment = services.appointment_update(actor=request_user(request), appointment=appointment, **data)
        return Response(AppointmentSerializer(appointment).data)

    @extend_schema(
        request=AppointmentUpdateInput,
        examples=[_MOVE_EXAMPLE],
        responses={
            200: AppointmentSerializer,
            **error_responses(
                services.InvalidSlot, services.NoticeTooShort, services.InvalidTransition, services.SlotUnavailable
            ),
        },
    )
    def patch(self, request: Request, appointment_id: int) -> Response:
        return self.put(request, appointment_id)


class AppointmentStatusApi(GenericAPIView):
    permission_classes = [IsDoctorStaffOrAdmin]

    @extend_schema(
        request=StatusInput,
        examples=[OpenApiExample("Check a patient in", value={"status": "checked_in"}, request_only=True)],
        responses={200: AppointmentSerializer, **error_responses(services.InvalidTransition, services.SlotUnavailable)},
    )
    def put(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        data = validated(StatusInput, request.data)
        appointment = services.appointment_set_status(actor=request_user(request), appointment=appointment, **data)
        return Response(AppointmentSerializer(appointment).data)


class AppointmentCancelApi(GenericAPIView):
    @extend_schema(
        request=None,
        description="Cancels the appointment and answers it, with `status: cancelled`; the slot is free at once.",
        responses={
            200: AppointmentSerializer,
            **error_responses(services.InvalidTransition, services.NoticeTooShort, services.SlotUnavailable),
        },
    )
    def delete(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        appointment = services.appointment_cancel(actor=request_user(request), appointment=appointment)
        return Response(AppointmentSerializer(appointment).data)


class QueueApi(GenericAPIView):
    permission_classes = [IsDoctorStaffOrAdmin]

    @extend_schema(parameters=[QueueQuery], responses=QueueOutput)
    def get(self, request: Request, doctor_id: int) -> Response:
        query = validated(QueueQuery, request.query_params)
        return Response(selectors.queue_get(actor=request_user(request), doctor_id=doctor_id, day=query.get("date")))


# --- Patients, within the care relation (added) -------------------------------------


class PatientListApi(GenericAPIView):
    serializer_class = CarePatientSerializer

    @extend_schema(parameters=[PatientListFilter], responses=CarePatientSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(PatientListFilter, request.query_params)
        page = self.paginate_queryset(
            selectors.patient_list(actor=request_user(request), search=filters.get("search", ""))
        )
        return self.get_paginated_response(CarePatientSerializer(page, many=True).data)


class PatientDetailApi(GenericAPIView):
    @extend_schema(responses=CarePatientSerializer)
    def get(self, request: Request, patient_id: int) -> Response:
        return Response(
            CarePatientSerializer(selectors.patient_get(actor=request_user(request), patient_id=patient_id)).data
        )
