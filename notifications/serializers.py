from rest_framework import serializers

from accounts.models import User
from core.serializers import ModelSerializer
from notifications.models import Channel, Message, Notification, NotificationPreference, NotificationStatus


class NotificationSerializer(ModelSerializer):
    """Contract §6 Notification, plus the provider's latest delivery word and a failure reason."""

    status = serializers.SerializerMethodField()
    delivery_status = serializers.CharField(source="provider_status", read_only=True)

    class Meta:
        model = Notification
        fields = [
            "id",
            "channel",
            "kind",
            "subject",
            "body",
            "status",
            "appointment",
            "created_at",
            "sent_at",
            "read_at",
            "delivery_status",
            "failure_reason",
        ]
        read_only_fields = fields

    def get_status(self, notification: Notification) -> str:
        # "sending" is the worker's internal claim; to clients it is still pending.
        if notification.status == NotificationStatus.SENDING:
            return NotificationStatus.PENDING
        return notification.status


class NotificationSendInput(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    channel = serializers.ChoiceField(choices=Channel.choices)
    subject = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    body = serializers.CharField(max_length=1600)


class NotificationPreferenceSerializer(ModelSerializer):
    class Meta:
        model = NotificationPreference
        fields = ["sms", "email", "in_app"]


class MessageSerializer(ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "sender", "recipient", "body", "created_at", "read_at"]
        read_only_fields = fields


class MessageSendInput(serializers.Serializer):
    recipient = serializers.IntegerField(min_value=1, help_text="The user id of the doctor or patient.")
    body = serializers.CharField(max_length=2000)


class MessageListFilter(serializers.Serializer):
    with_user = serializers.IntegerField(
        min_value=1, required=False, help_text="Only the conversation with this user id."
    )
