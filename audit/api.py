from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from audit.models import AuditLog
from audit.selectors import audit_log_list
from audit.serializers import AuditLogFilterSerializer, AuditLogSerializer
from core.inputs import validated
from core.permissions import IsAdmin


class AuditLogListApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = AuditLogSerializer

    @extend_schema(parameters=[AuditLogFilterSerializer], responses=AuditLogSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = validated(AuditLogFilterSerializer, request.query_params)
        entries = audit_log_list(
            actor_id=filters.get("actor"),
            action=filters.get("action", ""),
            since=filters.get("since"),
        )
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(AuditLogSerializer(page, many=True).data)


class AuditLogDetailApi(GenericAPIView):
    permission_classes = [IsAdmin]
    serializer_class = AuditLogSerializer

    def get(self, request: Request, log_id: int) -> Response:
        return Response(AuditLogSerializer(get_object_or_404(AuditLog, pk=log_id)).data)
