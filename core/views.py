from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from observability.health import database_ok, redis_ok


class HealthView(APIView):
    """The database and, where configured, Redis answer (see also /api/health/live and /ready)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "redis": serializers.CharField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        database = database_ok()
        redis_state = redis_ok()
        healthy = database and redis_state is not False
        body = {
            "status": "ok" if healthy else "unavailable",
            "database": "ok" if database else "down",
            "redis": "not_configured" if redis_state is None else ("ok" if redis_state else "down"),
        }
        return Response(body, status=200 if healthy else 503)
