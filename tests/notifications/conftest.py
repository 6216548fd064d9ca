from collections.abc import Iterator
from typing import Any

import pytest

from accounts.models import User
from config.celery import app as celery_app
from tests.notifications.standin import TWILIO_FROM, TWILIO_SID, TWILIO_TOKEN, StandIn, StandInServer


@pytest.fixture
def standin(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    """Twilio and SendGrid switched on, their SDKs pointed at a local recording stand-in."""
    # Eager tasks run a retry at once (no countdown); with propagation on, Celery would
    # raise the Retry out of the first attempt instead of running the second.
    monkeypatch.setattr(celery_app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)
    server = StandInServer()
    state = server.start()
    settings.TWILIO_ACCOUNT_SID = TWILIO_SID
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER = TWILIO_FROM
    settings.TWILIO_API_BASE_URL = state.base_url
    settings.TWILIO_ENABLED = True
    settings.SENDGRID_API_KEY = "SG.test-key"
    settings.SENDGRID_FROM_EMAIL = "clinic@example.test"
    settings.SENDGRID_API_HOST = state.base_url
    settings.SENDGRID_ENABLED = True
    settings.NOTIFICATION_PROVIDER_TIMEOUT_SECONDS = 5
    try:
        yield state
    finally:
        server.stop()


@pytest.fixture
def alice_reachable(alice: User) -> User:
    """alice with a phone number, so SMS reaches her."""
    User.objects.filter(pk=alice.pk).update(phone="+15551230001")
    alice.refresh_from_db()
    return alice
