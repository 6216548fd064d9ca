from rest_framework import serializers

from audit.models import AuditLog
from core.inputs import BoundedDateTimeField
from core.serializers import ModelSerializer


class AuditLogSerializer(ModelSerializer):
    class Meta:
        model = AuditLog
        fields = ["id", "actor", "action", "object_type", "object_id", "ip", "at", "details"]
        read_only_fields = fields


class AuditLogFilterSerializer(serializers.Serializer):
    actor = serializers.IntegerField(required=False, min_value=1)
    action = serializers.CharField(required=False, max_length=64)
    since = BoundedDateTimeField(required=False)
