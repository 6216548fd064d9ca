"""One machine, many processes: two daphne web processes behind Debian's nginx running
deploy/nginx/clinic.conf, a Celery worker and a beat. Sockets on both web processes receive
every event; metrics add up across processes; killing a web process leaves the other serving.
"""

import json
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from accounts import services as accounts_services
from audit.models import AuditLog
from realtime import topics
from realtime.contracts import validate_message
from tests.observability.cluster import METRICS_TOKEN, Cluster, nginx_available
from tests.observability.scrape import samples, value
from tests.scheduling.helpers import free_slots, give_hours

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BOOK_ROUTE = "api/appointments/book/"


@pytest.fixture
def cluster(tmp_path):
    if not nginx_available():
        pytest.skip("nginx is not installed (scripts/ensure-services.sh installs Debian's nginx-light)")
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def _receive(ws: ClientConnection, timeout: float = 10) -> dict:
    message = json.loads(ws.recv(timeout=timeout))
    validate_message(message)
    return message


def _subscribed_socket(address: str, token: str, topic: str) -> ClientConnection:
    ws = connect(f"ws://{address}/ws/", origin=Origin(f"http://{address}"), open_timeout=10)
    ws.send(json.dumps({"action": "auth", "token": token}))
    assert _receive(ws)["type"] == "authenticated"
    ws.send(json.dumps({"action": "subscribe", "topic": topic}))
    assert _receive(ws) == {"type": "subscribed", "topic": topic}
    return ws


