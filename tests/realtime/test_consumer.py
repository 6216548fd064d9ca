"""The websocket protocol of contract §9, rule by rule, with WebsocketCommunicator."""

import json
import logging
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts import services
from accounts.models import AuthToken
from config.asgi import application
from realtime import topics
from realtime.models import DisplayToken, Event
from realtime.publish import send_event
from tests.realtime.helpers import display_data, publish_committed, slot_data

pytestmark = pytest.mark.django_db(transaction=True)


# --- authentication ----------------------------------------------------------------------


async def test_auth_answers_with_the_user_id(socket, token_of, alice):
    sock = await socket()
    answer = await sock.request({"action": "auth", "token": await token_of(alice)})
    assert answer == {"type": "authenticated", "user": alice.pk}


async def test_no_auth_within_the_deadline_closes_4000(socket, settings):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.2
    sock = await socket()
    assert await sock.closed_with() == 4000


async def test_ping_before_auth_does_not_extend_the_deadline(socket, settings):
    settings.WS_AUTH_TIMEOUT_SECONDS = 0.4
    sock = await socket()
    assert await sock.request({"action": "ping"}) == {"type": "pong"}
    assert await sock.closed_with() == 4000


async def test_bad_token_closes_4001(socket):
    sock = await socket()
    await sock.send({"action": "auth", "token": "not-a-token"})
    assert await sock.closed_with() == 4001


@pytest.mark.parametrize("token", [None, 42, "", "x" * 300, "dsp_unknown"])
async def test_malformed_or_unknown_tokens_close_4001(socket, token):
    sock = await socket()
    await sock.send({"action": "auth", "token": token})
    assert await sock.closed_with() == 4001


async def test_expired_and_revoked_tokens_are_refused(socket, alice):
    expired = await database_sync_to_async(services.token_issue)(user=alice)
    revoked = await database_sync_to_async(services.token_issue)(user=alice)
    await AuthToken.objects.filter(expires_at=expired.expires_at).aupdate(expires_at=timezone.now())
    await AuthToken.objects.filter(expires_at=revoked.expires_at).aupdate(revoked_at=timezone.now())
    for raw in (expired.token, revoked.token):
        sock = await socket()
        await sock.send({"action": "auth", "token": raw})
        assert await sock.closed_with() == 4001


async def test_a_deactivated_users_token_is_refused(socket, token_of, alice):
    raw = await token_of(alice)
    await type(alice).objects.filter(pk=alice.pk).aupdate(is_active=False)
    sock = await socket()
    await sock.send({"action": "auth", "token": raw})
    assert await sock.closed_with() == 4001


async def test_the_socket_closes_4001_when_its_token_expires(socket, alice):
    session = await database_sync_to_async(services.token_issue)(user=alice)
    await AuthToken.objects.filter(expires_at=session.expires_at).aupdate(
        expires_at=timezone.now() + timedelta(seconds=0.5)
    )
    sock = await socket(token=session.token)
    assert await sock.closed_with(timeout=3) == 4001


async def test_the_socket_closes_4001_when_its_token_is_revoked(socket, settings, alice):
    settings.WS_TOKEN_RECHECK_SECONDS = 0.2
    session = await database_sync_to_async(services.token_issue)(user=alice)
    sock = await socket(token=session.token)
    await AuthToken.objects.filter(expires_at=session.expires_at).aupdate(revoked_at=timezone.now())
    assert await sock.closed_with(timeout=3) == 4001


async def test_revoking_one_token_closes_only_its_socket(socket, settings, token_of, alice, bob):
    settings.WS_TOKEN_RECHECK_SECONDS = 0.2
    session = await database_sync_to_async(services.token_issue)(user=alice)
    revoked = await socket(token=session.token)
    kept = await socket(token=await token_of(bob))
    await AuthToken.objects.filter(expires_at=session.expires_at).aupdate(revoked_at=timezone.now())
    assert await revoked.closed_with(timeout=3) == 4001
    assert await kept.request({"action": "ping"}) == {"type": "pong"}


async def test_a_second_auth_is_an_error(socket, token_of, alice):
    raw = await token_of(alice)
    sock = await socket(token=raw)
    answer = await sock.request({"action": "auth", "token": raw})
    assert answer["type"] == "error" and answer["code"] == "already_authenticated"


async def test_actions_before_auth_are_refused(socket, carol):
    sock = await socket()
    answer = await sock.request({"action": "subscribe", "topic": topics.doctor_availability(carol.doctor.pk)})
    assert answer["type"] == "error" and answer["code"] == "not_authenticated"


