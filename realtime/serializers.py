from rest_framework import serializers

from core.serializers import ModelSerializer
from realtime.models import DisplayToken


class DisplayTokenSerializer(ModelSerializer):
    class Meta:
        model = DisplayToken
        fields = ["id", "name", "created_at", "expires_at", "revoked_at"]
        read_only_fields = fields


class DisplayTokenCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class IssuedDisplayTokenSerializer(DisplayTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="Shown once; only its hash is kept.")

    class Meta(DisplayTokenSerializer.Meta):
        fields = [*DisplayTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
