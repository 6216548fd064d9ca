"""The one way the platform publishes a realtime event (from sync code, inside a transaction).

    publish(topic=topics.doctor_availability(doctor.id), event="slot.booked", data={...})

stores the event in the outbox in the caller's transaction and, once that transaction
commits, hands it to the channel layer. If the channel layer is down the event stays
unsent in the outbox; the relay (realtime.tasks.relay_unsent_events) sends it later and
subscribers can replay it by id. Nothing here runs if the transaction rolls back.
"""

import logging
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from realtime import topics
from realtime.models import Event

logger = logging.getLogger(__name__)


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def publish(*, topic: str, event: str, data: dict[str, Any]) -> Event:
    """Record `event` on `topic` and send it after the surrounding transaction commits."""
    if not topics.is_valid(topic):
        raise ValueError(f"not a topic: {topic!r}")
    stored = Event.objects.create(topic=topic, name=event, data=_json_safe(data))
    # partial binds this event now; a closure over a loop variable would see the last one.
    transaction.on_commit(partial(send_event, stored.pk))
    return stored


def send_event(event_id: int) -> bool:
    """Send one stored event to its topic's group and mark it sent. False if the layer failed."""
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return False
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(
            topics.group_name(event.topic), {"type": "topic.event", "event": event.as_message()}
        )
    except Exception:
        # The event is safe in the outbox; the relay will send it when the layer is back.
        logger.warning("channel layer send failed for event %s on %s", event.pk, event.topic, exc_info=True)
        return False
    Event.objects.filter(pk=event.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
