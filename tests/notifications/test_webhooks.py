"""Delivery-status webhooks: only genuinely signed, fresh, first-seen events change anything."""

import base64
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

from notifications.models import Notification, WebhookEvent
from tests.notifications.standin import TWILIO_TOKEN

TWILIO_URL = "/api/webhooks/twilio/status/"
SENDGRID_URL = "/api/webhooks/sendgrid/events/"


@pytest.fixture
def sent_sms(alice):
    return Notification.objects.create(
        user=alice, channel="sms", kind="admin", body="x", status="sent", provider_message_id="SM123"
    )


@pytest.fixture
def sent_email(alice):
    return Notification.objects.create(
        user=alice, channel="email", kind="admin", body="x", status="sent", provider_message_id="abcXYZ"
    )


@pytest.fixture
def twilio_on(settings):
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN


def _twilio_post(client, params, *, url="http://testserver" + TWILIO_URL, signature=None, idempotency_key="tok-1"):
    headers = {"I-Twilio-Idempotency-Token": idempotency_key}
    if signature is not False:
        headers["X-Twilio-Signature"] = signature or RequestValidator(TWILIO_TOKEN).compute_signature(url, params)
    return client.generic("POST", TWILIO_URL, urlencode(params), "application/x-www-form-urlencoded", headers=headers)


def _unchanged(notification):
    notification.refresh_from_db()
    return notification.provider_status == "" and notification.status == "sent" and not WebhookEvent.objects.exists()


@pytest.mark.django_db
class TestTwilio:
    def test_a_signed_callback_updates_the_status_once(self, anon, twilio_on, sent_sms):
        params = {"MessageSid": "SM123", "MessageStatus": "delivered", "AccountSid": "AC1"}

        assert _twilio_post(anon, params).status_code == 204
        assert _twilio_post(anon, params).status_code == 204  # a replay

        sent_sms.refresh_from_db()
        assert sent_sms.provider_status == "delivered"
        assert WebhookEvent.objects.filter(provider="twilio").count() == 1

    def test_undelivered_ends_in_failed_and_a_late_status_does_not_go_back(self, anon, twilio_on, sent_sms):
        _twilio_post(
            anon, {"MessageSid": "SM123", "MessageStatus": "undelivered", "ErrorCode": "30003"}, idempotency_key="a"
        )
        _twilio_post(anon, {"MessageSid": "SM123", "MessageStatus": "sent"}, idempotency_key="b")

        sent_sms.refresh_from_db()
        assert sent_sms.status == "failed"
        assert sent_sms.provider_status == "undelivered"
        assert sent_sms.failure_reason == "twilio undelivered (error 30003)"

    def test_the_configured_public_url_is_what_is_signed(self, anon, settings, twilio_on, sent_sms):
        settings.TWILIO_STATUS_CALLBACK_URL = "https://clinic.example.org/api/webhooks/twilio/status/"
        params = {"MessageSid": "SM123", "MessageStatus": "delivered"}
        assert _twilio_post(anon, params, url=settings.TWILIO_STATUS_CALLBACK_URL).status_code == 204

    def test_tampered_body_is_refused(self, anon, twilio_on, sent_sms):
        signed = RequestValidator(TWILIO_TOKEN).compute_signature(
            "http://testserver" + TWILIO_URL, {"MessageSid": "SM123", "MessageStatus": "sent"}
        )
        response = _twilio_post(anon, {"MessageSid": "SM123", "MessageStatus": "failed"}, signature=signed)
        assert response.status_code == 403
        assert response.json()["code"] == "invalid_signature"
        assert _unchanged(sent_sms)

    def test_wrong_url_is_refused(self, anon, twilio_on, sent_sms):
        params = {"MessageSid": "SM123", "MessageStatus": "failed"}
        response = _twilio_post(anon, params, url="http://testserver/api/webhooks/elsewhere/")
        assert response.status_code == 403
        assert _unchanged(sent_sms)

    def test_missing_signature_is_refused(self, anon, twilio_on, sent_sms):
        response = _twilio_post(anon, {"MessageSid": "SM123", "MessageStatus": "failed"}, signature=False)
        assert response.status_code == 403
        assert _unchanged(sent_sms)

    def test_without_twilio_configured_everything_is_refused(self, anon, sent_sms):
        assert _twilio_post(anon, {"MessageSid": "SM123", "MessageStatus": "failed"}).status_code == 403
        assert _unchanged(sent_sms)

    def test_signed_but_incomplete_is_400(self, anon, twilio_on, sent_sms):
        response = _twilio_post(anon, {"MessageStatus": "failed"})
        assert response.status_code == 400
        assert _unchanged(sent_sms)


