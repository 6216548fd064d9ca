"""/api/health/live, /api/health/ready and the process heartbeats (`manage.py health`)."""

import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from observability import heartbeat
from realtime.models import Event

pytestmark = pytest.mark.django_db


def _dead_redis_url() -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


@pytest.mark.parametrize("path", ["/api/health/live", "/api/health/live/"])
def test_live_answers_without_checking_anything(anon, settings, path):
    settings.REDIS_URL = _dead_redis_url()
    response = anon.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/api/health/ready", "/api/health/ready/"])
def test_ready_when_everything_answers(anon, path):
    response = anon.get(path)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok"
    assert body["outbox"] == "ok" and body["outbox_lag_seconds"] == 0


def test_not_ready_when_redis_is_down(anon, settings):
    settings.REDIS_URL = _dead_redis_url()
    response = anon.get("/api/health/ready")
    assert response.status_code == 503
    assert response.json()["redis"] == "down" and response.json()["status"] == "unavailable"


def _unsent_event(age: timedelta) -> Event:
    start = timezone.now() + timedelta(days=1)
    data = {"doctor": 1, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}
    return Event.objects.create(
        topic="doctor.1.availability", name="slot.booked", data=data, occurred_at=timezone.now() - age
    )


def test_not_ready_when_the_outbox_lags_past_the_threshold(anon, settings):
    settings.HEALTH_MAX_OUTBOX_LAG_SECONDS = 30
    _unsent_event(timedelta(0))
    assert anon.get("/api/health/ready").status_code == 200
    _unsent_event(timedelta(seconds=45))
    # The oldest unsent event is the one that counts, whatever its id.
    Event.objects.filter(occurred_at__gt=timezone.now() - timedelta(seconds=10)).update(sent_at=timezone.now())
    response = anon.get("/api/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["outbox"] == "lagging" and body["outbox_lag_seconds"] >= 45
    assert body["outbox_lag_threshold_seconds"] == 30
    Event.objects.update(sent_at=timezone.now())
    assert anon.get("/api/health/ready").status_code == 200


def test_the_old_health_check_is_unchanged(anon):
    assert anon.get("/api/health/").json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_heartbeats_say_which_processes_live(settings):
    settings.HEARTBEAT_INTERVAL_SECONDS = 5
    heartbeat.stop("beat")
    with pytest.raises(CommandError, match="no live beat process"):
        call_command("health", kind="beat")
    heartbeat.beat("beat", "scheduling")
    try:
        out = StringIO()
        call_command("health", kind="beat", stdout=out)
        assert f"beat {heartbeat.this_process()} scheduling" in out.getvalue()
        out = StringIO()
        call_command("health", stdout=out)
        assert "beat" in out.getvalue() and "scheduling" in out.getvalue()
    finally:
        heartbeat.stop("beat")
    with pytest.raises(CommandError):
        call_command("health", kind="beat")


def test_heartbeats_expire_after_three_missed_beats(settings):
    import redis

    settings.HEARTBEAT_INTERVAL_SECONDS = 5
    heartbeat.beat("worker", "ready")
    try:
        client = redis.Redis.from_url(settings.REDIS_URL)
        assert 10 < client.ttl(f"clinic:heartbeat:worker:{heartbeat.this_process()}") <= 15
    finally:
        heartbeat.stop("worker")