async def test_the_token_never_reaches_the_log(socket, caplog, alice):
    session = await database_sync_to_async(services.token_issue)(user=alice)
    caplog.set_level(logging.DEBUG)
    sock = await socket(token=session.token)
    await sock.request({"action": "ping"})
    bad = await socket()
    await bad.send({"action": "auth", "token": session.token + "x"})
    assert await bad.closed_with() == 4001
    assert session.token not in caplog.text


@pytest.mark.parametrize("origin", [None, b"http://evil.example"])
async def test_foreign_or_missing_origins_are_refused(origin):
    headers = [] if origin is None else [(b"origin", origin)]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert not connected


# --- bad input ------------------------------------------------------------------------------


async def test_malformed_input_gets_errors_and_the_socket_stays_open(socket, token_of, settings, alice):
    settings.WS_MAX_MESSAGE_BYTES = 200
    sock = await socket(token=await token_of(alice))
    await sock.send_text("{not json")
    assert (await sock.receive())["code"] == "bad_json"
    await sock.send_text("[1, 2]")
    assert (await sock.receive())["code"] == "bad_message"
    await sock.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await sock.receive())["code"] == "bad_message"
    assert (await sock.request({"action": "dance"}))["code"] == "unknown_action"
    assert (await sock.request({"no": "action"}))["code"] == "unknown_action"
    assert (await sock.request({"action": "ping", "pad": "x" * 300}))["code"] == "message_too_large"
    assert (await sock.request({"action": "ping"})) == {"type": "pong"}


@pytest.mark.parametrize("last_event_id", [-1, "7", 1.5, True])
async def test_a_bad_last_event_id_is_refused(socket, token_of, alice, carol, last_event_id):
    sock = await socket(token=await token_of(alice))
    topic = topics.doctor_availability(carol.doctor.pk)
    answer = await sock.subscribe(topic, last_event_id=last_event_id)
    assert answer == {"type": "error", "code": "bad_message", "topic": topic, "detail": answer["detail"]}


async def test_too_many_subscriptions(socket, token_of, settings, rita, carol, dave):
    settings.WS_MAX_SUBSCRIPTIONS = 2
    sock = await socket(token=await token_of(rita))
    assert (await sock.subscribe(topics.doctor_queue(carol.doctor.pk)))["type"] == "subscribed"
    assert (await sock.subscribe(topics.doctor_queue(dave.doctor.pk)))["type"] == "subscribed"
    # Subscribing again to a topic already held is not a new subscription.
    assert (await sock.subscribe(topics.doctor_queue(dave.doctor.pk)))["type"] == "subscribed"
    answer = await sock.subscribe(topics.doctor_availability(carol.doctor.pk))
    assert answer["type"] == "error" and answer["code"] == "too_many_subscriptions"


# --- authorisation per topic ----------------------------------------------------------------

# (who, which topic, answer): contract §9's table, with each refusal.
CASES = [
    ("alice", "availability:carol", "subscribed"),
    ("carol", "availability:dave", "subscribed"),
    ("carol", "queue:carol", "subscribed"),
    ("dave", "queue:carol", "forbidden"),
    ("alice", "queue:carol", "forbidden"),
    ("rita", "queue:carol", "subscribed"),
    ("ada", "queue:carol", "subscribed"),
    ("alice", "notifications:alice", "subscribed"),
    ("bob", "notifications:alice", "forbidden"),
    ("ada", "notifications:alice", "forbidden"),
    ("rita", "display:carol", "subscribed"),
    ("ada", "display:carol", "subscribed"),
    ("carol", "display:carol", "forbidden"),
    ("alice", "display:carol", "forbidden"),
    ("display", "display:carol", "subscribed"),
    ("display", "availability:carol", "forbidden"),
    ("display", "queue:carol", "forbidden"),
    ("display", "notifications:alice", "forbidden"),
]


@pytest.mark.parametrize(("who", "what", "expected"), CASES)
async def test_subscribe_authorisation(
    socket, token_of, display_token, alice, bob, carol, dave, rita, ada, who, what, expected
):
    people = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "rita": rita, "ada": ada}
    kind, owner_name = what.split(":")
    owner = people[owner_name]
    topic = {
        "availability": lambda: topics.doctor_availability(owner.doctor.pk),
        "queue": lambda: topics.doctor_queue(owner.doctor.pk),
        "display": lambda: topics.display_doctor(owner.doctor.pk),
        "notifications": lambda: topics.user_notifications(owner.pk),
    }[kind]()
    token = display_token if who == "display" else await token_of(people[who])
    sock = await socket(token=token)
    answer = await sock.subscribe(topic)
    if expected == "subscribed":
        assert answer == {"type": "subscribed", "topic": topic}
    else:
        assert answer == {"type": "error", "code": expected, "topic": topic}


