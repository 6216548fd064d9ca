"""The outbox relay: hands committed events to the channel layer, woken by PostgreSQL.

With EVENT_RELAY=listen (the default on PostgreSQL with Redis), `realtime.publish`
stores an event and calls `pg_notify` in the writer's transaction; PostgreSQL delivers the
notification only if, and when, that transaction commits. This relay (run by
`python manage.py relay_events`, one per deployment; more stand by) LISTENs, and on each
wake sends every unsent event, oldest id first, then marks them sent. The request that
made the change only commits: it no longer waits for the channel layer.

Guarantees, as with the in-process send it replaces:
- only after commit: an uncommitted event is invisible to the relay and notifies nobody;
- in commit order per topic: ids on a topic rise in commit order (realtime.publish takes
  the topic's lock), and the relay sends by id;
- never lost: an event stays unsent until the layer took it; when Redis is down the relay
  retries every second, and a subscriber that missed one live reads the gap by `prev_id`;
- a re-send (the relay died between sending and marking) is dropped by id at the socket.

Marking is batched: sent events wait up to MARK_SECONDS to be marked, so under load one
UPDATE (a commit, and its WAL flush) marks every event of that window instead of one per
wake; the relay's own reads skip the ones it sent and has not marked yet.
"""

import asyncio
import logging
import math
import threading
import time

import psycopg
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from observability import metrics
from realtime import topics
from realtime.models import Event
from realtime.publish import NOTIFY_CHANNEL, layer_message

logger = logging.getLogger(__name__)

# Held (a session advisory lock) by the one relay that sends; the others wait for it.
RELAY_LOCK = "realtime.relay"
# How long to wait before trying again when the channel layer or PostgreSQL failed.
RETRY_SECONDS = 1.0
# How long sent events may wait to be marked sent. A relay that dies first re-sends at most
# this window's events (sockets drop them by id); the beat's grace is well above it.
MARK_SECONDS = 0.25
# One statement whatever the number of events (an ORM update compiles a parameter per id).
_MARK_SENT = f"UPDATE {Event._meta.db_table} SET sent_at = %s WHERE id = ANY(%s) AND sent_at IS NULL"  # noqa: S608
# The unsent events, oldest first, but those this relay sent and has not marked yet. Raw:
# the ORM would compile a parameter per skipped id, on every wake.
_COLUMNS = ", ".join(f'"{field.column}"' for field in Event._meta.concrete_fields)
_UNSENT = (
    f"SELECT {_COLUMNS} FROM {Event._meta.db_table}"  # noqa: S608
    " WHERE sent_at IS NULL AND NOT (id = ANY(%s)) ORDER BY id LIMIT %s"
)


class Relay:
    """Sends unsent events from a loop of its own, so the layer's Redis connection is kept."""

    def __init__(self, *, batch: int = 500) -> None:
        self.batch = batch
        self.loop = asyncio.new_event_loop()
        self.layer = get_channel_layer()
        self.mark_seconds = MARK_SECONDS
        # Sent, not marked sent yet, oldest first; and when the relay last marked.
        self._unmarked: list[int] = []
        self._marked_at = -math.inf

    def send_pending(self) -> bool:
        """Send unsent events, oldest first, until none is left. False if the layer failed.

        A pass that read fewer than a batch read every event committed before it: one
        committed since woke the relay again (its notification waits on the listener), so
        the pass ends without asking once more.
        """
        while True:
            pending = list(Event.objects.raw(_UNSENT, [self._unmarked, self.batch]))
            sent = self.loop.run_until_complete(self._send(pending)) if pending else []
            self._unmarked.extend(event.pk for event in sent)
            self.mark_sent(force=len(self._unmarked) >= self.batch)
            if len(sent) < len(pending):
                return False
            if len(pending) < self.batch:
                return True

    def mark_sent(self, *, force: bool = False) -> None:
        """Mark what this relay sent, if MARK_SECONDS passed since it last did (or `force`)."""
        if not self._unmarked or not (force or time.monotonic() - self._marked_at >= self.mark_seconds):
            return
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT, [timezone.now(), self._unmarked])
        self._unmarked = []
        self._marked_at = time.monotonic()

    async def _send(self, events: list[Event]) -> list[Event]:
        sent: list[Event] = []
        for event in events:
            started = time.perf_counter()
            try:
                await self.layer.group_send(topics.group_name(event.topic), layer_message(event))
            except Exception:
                # Kept unsent, in order: the next pass starts again from this one.
                logger.warning("relay: channel layer send failed at event %s", event.pk, exc_info=True)
                metrics.event_send_failed()
                break
            metrics.event_sent(path="listen_relay", seconds=time.perf_counter() - started)
            sent.append(event)
        return sent

    def run(self, stop: threading.Event) -> None:
        """Relay until `stop` is set: listen, take the lock, send on every wake."""
        while not stop.is_set():
            try:
                self._listen(stop)
            except (psycopg.Error, DatabaseError):
                logger.warning("relay: PostgreSQL connection lost; reconnecting", exc_info=True)
                close_old_connections()
                stop.wait(RETRY_SECONDS)

    def _listen(self, stop: threading.Event) -> None:
        # Django's own connection parameters, minus its cursor and adapter set-up.
        params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
        with psycopg.connect(**params, autocommit=True) as listener:
            while not stop.is_set():
                row = listener.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [RELAY_LOCK]).fetchone()
                if row is not None and row[0]:
                    break
                # Another relay sends; stand by in case it stops.
                stop.wait(settings.EVENT_RELAY_INTERVAL_SECONDS)
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            logger.info("relay: sending committed events")
            while not stop.is_set():
                if not self.send_pending():
                    # The layer is down (Redis stopped): the events wait, in order.
                    stop.wait(RETRY_SECONDS)
                    continue
                # Woken by the next commit that stored an event; at the latest after a
                # second (to see `stop`, and to pick up an event whose notification was
                # lost while reconnecting: one query on the partial index of unsent ids),
                # or when what was sent is due to be marked.
                timeout = self.mark_seconds if self._unmarked else 1.0
                for _notification in listener.notifies(timeout=timeout, stop_after=1):
                    break
            self.mark_sent(force=True)
