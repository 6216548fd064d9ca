"""What the outbox tells the operator: how many events wait to be sent and for how long.

Read at scrape time by /metrics and by /api/health/ready (observability.probes). Both
queries run on the partial index of unsent events, so they stay cheap with a full outbox.
"""

from django.utils import timezone

from observability import probes
from realtime.models import Event


def outbox_lag_seconds() -> float:
    """Age of the oldest event stored and not yet sent; 0 when everything was sent."""
    oldest = Event.objects.filter(sent_at__isnull=True).order_by("id").values_list("occurred_at", flat=True).first()
    if oldest is None:
        return 0.0
    return max(0.0, (timezone.now() - oldest).total_seconds())


def outbox_unsent() -> float:
    return float(Event.objects.filter(sent_at__isnull=True).count())


def register() -> None:
    probes.provide(probes.OUTBOX_LAG, outbox_lag_seconds)
    probes.provide(probes.OUTBOX_UNSENT, outbox_unsent)
