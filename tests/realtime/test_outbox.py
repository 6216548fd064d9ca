"""The event outbox: ordering under concurrency, the relay, pruning, and a channel-layer outage."""

import socket as sockets
import threading
import time
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuthToken
from realtime import topics
from realtime.models import Event
from realtime.publish import publish
from realtime.tasks import prune_events, relay_unsent_events
from scheduling import services as scheduling_services
from scheduling.serializers import clinic_iso
from tests.realtime.helpers import slot_data
from tests.scheduling.helpers import free_slots, give_hours


def _dead_redis_url() -> str:
    # A port nothing listens on: bound, then released.
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.django_db(transaction=True)
def test_ids_on_a_topic_rise_in_commit_order(carol):
    topic = topics.doctor_availability(carol.doctor.pk)
    first_inside = threading.Event()
    ids: dict[str, int] = {}

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                ids["slow"] = publish(topic=topic, event="slot.booked", data=slot_data(carol.doctor.pk, 60)).pk
                first_inside.set()
                time.sleep(0.5)
        finally:
            connection.close()

    def quick_writer() -> None:
        try:
            first_inside.wait(5)
            with transaction.atomic():
                ids["quick"] = publish(topic=topic, event="slot.booked", data=slot_data(carol.doctor.pk, 90)).pk
        finally:
            connection.close()

    threads = [threading.Thread(target=slow_writer), threading.Thread(target=quick_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # The second publisher waited for the first to commit, so it saw it as its predecessor.
    quick = Event.objects.get(pk=ids["quick"])
    assert ids["slow"] < ids["quick"] and quick.prev_id == ids["slow"]


@pytest.mark.django_db
def test_relay_sends_old_unsent_events_in_order_and_leaves_fresh_ones(carol, settings):
    topic = topics.doctor_availability(carol.doctor.pk)
    old = [Event.objects.create(topic=topic, name="slot.booked", data=slot_data(carol.doctor.pk, m)) for m in (60, 90)]
    Event.objects.filter(pk__in=[e.pk for e in old]).update(occurred_at=timezone.now() - timedelta(minutes=1))
    fresh = Event.objects.create(topic=topic, name="slot.booked", data=slot_data(carol.doctor.pk, 120))
    assert relay_unsent_events() == 2
    assert list(Event.objects.filter(sent_at__isnull=True).values_list("id", flat=True)) == [fresh.pk]


@pytest.mark.django_db
def test_relay_stops_at_the_first_failure(carol, settings):
    settings.EVENT_RELAY_GRACE_SECONDS = 0
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_dead_redis_url()]}}
    }
    topic = topics.doctor_availability(carol.doctor.pk)
    for minutes in (60, 90):
        Event.objects.create(topic=topic, name="slot.booked", data=slot_data(carol.doctor.pk, minutes))
    assert relay_unsent_events() == 0
    assert Event.objects.filter(sent_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_prune_forgets_events_older_than_the_retention_but_keeps_the_newest(carol, settings):
    settings.EVENT_RETENTION = timedelta(hours=1)
    topic = topics.doctor_availability(carol.doctor.pk)
    events = [Event.objects.create(topic=topic, name="slot.booked", data=slot_data(carol.doctor.pk)) for _ in range(3)]
    Event.objects.filter(pk__in=[events[0].pk, events[2].pk]).update(occurred_at=timezone.now() - timedelta(hours=2))
    assert prune_events() == 1
    assert list(Event.objects.values_list("id", flat=True)) == [events[1].pk, events[2].pk]


@pytest.fixture
def carol_slots(carol, ada) -> list:
    give_hours(carol, ada)
    return free_slots(carol)[:4]


@pytest.mark.django_db(transaction=True)
async def test_bookings_made_while_the_channel_layer_is_down_arrive_once_in_order(
    socket, token_of, settings, alice, bob, carol, carol_slots
):
    """Fault test: the layer is unreachable while bookings are made; the relay and the replay recover their events."""
    topic = topics.doctor_availability(carol.doctor.pk)
    book = database_sync_to_async(scheduling_services.appointment_book)
    live = await socket(token=await token_of(alice))
    await live.subscribe(topic)
    away = await socket(token=await token_of(bob))
    await away.subscribe(topic)
    await book(actor=alice, doctor=carol.doctor, start=carol_slots[0].start)
    before = await Event.objects.filter(topic=topic).alatest("id")
    assert [e["id"] for e in await live.events(1)] == [before.pk]
    assert [e["id"] for e in await away.events(1)] == [before.pk]
    await away.communicator.disconnect()

    working_layers = settings.CHANNEL_LAYERS
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": working_layers["default"]["BACKEND"], "CONFIG": {"hosts": [_dead_redis_url()]}}
    }
    for slot in carol_slots[1:]:
        await book(actor=alice, doctor=carol.doctor, start=slot.start)
    missed = [event async for event in Event.objects.filter(topic=topic, id__gt=before.pk).order_by("id")]
    starts = await database_sync_to_async(lambda: [clinic_iso(slot.start) for slot in carol_slots[1:]])()
    assert [event.data["start"] for event in missed] == starts
    assert all(event.sent_at is None for event in missed)
    assert await live.nothing()
    assert await database_sync_to_async(relay_unsent_events)() == 0

    settings.CHANNEL_LAYERS = working_layers
    settings.EVENT_RELAY_GRACE_SECONDS = 0
    assert await database_sync_to_async(relay_unsent_events)() >= 3
    assert [e["id"] for e in await live.events(3)] == [e.pk for e in missed]

    resumed = await socket(token=await token_of(bob))
    await resumed.subscribe(topic, last_event_id=before.pk)
    assert [e["id"] for e in await resumed.events(3)] == [e.pk for e in missed]
    # A second relay pass (nothing unsent) and a re-send of everything: nobody sees a duplicate.
    assert await database_sync_to_async(relay_unsent_events)() == 0
    from realtime.publish import send_event

    for event in (before, *missed):
        await database_sync_to_async(send_event)(event.pk)
    assert await live.nothing() and await resumed.nothing()


@pytest.mark.django_db
def test_all_sockets_tokens_are_rechecked_in_two_queries(django_assert_num_queries, alice, bob, ada):
    from accounts import services as accounts_services
    from realtime import selectors
    from realtime import services as realtime_services

    principals = [
        selectors.principal_for_token(accounts_services.token_issue(user=user).token) for user in (alice, bob, ada)
    ]
    displays = [realtime_services.display_token_create(actor=ada, name=f"Screen {n}") for n in range(2)]
    principals += [selectors.principal_for_token(issued.token) for issued in displays]
    realtime_services.display_token_revoke(actor=ada, display=displays[0].display)
    AuthToken.objects.filter(pk=principals[1].auth_token_id).update(revoked_at=timezone.now())
    with django_assert_num_queries(2):
        dead = selectors.dead_principals(principals)
    assert dead == {principals[1], principals[3]}