async def test_a_display_token_authenticates_as_a_display(socket, display_token):
    sock = await socket()
    answer = await sock.request({"action": "auth", "token": display_token})
    display = await DisplayToken.objects.aget()
    assert answer == {"type": "authenticated", "user": None, "display": display.pk}


async def test_a_revoked_display_token_is_closed(socket, settings, display_token):
    settings.WS_TOKEN_RECHECK_SECONDS = 0.2
    sock = await socket(token=display_token)
    await DisplayToken.objects.all().aupdate(revoked_at=timezone.now())
    assert await sock.closed_with() == 4001
    again = await socket()
    await again.send({"action": "auth", "token": display_token})
    assert await again.closed_with() == 4001


@pytest.mark.parametrize(
    "topic", ["doctor.x.availability", "doctor.1.secrets", "t.doctor.1.queue", 17, None, "a" * 500]
)
async def test_unknown_topics(socket, token_of, rita, topic):
    sock = await socket(token=await token_of(rita))
    answer = await sock.subscribe(topic)
    assert answer["type"] == "error" and answer["code"] == "unknown_topic"


async def test_a_topic_of_no_doctor_is_unknown(socket, token_of, rita):
    sock = await socket(token=await token_of(rita))
    answer = await sock.subscribe(topics.doctor_queue(987654))
    assert answer == {"type": "error", "code": "unknown_topic", "topic": topics.doctor_queue(987654)}


# --- many sockets at once (a reconnect storm) -------------------------------------------------


async def test_sockets_authenticating_and_subscribing_together_each_get_their_own_answer(
    socket, token_of, display_token, alice, bob, carol, rita
):
    """Their token and subscribe reads go to the database together (gathering.Gathered):
    each socket still gets the answer it would have alone."""
    tokens = {"alice": await token_of(alice), "bob": await token_of(bob), "rita": await token_of(rita)}
    availability, queue = topics.doctor_availability(carol.doctor.pk), topics.doctor_queue(carol.doctor.pk)
    plan = [
        ("alice", {"type": "authenticated", "user": alice.pk}, queue, "forbidden"),
        ("rita", {"type": "authenticated", "user": rita.pk}, queue, "subscribed"),
        ("bob", {"type": "authenticated", "user": bob.pk}, topics.user_notifications(alice.pk), "forbidden"),
        ("bob", {"type": "authenticated", "user": bob.pk}, topics.user_notifications(bob.pk), "subscribed"),
        ("alice", {"type": "authenticated", "user": alice.pk}, availability, "subscribed"),
        ("rita", {"type": "authenticated", "user": rita.pk}, topics.doctor_queue(987654), "unknown_topic"),
    ] * 5
    socks = [await socket() for _ in range(len(plan) + 5)]
    for sock, (who, _, _, _) in zip(socks, plan, strict=False):
        await sock.send({"action": "auth", "token": tokens[who]})
    for sock in socks[len(plan) :]:
        await sock.send({"action": "auth", "token": "not-a-token"})
    for sock, (_, authenticated, _, _) in zip(socks, plan, strict=False):
        assert await sock.receive() == authenticated
    for sock in socks[len(plan) :]:
        assert await sock.closed_with() == 4001
    for sock, (_, _, topic, _) in zip(socks, plan, strict=False):
        await sock.send({"action": "subscribe", "topic": topic})
    for sock, (_, _, topic, expected) in zip(socks, plan, strict=False):
        answer = await sock.receive()
        if expected == "subscribed":
            assert answer == {"type": "subscribed", "topic": topic}
        else:
            assert answer == {"type": "error", "code": expected, "topic": topic}


# --- delivery -------------------------------------------------------------------------------


async def test_live_events_reach_subscribers_of_their_topic_only(socket, token_of, alice, bob, carol, dave):
    watching_carol = await socket(token=await token_of(alice))
    watching_dave = await socket(token=await token_of(bob))
    await watching_carol.subscribe(topics.doctor_availability(carol.doctor.pk))
    await watching_dave.subscribe(topics.doctor_availability(dave.doctor.pk))
    stored = await publish_committed(
        topics.doctor_availability(carol.doctor.pk), "slot.booked", slot_data(carol.doctor.pk)
    )
    [event] = await watching_carol.events(1)
    assert event["id"] == stored.pk and event["event"] == "slot.booked" and event["topic"] == stored.topic
    assert event["data"]["doctor"] == carol.doctor.pk
    assert await watching_dave.nothing()


async def test_unsubscribe_stops_the_topic(socket, token_of, alice, carol):
    topic = topics.doctor_availability(carol.doctor.pk)
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic)
    assert await sock.request({"action": "unsubscribe", "topic": topic}) == {"type": "unsubscribed", "topic": topic}
    await publish_committed(topic, "slot.released", slot_data(carol.doctor.pk))
    assert await sock.nothing()


