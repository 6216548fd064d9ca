import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        return False


def _redis_ok() -> bool | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return bool(client.ping())
    except Exception:
        logger.warning("health: redis unreachable", exc_info=True)
        return False


class HealthView(APIView):
    """Liveness and readiness: the database and, where configured, Redis answer."""

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
        database = _database_ok()
        redis_state = _redis_ok()
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

    def options(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().options(request, *args, **kwargs)
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        return response
