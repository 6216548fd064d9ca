"""Waitlist endpoints (contract §11). Thin: parse, call a service or selector, serialize."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.inputs import validated
from core.permissions import HasRole, IsPatient
from core.roles import Role
from scheduling import selectors as scheduling_selectors
from scheduling.serializers import AppointmentSerializer
from waitlist import selectors, services
from waitlist.serializers import EntryInput, EntryOutput


class PatientStaffOrAdmin(HasRole):
    roles = frozenset({Role.PATIENT, Role.STAFF, Role.ADMIN})


class WaitlistApi(GenericAPIView):
    serializer_class = EntryOutput

    def get_permissions(self) -> list:
        # Anyone signed in lists (their own); joining is for patients and the desk.
        return [PatientStaffOrAdmin()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(responses=EntryOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.entry_list(actor=request.user))
        return self.get_paginated_response(EntryOutput(page, many=True).data)

    @extend_schema(request=EntryInput, responses={201: EntryOutput})
    def post(self, request: Request) -> Response:
        data = validated(EntryInput, request.data)
        entry = services.entry_join(
            actor=request.user,
            doctor=scheduling_selectors.doctor_for_booking(actor=request.user, doctor_id=data["doctor"]),
            patient=scheduling_selectors.patient_for_booking(patient_id=data.get("patient")),
            first_day=data["from"],
            last_day=data["to"],
            earliest_time=data.get("earliest_time"),
            latest_time=data.get("latest_time"),
        )
        return Response(EntryOutput(entry).data, status=status.HTTP_201_CREATED)


class WaitlistEntryApi(GenericAPIView):
    permission_classes = [PatientStaffOrAdmin]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
        services.entry_cancel(actor=request.user, entry=entry)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WaitlistAcceptApi(GenericAPIView):
    permission_classes = [IsPatient]

    @extend_schema(request=None, responses={201: AppointmentSerializer})
    def post(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
        appointment = services.offer_accept(actor=request.user, entry=entry)
        return Response(AppointmentSerializer(appointment).data, status=status.HTTP_201_CREATED)


class WaitlistDeclineApi(GenericAPIView):
    permission_classes = [IsPatient]

    @extend_schema(request=None, responses=EntryOutput)
    def post(self, request: Request, entry_id: int) -> Response:
        entry = selectors.entry_get(actor=request.user, entry_id=entry_id)
        return Response(EntryOutput(services.offer_decline(actor=request.user, entry=entry)).data)
