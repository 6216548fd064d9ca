"""Delivery through the real Twilio and SendGrid SDKs against a recording local stand-in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification, NotificationStatus
from notifications.tasks import deliver_notification
from tests.concurrency import run_together
from tests.notifications.standin import TWILIO_FROM, TWILIO_SID


def _send(ada, user, channel, body="Your results are ready to discuss."):
    return services.notification_send(actor=ada, user=user, channel=channel, subject="From the clinic", body=body)


@pytest.mark.django_db(transaction=True)
def test_sms_goes_out_once_through_twilio(standin, ada, alice_reachable):
    notification = _send(ada, alice_reachable, "sms")

    notification.refresh_from_db()
    [request] = standin.sends("sms")
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.form() == {
        "To": ["+15551230001"],
        "From": [TWILIO_FROM],
        "Body": ["Your results are ready to discuss."],
    }
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == standin.sms[0]["sid"]
    assert notification.sent_at is not None
    # Delivered again (a redelivered task): nothing more goes out.
    assert deliver_notification.delay(notification.pk).get() == "skipped"
    assert len(standin.sends("sms")) == 1


@pytest.mark.django_db(transaction=True)
def test_email_goes_out_once_through_sendgrid(standin, ada, alice):
    notification = _send(ada, alice, "email")

    notification.refresh_from_db()
    [request] = standin.sends("email")
    assert request.headers["Authorization"] == "Bearer SG.test-key"
    mail = request.json()
    assert mail["personalizations"][0]["to"] == [{"email": "alice@example.test"}]
    assert mail["from"] == {"email": "clinic@example.test"}
    assert mail["subject"] == "From the clinic"
    assert mail["content"] == [{"type": "text/plain", "value": "Your results are ready to discuss."}]
    assert mail["custom_args"] == {"notification_id": str(notification.pk)}
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == standin.emails[0]["id"]
    deliver_notification.delay(notification.pk)
    assert len(standin.sends("email")) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_5xx_is_retried_then_sent_once(standin, ada, alice_reachable, channel):
    standin.script = [503]

    notification = _send(ada, alice_reachable, channel)

    notification.refresh_from_db()
    assert [r.method for r in standin.requests] == ["POST", "GET", "POST"]  # the retry asks before resending
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 2
    assert len(standin.sms if channel == "sms" else standin.emails) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_4xx_ends_in_failed_with_the_reason(standin, ada, alice_reachable, channel):
    standin.script = [400]

    notification = _send(ada, alice_reachable, channel)

    notification.refresh_from_db()
    assert len(standin.requests) == 1
    assert notification.status == NotificationStatus.FAILED
    assert "400" in notification.failure_reason
    assert notification.sent_at is None


@pytest.mark.django_db(transaction=True)
def test_a_provider_down_for_good_ends_in_failed_after_the_attempts(standin, settings, ada, alice_reachable):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    standin.script = [500, 502, 503]

    notification = _send(ada, alice_reachable, "sms")

    notification.refresh_from_db()
    assert len(standin.sends("sms")) == 3
    assert notification.status == NotificationStatus.FAILED
    assert notification.failure_reason.startswith("gave up after 3 attempts")


def _stale_sending(notification: Notification) -> None:
    """As a worker that claimed the row and died leaves it."""
    long_ago = timezone.now() - timedelta(hours=1)
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENDING, sending_started_at=long_ago, attempts=1
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_stale_claim_whose_message_reached_the_provider_is_not_resent(standin, ada, alice_reachable, channel):
    notification = _send(ada, alice_reachable, channel)
    notification.refresh_from_db()
    provider_id = notification.provider_message_id
    _stale_sending(notification)

    assert services.deliveries_stalled() == [notification.pk]
    assert services.notification_deliver(notification_id=notification.pk).result == "sent"

    notification.refresh_from_db()
    assert len(standin.sends(channel)) == 1
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == provider_id


@pytest.mark.django_db(transaction=True)
def test_a_stale_claim_that_never_reached_the_provider_is_sent_once(standin, ada, alice_reachable):
    standin.script = [400]
    notification = _send(ada, alice_reachable, "sms")  # refused: nothing at the provider
    _stale_sending(notification)

    services.notification_deliver(notification_id=notification.pk)

    notification.refresh_from_db()
    assert len(standin.sms) == 1
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == standin.sms[0]["sid"]


@pytest.mark.django_db(transaction=True)
def test_a_claim_within_its_lease_is_left_alone(standin, ada, alice_reachable):
    standin.script = [400]
    notification = _send(ada, alice_reachable, "sms")
    Notification.objects.filter(pk=notification.pk).update(
        status=NotificationStatus.SENDING, sending_started_at=timezone.now()
    )

    assert services.notification_deliver(notification_id=notification.pk).result == "skipped"
    assert services.deliveries_stalled() == []
    assert len(standin.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_racing_workers_send_once(standin, alice_reachable):
    # A pending notification whose task is held by several workers at once.
    notification = Notification.objects.create(
        user=alice_reachable, channel="sms", kind="admin", body="Hello", recipient=alice_reachable.phone
    )
    outcomes = run_together(4, lambda _: services.notification_deliver(notification_id=notification.pk))
    results = [getattr(outcome, "result", outcome) for outcome in outcomes]

    assert sorted(results) == ["sent", "skipped", "skipped", "skipped"]
    assert len(standin.sends("sms")) == 1


@pytest.mark.django_db(transaction=True)
def test_without_credentials_the_console_sender_logs_the_message(ada, alice_reachable, caplog):
    caplog.set_level("INFO", logger="notifications.senders")

    notification = _send(ada, alice_reachable, "sms")

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.provider_message_id == f"console-{notification.pk}"
    assert "Your results are ready to discuss." in caplog.text


@pytest.mark.django_db(transaction=True)
def test_status_callbacks_are_asked_for_when_the_public_url_is_set(standin, settings, ada, alice_reachable):
    settings.TWILIO_STATUS_CALLBACK_URL = "https://clinic.example.org/api/webhooks/twilio/status/"

    _send(ada, alice_reachable, "sms")

    [request] = standin.sends("sms")
    assert request.form()["StatusCallback"] == ["https://clinic.example.org/api/webhooks/twilio/status/"]
