from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ModelSerializer
from records import links
from records.models import MedicalReport, Medication, Prescription

# --- Output ------------------------------------------------------------------------------


class ReportSerializer(ModelSerializer):
    """Report. `download_url` is a signed link for the reader, valid RECORDS_DOWNLOAD_URL_TTL seconds.

    Context: `request` (the reader is its user) and `break_glass` (the report was opened
    by an admin giving a reason).
    """

    download_url = serializers.SerializerMethodField()

    class Meta:
        model = MedicalReport
        fields = [
            "id",
            "patient",
            "doctor",
            "appointment",
            "title",
            "description",
            "filename",
            "content_type",
            "size",
            "sha256",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_download_url(self, report: MedicalReport) -> str:
        request = self.context["request"]
        return links.download_url(
            report_id=report.id,
            user_id=request.user.id,
            break_glass=self.context.get("break_glass", False),
            request=request,
        )


class MedicationSerializer(ModelSerializer):
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    duration_days = serializers.IntegerField(min_value=1, max_value=365)

    class Meta:
        model = Medication
        fields = ["name", "dosage", "frequency", "duration_days", "notes"]


class PrescriptionSerializer(ModelSerializer):
    medications = MedicationSerializer(source="lines", many=True, read_only=True)

    class Meta:
        model = Prescription
        fields = ["id", "patient", "doctor", "appointment", "medications", "instructions", "created_at", "updated_at"]
        read_only_fields = fields


# --- Input -------------------------------------------------------------------------------


class ReportUploadInput(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1)
    appointment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    # Emptiness, size and type are judged by records.files, so that each refusal is audited.
    file = serializers.FileField(allow_empty_file=True, max_length=255)


class BreakGlassInput(serializers.Serializer):
    reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Admins only: why this record must be read (at least 10 characters). Flagged in the audit log.",
    )


class PrescriptionCreateInput(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1)
    appointment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    medications: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=MedicationSerializer(), allow_empty=False, max_length=50
    )
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class PrescriptionUpdateInput(serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    medications: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=MedicationSerializer(), required=False, allow_empty=False, max_length=50
    )
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("Give at least one of appointment, medications, instructions.")
        return attrs
