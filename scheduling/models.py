"""Availability rules, exceptions, slots and appointments.

Slots are rows, generated from the weekly rules. A slot's `status` says whether it is
free; an active appointment holds exactly one slot. Only `scheduling.services` writes.

On PostgreSQL the database itself refuses two active appointments that overlap for one
doctor or for one patient (exclusion constraints, migration 0002), whatever the code does.

A hold keeps a free slot for one patient for a few minutes (contract §11). The database
refuses two active holds on one slot or one patient, overlapping active holds of one
doctor, and an active hold on a slot that is not free (the `hold` migration: the hold's
`(slot, slot_status)` references the slot's `(id, status)`, so booking, blocking or
deleting a held slot fails until the hold has ended).
"""

from datetime import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Doctor, Patient


class AvailabilityRule(models.Model):
    """Weekly working hours in the clinic's wall-clock time."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="availability_rules")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday … 6 = Sunday")
    start_time = models.TimeField()
    end_time = models.TimeField()
    slot_minutes = models.PositiveSmallIntegerField()
    # A free gap after every slot (contract §12). `db_default`: rows written by code that
    # predates the field, during a rolling deploy, get 0 too, so existing rules keep their slots.
    buffer_minutes = models.PositiveSmallIntegerField(default=0, db_default=0)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["doctor_id", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="rule_weekday_range"),
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="rule_end_after_start"),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=5, slot_minutes__lte=240), name="rule_slot_minutes_range"
            ),
            models.CheckConstraint(
                condition=Q(buffer_minutes__gte=0, buffer_minutes__lte=120), name="rule_buffer_minutes_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.doctor} weekday {self.weekday} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class AvailabilityException(models.Model):
    """Time off: no free slot inside [start, end)."""

    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="availability_exceptions")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["doctor_id", "start"]
        constraints = [models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="exception_end_after_start")]

    def __str__(self) -> str:
        start, end = timezone.localtime(self.start), timezone.localtime(self.end)
        return f"{self.doctor} off {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"


class SlotStatus(models.TextChoices):
    FREE = "free", "Free"
    BOOKED = "booked", "Booked"
    BLOCKED = "blocked", "Blocked (time off)"


class Slot(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.CASCADE, related_name="slots")
    rule = models.ForeignKey(AvailabilityRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="slots")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=8, choices=SlotStatus.choices, default=SlotStatus.FREE)

    class Meta:
        ordering = ["doctor_id", "start"]
        constraints = [
            models.UniqueConstraint(fields=["doctor", "start"], name="slot_unique_doctor_start"),
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="slot_end_after_start"),
            # Redundant as a key (id is unique already); it is what an active hold's
            # (slot, slot_status) foreign key points at, pinning the held slot to "free".
            models.UniqueConstraint(fields=["id", "status"], name="slot_id_status_key"),
        ]
        indexes = [models.Index(fields=["doctor", "status", "start"])]

    def __str__(self) -> str:
        return f"{self.doctor} {timezone.localtime(self.start):%Y-%m-%d %H:%M} ({self.status})"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No-show"
    CANCELLED = "cancelled", "Cancelled"


class VisitType(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"


# Appointments that hold their slot and time (the exclusion constraints cover these).
ACTIVE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS)


class SeriesEvery(models.TextChoices):
    WEEK = "week", "Every week"
    TWO_WEEKS = "2weeks", "Every 2 weeks"
    FOUR_WEEKS = "4weeks", "Every 4 weeks"


# How many clinic days apart a series' occurrences are (the wall-clock time stays).
SERIES_EVERY_DAYS: dict[str, int] = {SeriesEvery.WEEK: 7, SeriesEvery.TWO_WEEKS: 14, SeriesEvery.FOUR_WEEKS: 28}


class AppointmentSeries(models.Model):
    """A recurring booking (contract §12): `count` ordinary appointments, `every` 1, 2 or 4
    weeks at one clinic wall-clock time, booked all or nothing by `scheduling.services`."""

    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointment_series")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointment_series")
    every = models.CharField(max_length=8, choices=SeriesEvery.choices)
    count = models.PositiveSmallIntegerField()
    booked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointment_series_booked"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "appointment series"
        constraints = [models.CheckConstraint(condition=Q(count__gte=2, count__lte=12), name="series_count_range")]

    def __str__(self) -> str:
        return f"Series {self.pk}: {self.count} x {self.every} with {self.doctor}"


class Appointment(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED)
    reason = models.CharField(max_length=500, blank=True)
    # A database default too: rows written in bare SQL (other tools, the benchmark floor) stay valid.
    visit_type = models.CharField(
        max_length=10, choices=VisitType.choices, default=VisitType.IN_PERSON, db_default=VisitType.IN_PERSON
    )
    series = models.ForeignKey(
        AppointmentSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    queue_number = models.PositiveIntegerField(null=True, blank=True)
    # The clinic-local day the queue number belongs to (set at check-in).
    queue_date = models.DateField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    booked_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="appointments_booked"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appointment_end_after_start"),
            # One active appointment per slot, on every database.
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status__in=ACTIVE_STATUSES), name="appointment_one_active_per_slot"
            ),
            models.UniqueConstraint(
                fields=["doctor", "queue_date", "queue_number"], name="appointment_unique_queue_number"
            ),
        ]
        indexes = [
            models.Index(fields=["doctor", "start"]),
            models.Index(fields=["patient", "start"]),
            models.Index(fields=["status", "start"]),
        ]

    def __str__(self) -> str:
        # In the active zone: the clinic's on back-office pages (its admin site), else UTC.
        return f"Appointment {self.pk} {self.doctor} {timezone.localtime(self.start):%Y-%m-%d %H:%M} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class HoldStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    BOOKED = "booked", "Booked"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"
    # The slot went away under the hold (a rule removed, time off added).
    WITHDRAWN = "withdrawn", "Withdrawn"


class Hold(models.Model):
    """A free slot kept for one patient until `expires_at` (contract §11).

    Live while `status` is active and `expires_at` is still ahead: an active hold whose
    time has passed is free to everyone at once, and whichever write next locks the slot
    (a booking, a new hold, the expiry sweep) ends it. Only `scheduling.services` writes.
    """

    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="holds")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="holds")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="holds")
    start = models.DateTimeField()
    end = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    # "free" while active, NULL once ended: with `slot` it references the slot's
    # (id, status), so PostgreSQL refuses to book, block or delete a slot under an
    # active hold (the `hold` migration). Never set by hand: the services keep it in step.
    slot_status = models.CharField(max_length=8, null=True, blank=True, editable=False)
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="holds")
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="holds_made"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="hold_end_after_start"),
            models.CheckConstraint(
                condition=(
                    Q(status=HoldStatus.ACTIVE, slot_status=SlotStatus.FREE, slot__isnull=False)
                    | (~Q(status=HoldStatus.ACTIVE) & Q(slot_status__isnull=True))
                ),
                name="hold_active_pins_its_slot",
            ),
            models.UniqueConstraint(
                fields=["slot"], condition=Q(status=HoldStatus.ACTIVE), name="hold_one_active_per_slot"
            ),
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status=HoldStatus.ACTIVE), name="hold_one_active_per_patient"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="hold_status_expiry")]

    def __str__(self) -> str:
        return f"Hold {self.pk} {self.doctor} {self.start:%Y-%m-%d %H:%M} ({self.status})"

    def is_live(self, now: datetime) -> bool:
        """Active and not yet expired: the second `expires_at` comes, the slot is free."""
        return self.status == HoldStatus.ACTIVE and now < self.expires_at