async def test_events_of_a_rolled_back_transaction_are_never_sent(socket, token_of, alice, carol):
    from django.db import transaction

    from realtime.publish import publish

    topic = topics.doctor_availability(carol.doctor.pk)
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic)

    def publish_then_fail() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            publish(topic=topic, event="slot.booked", data=slot_data(carol.doctor.pk))
            raise RuntimeError("the change failed")

    await database_sync_to_async(publish_then_fail)()
    assert await sock.nothing()
    assert not await Event.objects.filter(topic=topic).aexists()


async def test_resume_replays_missed_events_in_order_then_goes_live(socket, token_of, alice, carol):
    topic = topics.doctor_availability(carol.doctor.pk)
    seen = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 60))
    missed = [await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, m)) for m in (90, 120)]
    await publish_committed(topics.doctor_availability(0 + alice.pk + 10_000), "slot.booked", slot_data(1))
    sock = await socket(token=await token_of(alice))
    assert (await sock.subscribe(topic, last_event_id=seen.pk))["type"] == "subscribed"
    replayed = await sock.events(2)
    assert [event["id"] for event in replayed] == [event.pk for event in missed]
    live = await publish_committed(topic, "slot.released", slot_data(carol.doctor.pk, 60))
    assert [event["id"] for event in await sock.events(1)] == [live.pk]
    assert await sock.nothing()


async def test_no_duplicate_at_the_seam_when_events_are_sent_again(socket, token_of, alice, carol):
    topic = topics.doctor_availability(carol.doctor.pk)
    first = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 60))
    second = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 90))
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic, last_event_id=first.pk)
    assert [event["id"] for event in await sock.events(1)] == [second.pk]
    # The relay re-sends what it believes unsent (say, after a lost acknowledgement).
    for event in (first, second):
        await database_sync_to_async(send_event)(event.pk)
    assert await sock.nothing()


async def test_a_lost_live_event_is_recovered_from_the_outbox(socket, token_of, alice, carol, monkeypatch):
    topic = topics.doctor_availability(carol.doctor.pk)
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic)
    # The first event's after-commit send never happens (a crash between commit and send).
    monkeypatch.setattr("realtime.publish.send_event", lambda event_id: False)
    lost = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 60))
    monkeypatch.undo()
    assert await sock.nothing()
    following = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 90))
    assert [event["id"] for event in await sock.events(2)] == [lost.pk, following.pk]
    assert await sock.nothing()


async def test_resync_required_when_the_gap_was_pruned(socket, token_of, alice, carol):
    topic = topics.doctor_availability(carol.doctor.pk)
    old = [await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, m)) for m in (60, 90)]
    kept = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 120))
    await Event.objects.filter(pk__in=[event.pk for event in old]).adelete()
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic, last_event_id=old[0].pk)
    assert await sock.receive() == {"type": "resync_required", "topic": topic}
    assert await sock.nothing()
    live = await publish_committed(topic, "slot.released", slot_data(carol.doctor.pk, 60))
    assert [event["id"] for event in await sock.events(1)] == [live.pk]
    assert kept.pk < live.pk


async def test_a_replay_longer_than_the_limit_is_a_resync(socket, token_of, settings, alice, carol):
    settings.WS_REPLAY_LIMIT = 2
    topic = topics.doctor_availability(carol.doctor.pk)
    first = await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, 30))
    for minutes in (60, 90, 120):
        await publish_committed(topic, "slot.booked", slot_data(carol.doctor.pk, minutes))
    sock = await socket(token=await token_of(alice))
    await sock.subscribe(topic, last_event_id=first.pk)
    assert await sock.receive() == {"type": "resync_required", "topic": topic}


async def test_display_screens_receive_queue_numbers(socket, display_token, carol):
    topic = topics.display_doctor(carol.doctor.pk)
    sock = await socket(token=display_token)
    await sock.subscribe(topic)
    # Built in a thread: the clinic's day reads the clinic's time zone from the database.
    data = await database_sync_to_async(display_data)(carol.doctor.pk, 3, 4, 5)
    await publish_committed(topic, "queue.updated", data)
    [event] = await sock.events(1)
    assert event["data"]["now_serving"] == {"queue_number": 3, "status": "in_progress"}
    assert json.dumps(event["data"]).find("Alice") == -1


async def test_other_websocket_paths_are_refused():
    communicator = WebsocketCommunicator(application, "/ws/elsewhere/", headers=[(b"origin", b"http://127.0.0.1")])
    connected, _ = await communicator.connect()
    assert not connected
