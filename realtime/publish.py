"""The one way the platform publishes a realtime event (from sync code, inside a transaction).

    publish(topic=topics.doctor_availability(doctor.id), event="slot.booked", data={...})

stores the event in the outbox in the caller's transaction. Once that transaction commits
the event goes to the channel layer: with EVENT_RELAY=listen the relay process sends it
(realtime/relay.py, woken by the NOTIFY this transaction makes), so the writer does not
wait for the layer; with EVENT_RELAY=inline this process sends it after commit. If the
channel layer is down the event stays unsent in the outbox and is sent when it is back
(the relay, or the beat task realtime.tasks.relay_unsent_events); subscribers can replay
it by id. Nothing here runs, and nobody is notified, if the transaction rolls back.
"""

import json
import logging
import time
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from observability import metrics
from realtime import topics
from realtime.models import Event

logger = logging.getLogger(__name__)

# The PostgreSQL channel the relay LISTENs on.
NOTIFY_CHANNEL = "realtime_events"


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _lock_topic_family(topic: str) -> None:
    # Ids come from a sequence, handed out at insert, not at commit: two transactions
    # publishing on one topic could commit in the opposite order of their ids, and a
    # subscriber resuming "after id N" would then miss the smaller one. Holding this lock
    # until commit makes ids on a topic rise in commit order. One lock per doctor (or user)
    # covers all of its topics, so a transaction publishing several of them in any order
    # cannot deadlock with another. SQLite already serialises writers.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [topics.family(topic)])


# Every booking, cancellation and notification stores an event: one statement instead of
# three ORM ones (read the topic's last id, insert, notify), under the topic's lock taken
# just before in a statement of its own (its snapshot then sees the holder's commit).
# The table's name comes from the model; every value is a parameter.
_STORE = (
    f"INSERT INTO {Event._meta.db_table} (topic, name, data, occurred_at, prev_id)"  # noqa: S608
    f" VALUES (%s, %s, %s::jsonb, %s, (SELECT max(id) FROM {Event._meta.db_table} WHERE topic = %s))"
    " RETURNING id, prev_id"
)
# Delivered by PostgreSQL at commit, never for a rollback; one per transaction however many
# events it stores (identical notifications are folded).
_STORE_AND_NOTIFY = _STORE + f", pg_notify('{NOTIFY_CHANNEL}', '')"


def _store(*, topic: str, event: str, data: dict[str, Any]) -> Event:
    text = json.dumps(data, cls=DjangoJSONEncoder)
    stored = Event(topic=topic, name=event, data=json.loads(text), occurred_at=timezone.now())
    statement = _STORE_AND_NOTIFY if settings.EVENT_RELAY == "listen" else _STORE
    with connection.cursor() as cursor:
        cursor.execute(statement, [topic, event, text, stored.occurred_at, topic])
        stored.pk, stored.prev_id = cursor.fetchone()[:2]
    stored._state.adding = False
    return stored


def publish(*, topic: str, event: str, data: dict[str, Any]) -> Event:
    """Record `event` on `topic` and send it after the surrounding transaction commits."""
    if not topics.is_valid(topic):
        raise ValueError(f"not a topic: {topic!r}")
    # No savepoint: the event belongs to the caller's change, and a failure fails the change.
    with transaction.atomic(savepoint=False):
        _lock_topic_family(topic)
        if connection.vendor == "postgresql":
            stored = _store(topic=topic, event=event, data=data)
        else:
            prev_id = Event.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first()
            stored = Event.objects.create(topic=topic, name=event, data=_json_safe(data), prev_id=prev_id)
    # Logged with the request id of the change that caused it (observability.context).
    logger.info("event %s %s stored on %s", stored.pk, event, topic)
    metrics.event_stored(topic)
    if settings.EVENT_RELAY == "inline":
        # partial binds this event now; a closure over a loop variable would see the last one.
        transaction.on_commit(partial(send_event, stored.pk))
    return stored


def layer_message(event: Event) -> dict[str, Any]:
    """What goes to the channel layer: handled by realtime.router.TopicRouter and each socket's `live`.

    `text` is the websocket frame, encoded once here rather than once per subscriber;
    `sent_at` (wall clock) lets each web process time the fan-out to its sockets.
    """
    message = event.as_message()
    return {
        "type": "topic.event",
        "event": message,
        "text": json.dumps(message),
        "prev_id": event.prev_id,
        "sent_at": time.time(),
    }


def send_event(event_id: int, *, path: str = "after_commit") -> bool:
    """Send one stored event to its topic's group and mark it sent. False if the layer failed.

    `path` says who sends, for the metrics: the publisher after commit, or the beat task.
    """
    event = Event.objects.filter(pk=event_id).first()
    if event is None:
        return False
    layer = get_channel_layer()
    started = time.perf_counter()
    try:
        async_to_sync(layer.group_send)(topics.group_name(event.topic), layer_message(event))
    except Exception:
        # The event is safe in the outbox; the relay will send it when the layer is back.
        logger.warning("channel layer send failed for event %s on %s", event.pk, event.topic, exc_info=True)
        metrics.event_send_failed()
        return False
    metrics.event_sent(path=path, seconds=time.perf_counter() - started)
    Event.objects.filter(pk=event.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    return True
