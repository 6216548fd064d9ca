from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
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


class DocsView(SpectacularSwaggerSplitView):
    """The browsable API docs (Swagger UI). Its start-up script is served as a file of its
    own (`?script`), so the page runs under a CSP without inline scripts. OPTIONS answers
    JSON like every other endpoint (the HTML renderer has no template for it: a 500)."""

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        response = super().options(request, *args, **kwargs)
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return response
