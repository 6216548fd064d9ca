"""Fault injection with real processes, run as production runs: daphne web processes and the
outbox relay (`manage.py relay_events`, EVENT_RELAY=listen) beside them, on the connection
pool. Redis killed during bookings, PostgreSQL restarted mid-run, a web process SIGKILLed
with sockets open. (A Celery worker SIGKILLed mid-delivery:
tests/notifications/test_worker_crash.py.) Each test starts its own processes on free ports
(tests/servers.py, tests/faults/processes.py) and stops them; docs/reliability.md has the
figures."""

import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts import demo
from accounts import services as accounts_services
from realtime import topics
from realtime.models import Event
from tests.faults.processes import Postgres
from tests.scheduling.helpers import free_slots, give_hours, set_policy

pytestmark = pytest.mark.slow

# How long the tests' HTTP client waits for an answer.
CLIENT_TIMEOUT = 15


def _receive(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def _subscribe(host: str, token: str, topic: str, last_event_id: int | None = None) -> ClientConnection:
    ws = connect(f"ws://{host}/ws/", origin=Origin(f"http://{host}"), open_timeout=10)
    ws.send(json.dumps({"action": "auth", "token": token}))
    assert _receive(ws)["type"] == "authenticated"
    message: dict[str, object] = {"action": "subscribe", "topic": topic}
    if last_event_id is not None:
        message["last_event_id"] = last_event_id
    ws.send(json.dumps(message))
    return ws


def _events(ws: ClientConnection, *, until: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The events received until `until` of them arrived, then any extra (a duplicate) that
    comes within a second and a half; subscribed/pong messages are skipped."""
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        waiting = max(0.1, deadline - time.monotonic()) if len(received) < until else 1.5
        try:
            message = _receive(ws, timeout=waiting)
        except TimeoutError:
            if len(received) < until:
                raise AssertionError(f"{len(received)} of {until} events within {timeout} s: {received}") from None
            return received
        if message["type"] == "event":
            received.append(message)
        else:
            assert message["type"] in {"subscribed", "pong"}, message


def _book(host: str, token: str, doctor_id: int, start: str) -> httpx.Response:
    return httpx.post(
        f"http://{host}/api/appointments/book/",
        json={"doctor": doctor_id, "start": start},
        headers={"Authorization": f"Bearer {token}"},
        # Generous: the machine may be busy.
        timeout=60,
    )


def _stored(topic: str, *, after: int) -> list[int]:
    return list(Event.objects.filter(topic=topic, id__gt=after).order_by("id").values_list("id", flat=True))


def _newest_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _all_sent(topic: str, *, after: int, timeout: float = 60) -> list[datetime]:
    """Waits until the relay sent every event after `after`; their sent_at in id order."""
    deadline = time.monotonic() + timeout
    while Event.objects.filter(topic=topic, id__gt=after, sent_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the relay did not send every event"
        time.sleep(0.2)
    sent = Event.objects.filter(topic=topic, id__gt=after).order_by("id").values_list("sent_at", flat=True)
    return [at for at in sent if at is not None]


@pytest.mark.django_db(transaction=True)
def test_redis_killed_during_bookings(redis_server, daphne_server, relay_process, alice, bob, carol, ada):
    give_hours(carol, ada)
    set_policy("max_open_appointments_per_patient", 20)
    slots = [slot.start.isoformat() for slot in free_slots(carol)[:6]]
    host = daphne_server(REDIS_URL=redis_server.url, EVENT_RELAY="listen")
    relay = relay_process(REDIS_URL=redis_server.url)
    topic = topics.doctor_availability(carol.doctor.pk)
    baseline = _newest_id()
    alice_token = accounts_services.token_issue(user=alice).token
    bob_token = accounts_services.token_issue(user=bob).token

    watcher = _subscribe(host, bob_token, topic)
    assert _book(host, alice_token, carol.doctor.pk, slots[0]).status_code == 201
    live = _events(watcher, until=1)

    redis_server.stop(kill=True)
    # The REST API keeps booking while Redis is down: the events wait in the outbox.
    for start in slots[1:5]:
        response = _book(host, alice_token, carol.doctor.pk, start)
        assert response.status_code == 201, response.text
    outage = _stored(topic, after=live[0]["id"])
    assert len(outage) == 4
    assert Event.objects.filter(id__in=outage, sent_at__isnull=True).count() == 4
    redis_server.start()

    # The same relay process sends all four once Redis is back, oldest first.
    sent_at = _all_sent(topic, after=baseline)
    assert sent_at == sorted(sent_at)
    assert relay.poll() is None
    # A subscriber resuming from the last event it saw gets the four, in order, once.
    with _subscribe(host, bob_token, topic, last_event_id=live[0]["id"]) as resumed:
        assert [event["id"] for event in _events(resumed, until=4)] == outage
    # The socket that stayed open through the outage: the relay's resend or, at the next
    # event, the gap read (prev_id) gives it everything, in order, once.
    assert _book(host, alice_token, carol.doctor.pk, slots[5]).status_code == 201
    received = live + _events(watcher, until=5)
    watcher.close()
    ids = [event["id"] for event in received]
    assert ids == _stored(topic, after=baseline), "an event lost, duplicated or out of order"
    assert len({event["data"]["start"] for event in received}) == 6  # one per booking


@pytest.mark.django_db(transaction=True)
def test_a_web_process_killed_with_sockets_open(daphne_server, relay_process, alice, bob, carol, ada):
    give_hours(carol, ada)
    set_policy("max_open_appointments_per_patient", 20)
    slots = [slot.start.isoformat() for slot in free_slots(carol)[:4]]
    doomed, survivor = daphne_server(EVENT_RELAY="listen"), daphne_server(EVENT_RELAY="listen")
    relay_process()
    topic = topics.doctor_availability(carol.doctor.pk)
    baseline = _newest_id()
    alice_token = accounts_services.token_issue(user=alice).token
    bob_token = accounts_services.token_issue(user=bob).token

    ws = _subscribe(doomed, bob_token, topic)
    assert _book(survivor, alice_token, carol.doctor.pk, slots[0]).status_code == 201
    received = _events(ws, until=1)
    daphne_server.kill(doomed)
    with pytest.raises(Exception):  # noqa: B017 (the socket is gone, however it says so)
        _receive(ws, timeout=5)
    # Bookings go on through the other process while the client is away.
    for start in slots[1:3]:
        assert _book(survivor, alice_token, carol.doctor.pk, start).status_code == 201
    with _subscribe(survivor, bob_token, topic, last_event_id=received[-1]["id"]) as resumed:
        received += _events(resumed, until=2)  # the gap, replayed
        assert _book(survivor, alice_token, carol.doctor.pk, slots[3]).status_code == 201
        received += _events(resumed, until=1)  # then live again
    ids = [event["id"] for event in received]
    assert len(ids) == len(set(ids)) == 4, "a duplicate"
    assert ids == _stored(topic, after=baseline), "a gap"


class Client:
    """The demo clinic on the throwaway cluster, through its public API."""

    def __init__(self, host: str) -> None:
        self.host = host

    def sign_in(self, email: str, password: str = demo.DEMO_PASSWORD) -> httpx.Response:
        body = {"email": email, "password": password}
        return httpx.post(f"http://{self.host}/api/auth/login/", json=body, timeout=CLIENT_TIMEOUT)

    def get(self, path: str, token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"http://{self.host}{path}", headers=headers, timeout=CLIENT_TIMEOUT)


@pytest.fixture
def cluster() -> Iterator[Postgres]:
    reason = Postgres.available()
    if reason:
        pytest.skip(f"no throwaway PostgreSQL cluster: {reason}")
    # Not under tmp_path: the postgres user must reach it, and pytest's tree is root's alone.
    server = Postgres(Path(tempfile.mkdtemp(prefix="clinic-faults-pg-")))
    try:
        server.init()
        for command in (("migrate", "--noinput"), ("populate_db_master",)):
            done = server.manage(*command)
            assert done.returncode == 0, done.stderr[-2000:]
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


def _refused(response: httpx.Response) -> None:
    """The contract's 503 (§1): retry after Retry-After."""
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert set(response.json()) >= {"code", "detail"}


def _back(client: Client) -> None:
    """Waits until the web process serves again once PostgreSQL is back: until then every
    answer is the deliberate 503 (it refuses until a probe connects, at most a second)."""
    deadline = time.monotonic() + 60
    while (response := client.sign_in("nobody@example.test")).status_code != 401:
        _refused(response)
        assert time.monotonic() < deadline, "not serving again a minute after PostgreSQL returned"
        time.sleep(0.2)


def _served_as_before(client: Client, host: str) -> None:
    """Every request answers as if nothing happened: not one meets a connection the restart
    killed (more of them than the pool keeps idle)."""
    for _ in range(5):
        assert client.sign_in("nobody@example.test").status_code == 401
    assert httpx.get(f"http://{host}/api/health/", timeout=15).json()["database"] == "ok"


def test_postgresql_restarted_mid_run(cluster, redis_server, daphne_server, relay_process):
    env = {"DATABASE_URL": cluster.url, "REDIS_URL": redis_server.url}
    # A request waits at most this long for a connection from the pool (production's
    # default is 30 s). The pool keeps 8 connections: a restart leaves 8 dead ones to get
    # past, not the 2 of an idle default pool.
    host = daphne_server(EVENT_RELAY="listen", DB_POOL_TIMEOUT_SECONDS="5", DB_POOL_MIN_SIZE="8", **env)
    relay = relay_process(**env)
    client = Client(host)
    token = client.sign_in(demo.patient_email(0)).json()["token"]
    doctor = client.get("/api/doctors/list/", token).json()["results"][0]["id"]
    today = datetime.now(UTC).date()
    window = f"from={today + timedelta(days=1)}&to={today + timedelta(days=14)}"
    slots = [s["start"] for s in client.get(f"/api/doctors/{doctor}/availability/?{window}", token).json()["slots"]]
    topic = topics.doctor_availability(doctor)

    watcher = _subscribe(host, token, topic)
    assert _book(host, token, doctor, slots[0]).status_code == 201
    received = _events(watcher, until=1)

    # Restarted while nobody was asking: the web process and the relay hold connections
    # the restart killed, and must not hand them to anyone.
    cluster.stop()
    cluster.start()
    _served_as_before(client, host)
    assert _book(host, token, doctor, slots[1]).status_code == 201
    received += _events(watcher, until=1)

    # Down for a while: 503 with Retry-After meanwhile, then service as before.
    cluster.stop()
    for down in (client.sign_in("nobody@example.test"), _book(host, token, doctor, slots[2])):
        _refused(down)
    assert httpx.get(f"http://{host}/api/health/", timeout=15).status_code == 503
    cluster.start()
    _back(client)
    _served_as_before(client, host)
    for start in slots[2:4]:
        response = _book(host, token, doctor, start)
        assert response.status_code == 201, response.text
    # The same relay process, listening again, sent what was booked since.
    received += _events(watcher, until=2)
    watcher.close()
    assert relay.poll() is None
    with psycopg.connect(cluster.url) as connection:
        stored = connection.execute(
            "SELECT id, sent_at IS NOT NULL FROM realtime_event WHERE topic = %s AND id >= %s ORDER BY id",
            [topic, received[0]["id"]],
        ).fetchall()
    assert [event["id"] for event in received] == [id_ for id_, _ in stored], "an event lost or duplicated"
    assert all(sent for _, sent in stored)


def test_requests_are_refused_at_once_while_postgresql_is_down(cluster, daphne_server):
    # The pool timeout is twenty times the client's: a request that waited for a pooled
    # connection while the database is down would fail here with a client timeout.
    host = daphne_server(DATABASE_URL=cluster.url, DB_POOL_TIMEOUT_SECONDS=str(20 * CLIENT_TIMEOUT))
    client = Client(host)
    token = client.sign_in(demo.patient_email(0)).json()["token"]
    assert client.get("/api/users/me/", token).status_code == 200

    cluster.stop()

    def request(index: int) -> httpx.Response:
        if index % 2:
            return client.sign_in("nobody@example.test")
        return client.get("/api/users/me/", token)

    # 48 requests, 8 at a time (three times the web process's threads in all): each is
    # answered within the client's timeout, so none waited for the pool.
    with ThreadPoolExecutor(max_workers=8) as threads:
        for response in threads.map(request, range(48)):
            _refused(response)

    cluster.start()
    _back(client)
    _served_as_before(client, host)
    assert client.get("/api/users/me/", token).status_code == 200
