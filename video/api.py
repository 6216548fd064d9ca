"""GET /api/appointments/{id}/video/ (contract §14)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from core.permissions import IsPatientOrDoctor
from scheduling import selectors
from video import services
from video.serializers import VideoGrantOutput


class VideoGrantApi(GenericAPIView):
    permission_classes = [IsPatientOrDoctor]

    @extend_schema(
        responses={
            200: VideoGrantOutput,
            400: OpenApiResponse(description="`not_a_video_visit`: an in-person appointment"),
            404: OpenApiResponse(description="Not found, or another person's appointment"),
            409: OpenApiResponse(description="`video_not_open`, with `opens_at` and `closes_at`"),
        }
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = selectors.appointment_get(actor=request_user(request), appointment_id=appointment_id)
        grant = services.video_grant(actor=request_user(request), appointment=appointment)
        return Response(VideoGrantOutput(grant).data)
