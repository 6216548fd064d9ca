"""The waitlist's input and output shapes (contract §11)."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from scheduling.serializers import ClinicDateTimeField
from waitlist.models import EntryStatus, WaitlistEntry


class OfferOutput(serializers.Serializer):
    hold = serializers.IntegerField(source="hold_id", help_text="The hold keeping the slot (DELETE it to decline)")
    start = ClinicDateTimeField()
    end = ClinicDateTimeField()
    expires_at = ClinicDateTimeField()


class EntryOutput(serializers.Serializer):
    """An entry; `from` and `to` are clinic days. `offer` is set while a slot is offered."""

    id = serializers.IntegerField()
    doctor = serializers.IntegerField(source="doctor_id")
    patient = serializers.IntegerField(source="patient_id")
    to = serializers.DateField(source="last_day")
    earliest_time = serializers.TimeField(format="%H:%M", allow_null=True)
    latest_time = serializers.TimeField(format="%H:%M", allow_null=True)
    status = serializers.ChoiceField(choices=EntryStatus.choices)
    offer = OfferOutput(source="open_offer", allow_null=True)
    appointment = serializers.IntegerField(source="appointment_id", allow_null=True)
    created_at = ClinicDateTimeField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(source="first_day")  # a Python keyword, so added here
        return fields

    def to_representation(self, entry: WaitlistEntry) -> dict[str, Any]:
        data = super().to_representation(entry)
        offer = entry.open_offer
        # An offer ends at its second: until the sweep records it, say so already.
        if offer is not None and offer.expires_at <= timezone.now():
            data["status"], data["offer"] = EntryStatus.EXPIRED.value, None
        return data


class EntryInput(serializers.Serializer):
    doctor = serializers.IntegerField(min_value=1)
    to = serializers.DateField(help_text="Last clinic day wanted, inclusive")
    earliest_time = serializers.TimeField(required=False, allow_null=True, help_text='Clinic time, "09:00"')
    latest_time = serializers.TimeField(required=False, allow_null=True, help_text='Clinic time, "12:00"')
    patient = serializers.IntegerField(min_value=1, required=False, allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(help_text="First clinic day wanted")  # a Python keyword
        return fields
