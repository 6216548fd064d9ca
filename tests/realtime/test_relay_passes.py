"""How much the outbox relay asks PostgreSQL per wake (realtime.relay, EVENT_RELAY=listen)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from realtime import topics
from realtime.models import Event
from realtime.publish import publish
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
