"""The event outbox: every realtime event, stored with the change that caused it.

An event row is written in the same transaction as the change, so it exists exactly
when the change committed. It is then sent to the channel layer after commit; a relay
re-sends whatever was not marked sent (after a Redis outage, say), and a subscriber that
reconnects replays from here by id.
"""

from django.db import models
from django.utils import timezone


class Event(models.Model):
    topic = models.CharField(max_length=100)
    name = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

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
