"""A real Celery worker killed (SIGKILL) in the middle of a delivery: the message still
goes out exactly once.

The stand-in accepts the SMS and then hangs, as a provider whose answer never arrives.
The worker is killed while it waits, so the row stays claimed ("sending") with nobody
behind it. A restarted worker's recovery sweep finds the stale claim after the lease, and
the delivery asks Twilio (the list API, through the SDK) before sending again: it finds
the message the dead worker handed over and records it, instead of sending a second one.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from notifications.models import Notification, NotificationStatus
from tests.clock import in_test_clock
from tests.notifications.standin import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, StandIn
from tests.servers import database_url

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2


def _worker_env(standin: StandIn) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),  # the test database, which pytest-django made
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DEBUG": "false",
        "SECRET_KEY": "worker-test-secret",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_BASE_URL": standin.base_url,
        "NOTIFICATION_SENDING_LEASE_SECONDS": str(LEASE_SECONDS),
        "NOTIFICATION_PROVIDER_TIMEOUT_SECONDS": "60",
    }


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    celery = str(Path(sys.executable).parent / "celery")
    with log.open("ab") as out:
        return subprocess.Popen(
            in_test_clock([celery, "-A", "config", "worker", "--pool=solo", "--without-heartbeat",
                           "--without-gossip", "--without-mingle", "--loglevel=INFO", "-n",
                           f"crash-test-{uuid.uuid4().hex[:8]}@%h"]),
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _wait_for(condition: Callable[[], bool], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def _status(notification: Notification) -> str:
    notification.refresh_from_db()
    return notification.status


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_sends_exactly_once(standin, alice_reachable, tmp_path):
    notification = Notification.objects.create(
        user=alice_reachable,
        channel="sms",
        kind="admin",
        body="Please call the clinic.",
        recipient=alice_reachable.phone,
    )
    standin.hang_next_send = True
    env, log = _worker_env(standin), tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        celery_app.send_task("notifications.deliver", args=[notification.pk])
        _wait_for(lambda: len(standin.sends("sms")) == 1, "the SMS to reach the stand-in", log)
        assert _status(notification) == NotificationStatus.SENDING
        _kill(worker)  # SIGKILL while the provider call is in flight
        standin.release.set()
        assert _status(notification) == NotificationStatus.SENDING

        worker = _start_worker(env, log)
        # The claim becomes stale once the lease has run out; then the sweep (every two
        # minutes under beat) hands the notification to the restarted worker.
        time.sleep(max(0.0, (notification.sending_started_at - timezone.now()).total_seconds() + LEASE_SECONDS + 0.5))
        celery_app.send_task("notifications.recover_stale_deliveries")
        _wait_for(lambda: _status(notification) == NotificationStatus.SENT, "the delivery to be recovered", log)
    finally:
        _kill(worker)

    assert len(standin.sends("sms")) == 1
    assert notification.provider_message_id == standin.sms[0]["sid"]
    assert notification.attempts == 2
    assert [r.method for r in standin.requests] == ["POST", "GET"]  # the second attempt only asked
