"""The outbox relay (EVENT_RELAY=listen) with real processes: daphne, `manage.py
relay_events`, and a Redis of the test's own that the test stops and starts again."""

import contextlib
import json
import time

import httpx
import pytest
from django.db import transaction
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts import services as accounts_services
from realtime import topics
from realtime.contracts import validate_message
from realtime.models import Event
from realtime.publish import publish
from scheduling import services as scheduling_services
from tests.scheduling.conftest import free_slots, give_hours, set_policy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _watch(address: str, token: str, topic: str) -> ClientConnection:
    ws = connect(f"ws://{address}/ws/", origin=Origin(f"http://{address}"), open_timeout=10)
    ws.send(json.dumps({"action": "auth", "token": token}))
    assert json.loads(ws.recv(timeout=10))["type"] == "authenticated"
    ws.send(json.dumps({"action": "subscribe", "topic": topic}))
    assert json.loads(ws.recv(timeout=10)) == {"type": "subscribed", "topic": topic}
    return ws


def _event_ids(ws: ClientConnection, count: int, timeout: float = 30) -> list[int]:
    """The ids of the events the socket receives, until `count` or `timeout`, then any extra."""
    ids: list[int] = []
    deadline = time.monotonic() + timeout
    while len(ids) < count and time.monotonic() < deadline:
        try:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            break
        validate_message(message)
        assert message["type"] == "event", message
        ids.append(message["id"])
    with contextlib.suppress(TimeoutError):
        # Anything more (a duplicate) would arrive now.
        ids.append(json.loads(ws.recv(timeout=1.5))["id"])
    return ids


def _published_ids(topic: str, *, after: int) -> list[int]:
    return list(Event.objects.filter(topic=topic, id__gt=after).order_by("id").values_list("id", flat=True))


def _newest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_bookings_made_while_redis_is_stopped_arrive_once_in_commit_order(
    settings, redis_server, daphne_server, relay_process, alice, bob, carol, ada
):
    settings.EVENT_RELAY = "listen"
    give_hours(carol, ada)
    set_policy("max_open_appointments_per_patient", 20)
    slots = free_slots(carol)[:9]
    topic = topics.doctor_availability(carol.doctor.pk)
    history = _newest_id()
    env = {"REDIS_URL": redis_server.url, "EVENT_RELAY": "listen"}
    server = daphne_server(**env)
    relay_process(REDIS_URL=redis_server.url)
    ws = _watch(server, accounts_services.token_issue(user=bob).token, topic)

    def book(index: int) -> None:
        scheduling_services.appointment_book(actor=alice, doctor=carol.doctor, start=slots[index].start)

    for index in range(3):
        book(index)
    assert _event_ids(ws, 3) == _published_ids(topic, after=history)

    redis_server.stop()
    for index in range(3, 7):
        book(index)
    with pytest.raises(RuntimeError), transaction.atomic():
        # Rolled back: stored, notified and then undone; nobody may ever see it.
        data = {"doctor": carol.doctor.pk, "start": slots[8].start.isoformat(), "end": slots[8].end.isoformat()}
        publish(topic=topic, event="slot.booked", data=data)
        raise RuntimeError
    assert Event.objects.filter(topic=topic, sent_at__isnull=True).count() == 4
    redis_server.start()
    for index in range(7, 9):
        book(index)

    expected = _published_ids(topic, after=history)
    assert len(expected) == 9
    # Generous: the relay retries every second and daphne's subscription reconnects by
    # itself; on a loaded machine that may take a while, and the call returns on the sixth.
    assert _event_ids(ws, 6, timeout=90) == expected[3:]
    assert not Event.objects.filter(sent_at__isnull=True).exists()
    ws.close()


def test_two_web_processes_a_socket_on_each_gets_every_event_once_in_order(
    settings, daphne_server, relay_process, alice, bob, carol, ada
):
    give_hours(carol, ada)
    set_policy("max_open_appointments_per_patient", 20)
    slots = free_slots(carol)[:6]
    topic = topics.doctor_availability(carol.doctor.pk)
    history = _newest_id()
    first, second = daphne_server(EVENT_RELAY="listen"), daphne_server(EVENT_RELAY="listen")
    relay_process()
    bob_token = accounts_services.token_issue(user=bob).token
    sockets = [_watch(first, bob_token, topic), _watch(second, bob_token, topic)]

    alice_token = accounts_services.token_issue(user=alice).token
    for index, slot in enumerate(slots):
        response = httpx.post(
            f"http://{(first, second)[index % 2]}/api/appointments/book/",
            json={"doctor": carol.doctor.pk, "start": slot.start.isoformat()},
            headers={"Authorization": f"Bearer {alice_token}"},
            timeout=30,
        )
        assert response.status_code == 201, response.text

    expected = _published_ids(topic, after=history)
    assert len(expected) == 6
    for ws in sockets:
        assert _event_ids(ws, 6) == expected
        ws.close()
