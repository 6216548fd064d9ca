"""Medical reports (files), prescriptions with structured medication lines.

Only `records.services` and `records.retention` write these models. A deleted report or
prescription is hidden from the API (`deleted_at`) and kept, with its file, until
`retain_until`, the retention the law asks for (RECORDS_RETENTION_YEARS); the daily job
`records.tasks.purge_expired_records` removes it after that day.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from core.retention import Retained, RetainedQuerySet
from scheduling.models import Appointment


class LiveQuerySet(RetainedQuerySet):
    def live(self) -> "LiveQuerySet":
        return self.filter(deleted_at__isnull=True)


class _SoftDeleted(Retained):
    """A record that is hidden when deleted (`deleted_at`) and kept until `retain_until`."""

    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = LiveQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class MedicalReport(_SoftDeleted):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reports")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="reports")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Where the bytes live in the records storage; generated, never taken from the client.
    storage_key = models.CharField(max_length=255, unique=True)
    # The uploader's file name, sanitised; only used as the download's file name.
    filename = models.CharField(max_length=120)
    content_type = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta(_SoftDeleted.Meta):
        indexes = [
            models.Index(
                fields=["patient", "-created_at"], condition=Q(deleted_at__isnull=True), name="report_live_by_patient"
            )
        ]

    def __str__(self) -> str:
        return f"Report {self.pk} {self.title!r} ({self.content_type})"


class Prescription(_SoftDeleted):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="prescriptions")
    appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.PROTECT, related_name="prescriptions"
    )
    instructions = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta(_SoftDeleted.Meta):
        indexes = [
            models.Index(
                fields=["patient", "-created_at"], condition=Q(deleted_at__isnull=True), name="rx_live_by_patient"
            )
        ]

    def __str__(self) -> str:
        return f"Prescription {self.pk} for patient {self.patient_id}"


class Medication(models.Model):
    """One line of a prescription.

    An edit replaces the whole list; the old lines stay, marked `replaced_at`, so an
    amended prescription keeps its history.
    """

    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="medications")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    dosage = models.CharField(max_length=100)
    frequency = models.CharField(max_length=100)
    duration_days = models.PositiveSmallIntegerField()
    notes = models.CharField(max_length=500, blank=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["prescription_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["prescription", "position"],
                condition=Q(replaced_at__isnull=True),
                name="medication_unique_live_position",
            ),
            models.CheckConstraint(
                condition=Q(duration_days__gte=1, duration_days__lte=365), name="medication_duration_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.dosage} {self.frequency}"
