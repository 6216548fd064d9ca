"""Scheduling's input and output shapes (contract §3 and §4)."""

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.models import Gender, Patient
from clinic.clock import clinic_timezone
from core.inputs import BoundedDateField, BoundedDateTimeField
from core.serializers import ModelSerializer
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    Hold,
    SeriesEvery,
    VisitType,
)

MAX_AVAILABILITY_DAYS = 31


def clinic_iso(value: datetime) -> str:
    """An instant as the contract writes it: ISO 8601 with the clinic's offset (never `Z`)."""
    return value.astimezone(clinic_timezone()).isoformat()


class ClinicDateTimeField(BoundedDateTimeField):
    """Out: the clinic's offset (`+00:00`, not DRF's `Z`). In: an offset is required."""

    default_error_messages = {"naive": "Include a UTC offset, e.g. 2026-12-01T09:30:00+00:00."}

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)

    def to_representation(self, value: datetime | None) -> Any:
        return None if value is None else clinic_iso(value)


class _ClinicModelSerializer(ModelSerializer):
    serializer_field_mapping = {
        **ModelSerializer.serializer_field_mapping,
        **{
            model_field: ClinicDateTimeField
            for model_field, field in ModelSerializer.serializer_field_mapping.items()
            if field is serializers.DateTimeField
        },
    }


# --- Output ----------------------------------------------------------------------------


def patient_display_name(appointment: Appointment) -> str:
    return appointment.patient.user.full_name


