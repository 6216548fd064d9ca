"""The event outbox: every realtime event, stored with the change that caused it.

An event row is written in the same transaction as the change, so it exists exactly
when the change committed. It is then sent to the channel layer after commit; a relay
re-sends whatever was not marked sent (after a Redis outage, say), and a subscriber that
reconnects replays from here by id.

Display tokens let a reception screen (no user account) watch the display topics.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.tokens import ExpiringToken


class Event(models.Model):
    topic = models.CharField(max_length=100)
    name = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The id of the event stored just before this one on the same topic (None for the
    # first): a subscriber whose last delivered id differs knows it missed something.
    prev_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["topic", "id"]),
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="event_unsent"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.name}"

    def as_message(self) -> dict:
        """The event as the websocket sends it (contract §9)."""
        return {
            "type": "event",
            "id": self.pk,
            "topic": self.topic,
            "event": self.name,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


class DisplayToken(ExpiringToken):
    """A named reception-screen device. It may subscribe to display topics and nothing else.

    Stored hashed and shown once (`core.tokens`); it lives until revoked or until it
    expires (DISPLAY_TOKEN_TTL_DAYS), so a token that leaks stops working by itself, and
    rotation gives the screen a new token with a new expiry.
    """

    # Display tokens carry a prefix so the socket can tell them from API tokens at a glance.
    PREFIX = "dsp_"

    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"display {self.name}"
