"""Doctor reviews (added to the contract): list for everyone signed in, write for patients."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from accounts.selectors import doctor_get
from core.inputs import validated
from core.permissions import IsPatient
from core.schema import error_responses
from reviews.selectors import review_list
from reviews.serializers import ReviewCreateInput, ReviewSerializer
from reviews.services import review_create


class DoctorReviewsApi(GenericAPIView):
    serializer_class = ReviewSerializer

    def get_permissions(self) -> list[BasePermission]:
        return [IsPatient()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses=ReviewSerializer(many=True))
    def get(self, request: Request, doctor_id: int) -> Response:
        page = self.paginate_queryset(review_list(actor=request_user(request), doctor_id=doctor_id))
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)

    @extend_schema(
        request=ReviewCreateInput,
        responses={
            201: ReviewSerializer,
            **error_responses(
                (400, "appointment_not_completed", "Only a completed appointment can be reviewed."),
                (404, "not_found", "No such appointment."),
                (409, "already_reviewed", "This appointment has already been reviewed."),
            ),
        },
    )
    def post(self, request: Request, doctor_id: int) -> Response:
        data = validated(ReviewCreateInput, request.data)
        review = review_create(
            actor=request_user(request),
            doctor=doctor_get(actor=request_user(request), doctor_id=doctor_id),
            appointment_id=data["appointment"],
            rating=data["rating"],
            comment=data["comment"],
        )
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)