class AppointmentSerializer(_ClinicModelSerializer):
    """Appointment (contract §4), plus `patient_name`: appointments are only ever shown to
    their patient, their doctor, staff and admin (and the queue topic to the doctor, staff
    and admin); display screens get numbers only (`scheduling.events.display_payload`).
    Read with `select_related("patient__user")`."""

    patient_name = serializers.SerializerMethodField(help_text="The patient's display name (first and last name).")

    class Meta:
        model = Appointment
        fields = [
            "id",
            "doctor",
            "patient",
            "patient_name",
            "start",
            "end",
            "status",
            "reason",
            "visit_type",
            "series",
            "queue_number",
            "checked_in_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_patient_name(self, appointment: Appointment) -> str:
        return patient_display_name(appointment)


class CarePatientSerializer(ModelSerializer):
    """A patient as their doctors and the clinic's staff see them (GET /api/patients/...)."""

    user_id = serializers.IntegerField(read_only=True, help_text="For messages and `user.{id}.notifications`.")
    first_name = serializers.CharField(source="user.first_name", read_only=True)
    last_name = serializers.CharField(source="user.last_name", read_only=True)
    display_name = serializers.CharField(source="user.full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    phone = serializers.CharField(source="user.phone", read_only=True)
    # Blank until the patient says: the schema must admit "" beside the choices.
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "user_id",
            "first_name",
            "last_name",
            "display_name",
            "email",
            "phone",
            "date_of_birth",
            "gender",
            "address",
            "emergency_contact_name",
            "emergency_contact_phone",
        ]
        read_only_fields = fields


class PatientListFilter(serializers.Serializer):
    search = serializers.CharField(required=False, max_length=200, allow_blank=True, help_text="Part of a name")


class RuleSerializer(_ClinicModelSerializer):
    start_time = serializers.TimeField(format="%H:%M")
    end_time = serializers.TimeField(format="%H:%M")

    class Meta:
        model = AvailabilityRule
        fields = [
            "id",
            "doctor",
            "weekday",
            "start_time",
            "end_time",
            "slot_minutes",
            "buffer_minutes",
            "valid_from",
            "valid_until",
            "created_at",
        ]
        read_only_fields = fields


class ExceptionSerializer(_ClinicModelSerializer):
    class Meta:
        model = AvailabilityException
        fields = ["id", "doctor", "start", "end", "reason", "created_at"]
        read_only_fields = fields


class HoldSerializer(_ClinicModelSerializer):
    class Meta:
        model = Hold
        fields = ["id", "doctor", "patient", "start", "end", "expires_at"]
        read_only_fields = fields


class SlotOutput(serializers.Serializer):
    start = serializers.CharField(help_text="ISO 8601 with the clinic's offset")
    end = serializers.CharField(help_text="ISO 8601 with the clinic's offset")
    available = serializers.BooleanField(help_text="Free for everyone (not booked, held or blocked).")
    bookable = serializers.BooleanField(help_text="Whether this caller could book it now.")
    reason = serializers.ChoiceField(
        choices=["unavailable", "notice", "role"],
        allow_null=True,
        help_text="Why it is not bookable: `unavailable` (taken), `notice` (inside the minimum notice "
        "for patients, `min_notice_minutes`), `role` (the caller's role does not book); null when bookable.",
    )


class AvailabilityOutput(serializers.Serializer):
    doctor = serializers.IntegerField()
    timezone = serializers.CharField()
    slots = SlotOutput(many=True)


class QueueOutput(serializers.Serializer):
    doctor = serializers.IntegerField()
    date = serializers.DateField()
    now_serving = AppointmentSerializer(allow_null=True)
    waiting = AppointmentSerializer(many=True)
    done = serializers.IntegerField()


# --- Input -----------------------------------------------------------------------------


class AvailabilityQuery(serializers.Serializer):
    """`?date=` or `?from=&to=` (inclusive clinic days, at most 31); neither: today."""

    date = BoundedDateField(required=False)
    to = BoundedDateField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = BoundedDateField(required=False)  # a Python keyword, so added here
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        day, first, last = attrs.get("date"), attrs.get("from"), attrs.get("to")
        if day is not None:
            if first is not None or last is not None:
                raise serializers.ValidationError({"date": ["Give date, or from and to, not both."]})
            return {"first": day, "last": day}
        if first is None and last is None:
            return {}
        if first is None or last is None:
            raise serializers.ValidationError({"from" if first is None else "to": ["Give both from and to."]})
        if last < first:
            raise serializers.ValidationError({"to": ["Must not be before from."]})
        if (last - first).days + 1 > MAX_AVAILABILITY_DAYS:
            raise serializers.ValidationError({"to": [f"At most {MAX_AVAILABILITY_DAYS} days at once."]})
        return {"first": first, "last": last}


class RuleInput(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday … 6 = Sunday")
    start_time = serializers.TimeField(help_text='Clinic wall-clock time, "09:00"')
    end_time = serializers.TimeField(help_text='Clinic wall-clock time, "12:00"')
    slot_minutes = serializers.IntegerField(min_value=5, max_value=240, required=False)
    buffer_minutes = serializers.IntegerField(
        min_value=0, max_value=120, default=0, help_text="A free gap after every slot; slots start every slot + buffer"
    )
    valid_from = BoundedDateField(required=False, allow_null=True)
    valid_until = BoundedDateField(required=False, allow_null=True)


class ExceptionInput(serializers.Serializer):
    start = ClinicDateTimeField()
    end = ClinicDateTimeField()
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BookInput(serializers.Serializer):
    doctor = serializers.IntegerField(min_value=1)
    start = ClinicDateTimeField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    patient = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    visit_type = serializers.ChoiceField(choices=VisitType.choices, default=VisitType.IN_PERSON)
    hold = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="The patient's hold on this slot (§11)"
    )


class HoldInput(serializers.Serializer):
    doctor = serializers.IntegerField(min_value=1)
    start = ClinicDateTimeField()
    patient = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class SeriesInput(BookInput):
    """A booking (every field of BookInput, the same way) repeated `count` times."""

    every = serializers.ChoiceField(choices=SeriesEvery.choices)
    count = serializers.IntegerField(min_value=2, max_value=12)

    def get_fields(self) -> dict[str, serializers.Field]:
        # A hold keeps one slot; a series books several (a patient's own holds are booked anyway).
        fields = super().get_fields()
        del fields["hold"]
        return fields


class SeriesOutput(serializers.Serializer):
    series = serializers.IntegerField()
    appointments = AppointmentSerializer(many=True)


class SeriesCancelOutput(serializers.Serializer):
    cancelled = serializers.IntegerField(help_text="How many future booked occurrences were cancelled")


class AppointmentUpdateInput(serializers.Serializer):
    start = ClinicDateTimeField(required=False)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Give start, reason or both.")
        return attrs


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)


class AppointmentListFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)
    date = BoundedDateField(required=False, help_text="A clinic day")
    doctor = serializers.IntegerField(min_value=1, required=False)


class QueueQuery(serializers.Serializer):
    date = BoundedDateField(required=False, help_text="A clinic day; default today")
