"""Outbox upkeep: re-send what the after-commit send could not, and forget old events.

Both run from celery beat (CELERY_BEAT_SCHEDULE in config/settings/celery.py).
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from realtime.models import Event
from realtime.publish import send_event

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def relay_unsent_events(batch: int = 500) -> int:
    """Send stored events that were never marked sent, oldest first; stop at the first failure.

    Events younger than EVENT_RELAY_GRACE_SECONDS are left to their own after-commit send.
    A re-send is harmless: subscribers drop ids they already have.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.EVENT_RELAY_GRACE_SECONDS)
    pending = list(
        Event.objects.filter(sent_at__isnull=True, occurred_at__lte=cutoff)
        .order_by("id")
        .values_list("id", flat=True)[:batch]
    )
    sent = 0
    for event_id in pending:
        if not send_event(event_id, path="relay"):
            # The channel layer is still down; the next beat tries again.
            break
        sent += 1
    if pending:
        logger.info("relayed %s of %s unsent events", sent, len(pending))
    return sent


@shared_task(ignore_result=True)
def prune_events() -> int:
    """Delete events older than EVENT_RETENTION, keeping the newest one.

    The newest row stays so the replay can always tell "nothing happened since" from
    "what happened since is gone" (see realtime.selectors.replay_after).
    """
    newest = Event.objects.aggregate(newest=Max("id"))["newest"]
    if newest is None:
        return 0
    cutoff = timezone.now() - settings.EVENT_RETENTION
    deleted, _ = Event.objects.filter(occurred_at__lt=cutoff, id__lt=newest).delete()
    if deleted:
        logger.info("pruned %s events older than %s", deleted, cutoff.isoformat())
    return deleted
