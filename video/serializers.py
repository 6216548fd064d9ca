"""The video grant's shape (contract §14)."""

from rest_framework import serializers

from scheduling.serializers import ClinicDateTimeField


class VideoGrantOutput(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["twilio", "jitsi"])
    room = serializers.CharField()
    join_url = serializers.CharField()
    access_token = serializers.CharField(
        required=False, help_text="Twilio Video only: a short-lived access token for this room."
    )
    opens_at = ClinicDateTimeField()
    closes_at = ClinicDateTimeField()

    def to_representation(self, instance: object) -> dict:
        data = super().to_representation(instance)
        if data.get("access_token") is None:
            data.pop("access_token", None)
        return data