@pytest.fixture
def sendgrid_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.SENDGRID_WEBHOOK_PUBLIC_KEY = base64.b64encode(der).decode()
    return private


def _sendgrid_post(client, key, events, *, timestamp=None, body=None, signature=None):
    signed_body = json.dumps(events).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"X-Twilio-Email-Event-Webhook-Timestamp": timestamp}
    if signature is not False:
        raw = key.sign(timestamp.encode() + signed_body, ec.ECDSA(hashes.SHA256()))
        headers["X-Twilio-Email-Event-Webhook-Signature"] = signature or base64.b64encode(raw).decode()
    return client.generic(
        "POST", SENDGRID_URL, body if body is not None else signed_body, "application/json", headers=headers
    )


def _event(notification, kind="delivered", event_id="ev-1", **extra):
    return {
        "email": "alice@example.test",
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": event_id,
        "sg_message_id": f"{notification.provider_message_id}.filterdrecv-1",
        "notification_id": str(notification.pk),
        **extra,
    }


@pytest.mark.django_db
class TestSendGrid:
    def test_signed_events_update_the_status_each_once(self, anon, sendgrid_key, sent_email):
        events = [_event(sent_email, "processed", "ev-1"), _event(sent_email, "delivered", "ev-2")]

        assert _sendgrid_post(anon, sendgrid_key, events).status_code == 204
        assert _sendgrid_post(anon, sendgrid_key, events).status_code == 204  # redelivered batch

        sent_email.refresh_from_db()
        assert sent_email.provider_status == "delivered"
        assert WebhookEvent.objects.filter(provider="sendgrid").count() == 2

    def test_a_bounce_ends_in_failed(self, anon, sendgrid_key, sent_email):
        event = _event(sent_email, "bounce", reason="550 mailbox unavailable")
        del event["notification_id"]  # matched by the message id instead

        assert _sendgrid_post(anon, sendgrid_key, [event]).status_code == 204

        sent_email.refresh_from_db()
        assert sent_email.status == "failed"
        assert sent_email.failure_reason == "sendgrid bounce: 550 mailbox unavailable"

    def test_tampered_body_is_refused(self, anon, sendgrid_key, sent_email):
        tampered = json.dumps([_event(sent_email, "bounce")]).encode()
        response = _sendgrid_post(anon, sendgrid_key, [_event(sent_email)], body=tampered)
        assert response.status_code == 403
        assert _unchanged(sent_email)

    def test_missing_signature_is_refused(self, anon, sendgrid_key, sent_email):
        assert _sendgrid_post(anon, sendgrid_key, [_event(sent_email)], signature=False).status_code == 403
        assert _unchanged(sent_email)

    def test_garbage_signature_is_refused(self, anon, sendgrid_key, sent_email):
        assert _sendgrid_post(anon, sendgrid_key, [_event(sent_email)], signature="not base64!").status_code == 403
        assert _unchanged(sent_email)

    @pytest.mark.parametrize("age", [301, 3600, -301])
    def test_old_or_future_timestamp_is_refused(self, anon, sendgrid_key, sent_email, age, time_machine):
        # The clock stands still: 301 s ahead must still be 301 s ahead when the view
        # checks it, however long a loaded machine takes to get there.
        time_machine.move_to(datetime.now(UTC).replace(microsecond=0), tick=False)
        response = _sendgrid_post(anon, sendgrid_key, [_event(sent_email)], timestamp=int(time.time()) - age)
        assert response.status_code == 403
        assert _unchanged(sent_email)

    def test_another_key_is_refused(self, anon, sendgrid_key, sent_email):
        other = ec.generate_private_key(ec.SECP256R1())
        assert _sendgrid_post(anon, other, [_event(sent_email)]).status_code == 403
        assert _unchanged(sent_email)

    def test_signed_but_not_a_list_is_400(self, anon, sendgrid_key, sent_email):
        assert _sendgrid_post(anon, sendgrid_key, {"event": "delivered"}).status_code == 400
        assert _unchanged(sent_email)

    def test_an_oversized_body_is_413(self, anon, settings, sendgrid_key, sent_email):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
        events = [_event(sent_email, event_id=f"ev-{i}") for i in range(50)]
        assert _sendgrid_post(anon, sendgrid_key, events).status_code == 413
        assert _unchanged(sent_email)
