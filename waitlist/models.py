"""Waitlist entries and the offers made to them (contract §11).

A patient waits for a doctor over a range of clinic days, optionally within a time of
day. A slot that opens and matches is offered to the earliest waiting entry as a hold
(`scheduling.Hold`) lasting `offer_minutes`; the offer follows its hold: booked, released
(declined), expired, or withdrawn when the slot went away. Only `waitlist.services` writes.

The database refuses an entry with two open offers and a patient with two open entries
for one doctor.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Doctor, Patient


class EntryStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered a slot"
    BOOKED = "booked", "Booked"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


# An entry still in the line (its patient may not join that doctor's waitlist again).
OPEN_STATUSES = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitlistEntry(models.Model):
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="waitlist_entries")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="waitlist_entries")
    # The range of clinic days wanted (the contract's `from` and `to`), inclusive.
    first_day = models.DateField()
    last_day = models.DateField()
    # Optional time-of-day window, clinic wall clock: the slot starts no earlier, ends no later.
    earliest_time = models.TimeField(null=True, blank=True)
    latest_time = models.TimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.WAITING)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # First come, first served: the order of the line.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=models.F("first_day")), name="waitlist_days_in_order"),
            models.CheckConstraint(
                condition=Q(earliest_time__isnull=True)
                | Q(latest_time__isnull=True)
                | Q(latest_time__gt=models.F("earliest_time")),
                name="waitlist_times_in_order",
            ),
            models.UniqueConstraint(
                fields=["doctor", "patient"],
                condition=Q(status__in=OPEN_STATUSES),
                name="waitlist_one_open_entry_per_doctor",
            ),
        ]
        indexes = [models.Index(fields=["doctor", "status", "created_at"], name="waitlist_line")]

    def __str__(self) -> str:
        return f"Waitlist {self.pk}: {self.patient} for {self.doctor} ({self.status})"

    @property
    def open_offer(self) -> "Offer | None":
        """The offer now open to this entry (prefetched as `open_offers` by the list selector)."""
        if self.status != EntryStatus.OFFERED:
            return None
        prefetched = getattr(self, "open_offers", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.offers.filter(status=OfferStatus.OPEN).first()


class OfferStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Offer(models.Model):
    """A slot offered to one entry: its hold keeps the slot for the entry's patient."""

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.PROTECT, related_name="offers")
    hold = models.OneToOneField("scheduling.Hold", on_delete=models.PROTECT, related_name="offer")
    start = models.DateTimeField()
    end = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=OfferStatus.choices, default=OfferStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"], condition=Q(status=OfferStatus.OPEN), name="offer_one_open_per_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"Offer {self.pk} to entry {self.entry_id} ({self.status})"
