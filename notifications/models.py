"""Notifications (SMS, email, in-app), channel preferences, messages and webhook receipts.

Only `notifications.services` writes these models.

A notification's delivery is a small state machine moved by conditional UPDATEs
(services.notification_deliver): pending → sending → sent, or → failed with a reason.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.webhooks import WebhookReceipt


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Claimed by a worker that is talking to the provider right now (or died doing so).
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Kind(models.TextChoices):
    BOOKED = "appointment_booked", "Appointment booked"
    RESCHEDULED = "appointment_rescheduled", "Appointment moved"
    CANCELLED = "appointment_cancelled", "Appointment cancelled"
    REMINDER = "appointment_reminder", "Appointment reminder"
    WAITLIST_OFFER = "waitlist_offer", "Waitlist offer"
    ADMIN = "admin", "Sent by the clinic"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    # The phone number or email address at the time the notification was made.
    recipient = models.CharField(max_length=254, blank=True)
    status = models.CharField(max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # The appointment start the message speaks of, and for reminders the lead they honour:
    # with kind and channel, the reminder's identity (a moved appointment is reminded again).
    appointment_start = models.DateTimeField(null=True, blank=True)
    lead_minutes = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=128, blank=True, db_index=True)
    # The provider's latest word from its webhook (queued, delivered, bounce, ...).
    provider_status = models.CharField(max_length=32, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Overlapping beat runs, or two beat processes, cannot make the same reminder twice.
            models.UniqueConstraint(
                fields=["appointment", "kind", "channel", "lead_minutes", "appointment_start"],
                condition=Q(kind="appointment_reminder"),
                name="notification_one_reminder_per_lead_and_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"]),
            models.Index(fields=["status", "sending_started_at"], name="notification_in_flight"),
        ]

    def __str__(self) -> str:
        return f"Notification {self.pk} {self.kind} by {self.channel} to user {self.user_id} ({self.status})"


class NotificationPreference(models.Model):
    """Which channels a user wants. Without a row, every channel is on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    sms = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    in_app = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Preferences of user {self.user_id}"

    def allows(self, channel: str) -> bool:
        return bool(getattr(self, channel))


class Message(models.Model):
    """A message between a patient and a doctor who share a care relation."""

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages_sent")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="messages_received")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["sender", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} from {self.sender_id} to {self.recipient_id}"


class WebhookEvent(WebhookReceipt):
    """A Twilio or SendGrid event already processed: a replayed or repeated delivery is ignored."""

    provider = models.CharField(max_length=16)
    event_id = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_once")]

    def __str__(self) -> str:
        return f"{self.provider} event {self.event_id}"
