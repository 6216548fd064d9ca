"""What storing and relaying an event asks of PostgreSQL (realtime.publish, realtime.relay,
EVENT_RELAY=listen)."""

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime import topics
from realtime.models import Event
from realtime.publish import NOTIFY_CHANNEL, publish
from realtime.relay import Relay
from tests.realtime.helpers import slot_data

pytestmark = pytest.mark.django_db(transaction=True)


def _commit_events(doctor_id: int, count: int) -> None:
    for index in range(count):
        with transaction.atomic():
            publish(
                topic=topics.doctor_availability(doctor_id), event="slot.booked", data=slot_data(doctor_id, 60 + index)
            )


def test_a_pass_that_reads_fewer_than_a_batch_does_not_ask_again(settings, carol):
    settings.EVENT_RELAY = "listen"
    Event.objects.filter(sent_at__isnull=True).update(sent_at=timezone.now())
    _commit_events(carol.doctor.pk, 3)
    relay = Relay()
    try:
        with CaptureQueriesContext(connection) as queries:
            assert relay.send_pending()
    finally:
        relay.loop.close()
    # One read of the unsent events and one update marking them sent; an event committed
    # after the read wakes the relay through its notification.
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert not Event.objects.filter(sent_at__isnull=True).exists()


def test_under_load_one_update_marks_the_events_of_several_passes(settings, carol):
    settings.EVENT_RELAY = "listen"
    Event.objects.filter(sent_at__isnull=True).update(sent_at=timezone.now())
    relay = Relay()
    try:
        _commit_events(carol.doctor.pk, 2)
        assert relay.send_pending()  # the first send after a quiet spell is marked at once
        relay.mark_seconds = 3600  # every later pass is within the marking window
        _commit_events(carol.doctor.pk, 3)
        sent: list[int] = []
        real_send = relay._send

        async def recording(events: list[Event]) -> list[Event]:
            sent.extend(event.pk for event in events)
            return await real_send(events)

        relay._send = recording
        with CaptureQueriesContext(connection) as queries:
            assert relay.send_pending()
            assert relay.send_pending()
        # Two reads, no update: the second read skips what the first sent, though unmarked.
        assert len(queries) == 2, [q["sql"] for q in queries]
        unsent = list(Event.objects.filter(sent_at__isnull=True).order_by("id").values_list("id", flat=True))
        assert sent == unsent and len(sent) == 3
        with CaptureQueriesContext(connection) as queries:
            relay.mark_sent(force=True)
        assert len(queries) == 1
        assert not Event.objects.filter(sent_at__isnull=True).exists()
    finally:
        relay.loop.close()


def test_publishing_is_two_statements_the_topic_lock_and_the_stored_event(settings, carol, django_assert_num_queries):
    settings.EVENT_RELAY = "listen"
    topic = topics.doctor_availability(carol.doctor.pk)
    params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        with transaction.atomic():
            first = publish(topic=topic, event="slot.booked", data=slot_data(carol.doctor.pk, 60))
            with django_assert_num_queries(2):
                second = publish(topic=topic, event="slot.released", data=slot_data(carol.doctor.pk, 60))
            # Nobody hears of an event before its transaction commits.
            assert list(listener.notifies(timeout=0.2)) == []
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [NOTIFY_CHANNEL]
    assert second.prev_id == first.pk
    assert Event.objects.get(pk=second.pk).as_message() == second.as_message()
