"""Waitlist endpoints (contract §11). Thin: parse, call a service or selector, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.inputs import validated
from core.permissions import IsPatient, IsPatientStaffOrAdmin
from core.schema import error_responses
from scheduling import selectors as scheduling_selectors
from scheduling.serializers import AppointmentSerializer
from scheduling.services.errors import SlotUnavailable
from waitlist import selectors, services
from waitlist.serializers import EntryInput, EntryOutput


class WaitlistApi(GenericAPIView):
    serializer_class = EntryOutput

    def get_permissions(self) -> list[BasePermission]:
        # Anyone signed in lists (their own); joining is for patients and the desk.
        return [IsPatientStaffOrAdmin()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses=EntryOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.entry_list(actor=request_user(request)))
        return self.get_paginated_response(EntryOutput(page, many=True).data)

    @extend_schema(request=EntryInput, responses={201: EntryOutput, **error_responses(services.AlreadyWaiting)})
    def post(self, request: Request) -> Response:
        data = validated(EntryInput, request.data)
        entry = services.entry_join(
            actor=request_user(request),
            doctor=scheduling_selectors.doctor_for_booking(actor=request_user(request), doctor_id=data["doctor"]),
            patient=scheduling_selectors.patient_for_booking(patient_id=data.get("patient")),
            first_day=data["from"],
            last_day=data["to"],
            earliest_time=data.get("earliest_time"),
            latest_time=data.get("latest_time"),
        )
        return Response(EntryOutput(entry).data, status=status.HTTP_201_CREATED)


class WaitlistEntryApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request_user(request), entry_id=entry_id)
        services.entry_cancel(actor=request_user(request), entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WaitlistAcceptApi(GenericAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        request=None,
        responses={201: AppointmentSerializer, **error_responses(services.OfferExpired, SlotUnavailable)},
    )
    def post(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request_user(request), entry_id=entry_id)
        appointment = services.offer_accept(actor=request_user(request), entry=entry)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class WaitlistDeclineApi(GenericAPIView):
    permission_classes = [IsPatient]

    @extend_schema(request=None, responses=EntryOutput)
    def post(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request_user(request), entry_id=entry_id)
        return Response(EntryOutput(services.offer_decline(actor=request_user(request), entry=entry)).data)
