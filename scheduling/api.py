"""Scheduling endpoints (contract §3 and §4). Thin: parse, call a service or selector, serialize."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.inputs import validated
from core.permissions import IsDoctorStaffOrAdmin, IsPatientStaffOrAdmin
from scheduling import selectors, services
from scheduling.serializers import (
    AppointmentListFilter,
    AppointmentSerializer,
    AppointmentUpdateInput,
    AvailabilityOutput,
    AvailabilityQuery,
    BookInput,
    ExceptionInput,
    ExceptionSerializer,
    QueueOutput,
    QueueQuery,
    RuleInput,
    RuleSerializer,
    SeriesCancelOutput,
    SeriesInput,
    SeriesOutput,
    StatusInput,
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

    @extend_schema(request=BookInput, responses={201: AppointmentSerializer})
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

    @extend_schema(request=AppointmentUpdateInput, responses=AppointmentSerializer)
    def put(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        data = validated(AppointmentUpdateInput, request.data)
        appointment = services.appointment_update(actor=request_user(request), appointment=appointment, **data)
        return Response(AppointmentSerializer(appointment).data)

    @extend_schema(request=AppointmentUpdateInput, responses=AppointmentSerializer)
    def patch(self, request: Request, appointment_id: int) -> Response:
        return self.put(request, appointment_id)


class AppointmentStatusApi(GenericAPIView):
    permission_classes = [IsDoctorStaffOrAdmin]

    @extend_schema(request=StatusInput, responses=AppointmentSerializer)
    def put(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        data = validated(StatusInput, request.data)
        appointment = services.appointment_set_status(actor=request_user(request), appointment=appointment, **data)
        return Response(AppointmentSerializer(appointment).data)


class AppointmentCancelApi(GenericAPIView):
    @extend_schema(request=None, responses=AppointmentSerializer)
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
