"""/metrics (Prometheus, behind a bearer token) and the liveness and readiness checks."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from observability import exposition, health


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition. Off (404) until METRICS_TOKEN is set; then that bearer token only.

    A 404 rather than a 401 when off, so an unconfigured deployment does not even say it has one.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        return HttpResponse(status=404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return HttpResponse(exposition.render(), content_type=CONTENT_TYPE_LATEST)


class LiveView(APIView):
    """Liveness: answers whenever the process does; checks nothing else."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses=inline_serializer("Liveness", {"status": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class ReadyView(APIView):
    """Readiness: the database and Redis answer, and the outbox is not lagging behind."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Readiness",
            {
                "status": serializers.CharField(),
                "database": serializers.CharField(),
                "redis": serializers.CharField(),
                "outbox": serializers.CharField(),
                "outbox_lag_seconds": serializers.FloatField(allow_null=True),
                "outbox_lag_threshold_seconds": serializers.FloatField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        state = health.readiness()
        return Response(state.as_body(), status=200 if state.ready else 503)