def _scrape(address: str) -> dict:
    response = httpx.get(f"http://{address}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    return samples(response.text)


def _book(proxy: str, token: str, doctor_id: int, start: str, request_id: str) -> httpx.Response:
    return httpx.post(
        f"http://{proxy}/api/appointments/book/",
        json={"doctor": doctor_id, "start": start},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
        timeout=15,
    )


def _eventually(check, timeout: float = 30, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def test_two_web_processes_behind_nginx_with_a_worker_and_a_beat(cluster, alice, bob, carol, ada):
    give_hours(carol, ada)
    slots = free_slots(carol)
    first, second = cluster.web("web-1"), cluster.web("web-2")
    cluster.worker()
    cluster.beat()
    cluster.relay()
    proxy = cluster.proxy([first, second])

    topic = topics.doctor_availability(carol.doctor.pk)
    bob_token = accounts_services.token_issue(user=bob).token
    alice_token = accounts_services.token_issue(user=alice).token
    # Two sockets straight on each web process, two through the proxy (it spreads them too).
    on_first = [_subscribed_socket(first, bob_token, topic) for _ in range(2)]
    on_second = [_subscribed_socket(second, bob_token, topic) for _ in range(2)]
    via_proxy = [_subscribed_socket(proxy, bob_token, topic) for _ in range(2)]
    sockets = on_first + on_second + via_proxy

    # Three bookings through the proxy land on both processes; every socket gets every event.
    booked = []
    for index in range(3):
        response = _book(proxy, alice_token, carol.doctor.pk, slots[index].start.isoformat(), f"cluster-book-{index}")
        assert response.status_code == 201, response.text
        assert response.headers["X-Request-ID"] == f"cluster-book-{index}"
        booked.append(response.json()["start"])
    for ws in sockets:
        events = [_receive(ws) for _ in range(3)]
        assert [e["event"] for e in events] == ["slot.booked"] * 3
        assert [e["data"]["start"] for e in events] == booked
    served_by = cluster.log("nginx")
    assert first in served_by and second in served_by, "nginx used one web process only"

    # Metrics add up across processes: either web process answers for both (and the worker).
    for address in (first, second):
        scraped = _scrape(address)
        assert value(scraped, "clinic_http_requests_total", method="POST", route=BOOK_ROUTE, status="201") == 3
        assert value(scraped, "clinic_domain_actions_total", action="appointment.booked") == 3
        assert value(scraped, "clinic_websockets_open") == len(sockets)
        assert value(scraped, "clinic_websocket_subscriptions", topic="doctor.{id}.availability") == len(sockets)
    # The worker delivered the booking emails; the beat's relay ran on the worker.
    assert _eventually(
        lambda: value(_scrape(first), "clinic_notification_deliveries_total", channel="email", state="sent") == 3
    ), _scrape(first)
    assert _eventually(
        lambda: value(_scrape(second), "clinic_celery_tasks_total", task="realtime.tasks.relay_unsent_events") >= 1
    )
    # Each booking is one task: it makes the patient's notifications and delivers the email.
    assert (
        value(_scrape(second), "clinic_celery_tasks_total", task="notifications.notify_appointment", outcome="success")
        == 3
    )

    # The request id followed the booking into the worker's log lines.
    worker_lines = [json.loads(line) for line in cluster.log("worker").splitlines() if line.startswith("{")]
    delivery = [line for line in worker_lines if line.get("request_id") == "cluster-book-0"]
    tasks = {line["task"] for line in delivery}
    assert tasks == {"notifications.notify_appointment"}, worker_lines[-20:]

    # Every process reports its state (this test's own process may beat too: it imported the app).
    health = cluster.manage("health")
    assert health.returncode == 0, health.stderr
    pids = {str(process.pid) for process in cluster.processes.values()}
    reported = {(line.split()[0], line.split()[2]) for line in health.stdout.splitlines()
                if line.split()[1].rsplit(":", 1)[-1] in pids}  # fmt: skip
    assert reported == {("web", "serving"), ("worker", "ready"), ("beat", "scheduling")}, health.stdout
    assert sum(line.split()[1].rsplit(":", 1)[-1] in pids for line in health.stdout.splitlines()) == 4

    # The client address is nginx's peer, never what the client claims in X-Forwarded-For.
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as client:
        refused = client.post(
            f"http://{proxy}/api/auth/login/",
            json={"email": "nobody@example.test", "password": "wrong-password"},
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=10,
        )
    assert refused.status_code == 401
    assert AuditLog.objects.filter(action="auth.login_failed").latest("id").ip == "127.0.0.2"
    assert httpx.get(f"http://{proxy}/metrics", timeout=10).status_code == 404

    # Kill the first web process outright: the proxy keeps serving from the second.
    cluster.kill("web-1")
    for _ in range(6):
        assert httpx.get(f"http://{proxy}/api/health/ready", timeout=10).status_code == 200
    response = _book(proxy, alice_token, carol.doctor.pk, slots[3].start.isoformat(), "after-the-kill")
    assert response.status_code == 201, response.text
    alive = []
    for ws in sockets:
        try:
            event = _receive(ws)
        except ConnectionClosed:
            continue
        assert event["event"] == "slot.booked" and event["data"]["start"] == response.json()["start"]
        alive.append(ws)
    assert all(ws in alive for ws in on_second)
    assert not any(ws in alive for ws in on_first)
    # The dead process's open sockets leave the gauge; its counters stay (they happened).
    scraped = _scrape(second)
    assert value(scraped, "clinic_websockets_open") == len(alive)
    assert value(scraped, "clinic_http_requests_total", method="POST", route=BOOK_ROUTE, status="201") == 4
    for ws in sockets:
        ws.close()


def test_websockets_and_rest_on_processes_of_their_own(cluster, alice, bob, carol, ada):
    """deploy/nginx/clinic.conf sends /ws/ to the socket processes and REST to the others
    (docker-compose.yml's `sockets` and `web`); an event made by a booking on one reaches a
    socket held by the other."""
    give_hours(carol, ada)
    slot = free_slots(carol)[0]
    rest, sockets = cluster.web("web-rest"), cluster.web("web-sockets")
    cluster.relay()
    proxy = cluster.proxy([rest], sockets=[sockets])
    topic = topics.doctor_availability(carol.doctor.pk)
    ws = _subscribed_socket(proxy, accounts_services.token_issue(user=bob).token, topic)
    token = accounts_services.token_issue(user=alice).token
    response = _book(proxy, token, carol.doctor.pk, slot.start.isoformat(), "apart-1")
    assert response.status_code == 201, response.text
    event = _receive(ws)
    assert event["event"] == "slot.booked" and event["data"]["start"] == response.json()["start"]
    ws.close()
    # nginx's log names the upstream that served each request.
    lines = cluster.log("nginx").splitlines()
    socket_lines = [line for line in lines if "GET /ws/" in line]
    booking_lines = [line for line in lines if "POST /api/appointments/book/" in line]
    assert socket_lines and all(sockets in line and rest not in line for line in socket_lines), socket_lines
    assert booking_lines and all(rest in line and sockets not in line for line in booking_lines), booking_lines
