"""The one seam to the SMS and email providers.

`sender_for(channel)` returns the sender in use: Twilio for SMS and SendGrid for email
when their credentials are set (through their official SDKs), console senders that log
the message otherwise (the embedded default, named in config.backends.backend_summary).

A sender does two things:
- `send(message)` hands one message to the provider and returns the provider's id. It
  raises TransientSendError when trying again later may work (5xx, 429, network) and
  PermanentSendError when it will not (any other 4xx: bad number, bad address, refused).
- `find_sent(message)` asks the provider which messages it already holds for this
  notification. The delivery state machine calls it before any second attempt, so a
  message whose first attempt reached the provider (the worker then died, or the answer
  was lost) is recognised instead of sent again.
"""

import json
import logging
import urllib.error
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import requests
from django.conf import settings
from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import CustomArg, Mail
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from notifications.models import Channel

logger = logging.getLogger(__name__)

# Provider clocks and ours differ a little; a message is "ours" from a bit before we made it.
_CLOCK_SLACK = timedelta(minutes=5)


class TransientSendError(Exception):
    """The provider could not take the message now; trying again later may work."""


class PermanentSendError(Exception):
    """The provider refused the message; trying again will not help."""


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    to: str
    subject: str
    body: str
    created_at: datetime


class Sender(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> str: ...

    def find_sent(self, message: OutgoingMessage) -> list[str]: ...


def _retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


class TwilioSmsSender:
    """SMS through Twilio's Programmable Messaging API (the `twilio` SDK)."""

    name = "twilio"

    def _client(self) -> TwilioClient:
        http_client = TwilioHttpClient(timeout=settings.NOTIFICATION_PROVIDER_TIMEOUT_SECONDS)
        client = TwilioClient(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
        client.api.base_url = settings.TWILIO_API_BASE_URL
        return client

    def send(self, message: OutgoingMessage) -> str:
        options: dict[str, str] = {"to": message.to, "from_": settings.TWILIO_FROM_NUMBER, "body": message.body}
        if settings.TWILIO_STATUS_CALLBACK_URL:
            options["status_callback"] = settings.TWILIO_STATUS_CALLBACK_URL
        try:
            created = self._client().messages.create(**options)
        except TwilioRestException as exc:
            reason = f"twilio {exc.status} (code {exc.code}): {exc.msg}"[:500]
            if _retryable_status(exc.status):
                raise TransientSendError(reason) from exc
            raise PermanentSendError(reason) from exc
        except requests.RequestException as exc:
            raise TransientSendError(f"twilio unreachable: {exc.__class__.__name__}") from exc
        return created.sid

    def find_sent(self, message: OutgoingMessage) -> list[str]:
        # Twilio keeps no idempotency key for messages: a message of ours is one to the
        # same number, from our number, with the same text, made after the notification.
        try:
            records = self._client().messages.list(to=message.to, from_=settings.TWILIO_FROM_NUMBER, limit=50)
        except TwilioRestException as exc:
            raise TransientSendError(f"twilio lookup failed: {exc.status}") from exc
        except requests.RequestException as exc:
            raise TransientSendError(f"twilio unreachable: {exc.__class__.__name__}") from exc
        since = message.created_at - _CLOCK_SLACK
        return [
            record.sid
            for record in records
            if record.body == message.body and (record.date_created is None or record.date_created >= since)
        ]


class SendGridEmailSender:
    """Email through SendGrid's v3 Mail Send API (the `sendgrid` SDK)."""

    name = "sendgrid"

    def _client(self) -> SendGridAPIClient:
        client = SendGridAPIClient(api_key=settings.SENDGRID_API_KEY, host=settings.SENDGRID_API_HOST)
        client.client.timeout = settings.NOTIFICATION_PROVIDER_TIMEOUT_SECONDS
        return client

    def send(self, message: OutgoingMessage) -> str:
        mail = Mail(
            from_email=settings.SENDGRID_FROM_EMAIL,
            to_emails=message.to,
            subject=message.subject or "A message from the clinic",
            plain_text_content=message.body,
        )
        # Comes back in every event-webhook event and is searchable in the activity feed.
        mail.custom_arg = CustomArg("notification_id", str(message.notification_id))
        try:
            response = self._client().send(mail)
        except SendGridHTTPError as exc:
            reason = f"sendgrid {exc.status_code}: {exc.body!r}"[:500]
            if _retryable_status(exc.status_code):
                raise TransientSendError(reason) from exc
            raise PermanentSendError(reason) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientSendError(f"sendgrid unreachable: {exc.__class__.__name__}") from exc
        return response.headers.get("X-Message-Id", "") or f"sendgrid-{message.notification_id}"

    def find_sent(self, message: OutgoingMessage) -> list[str]:
        # The Email Activity API, queried by the custom argument set on send.
        query = f"unique_args['notification_id']=\"{message.notification_id}\""
        try:
            response = self._client().client.messages.get(query_params={"query": query, "limit": 10})
        except SendGridHTTPError as exc:
            raise TransientSendError(f"sendgrid lookup failed: {exc.status_code}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise TransientSendError(f"sendgrid unreachable: {exc.__class__.__name__}") from exc
        found = json.loads(response.body or b"{}").get("messages", [])
        # The activity feed's msg_id is the X-Message-Id followed by a routing suffix.
        return [str(item["msg_id"]).split(".")[0] for item in found if item.get("msg_id")]


class ConsoleSender:
    """The embedded default: the message is written to the log instead of sent."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.name = f"console-{channel}"

    def send(self, message: OutgoingMessage) -> str:
        logger.info(
            "console %s notification %s to %s: %s %s",
            self.channel,
            message.notification_id,
            message.to,
            message.subject,
            message.body,
        )
        return f"console-{message.notification_id}"

    def find_sent(self, message: OutgoingMessage) -> list[str]:
        # Writing a log line twice is harmless; nothing to look up.
        return []


def sender_for(channel: str) -> Sender:
    """The sender in use for `channel` (sms or email), chosen by configuration."""
    if channel == Channel.SMS and settings.TWILIO_ENABLED:
        return TwilioSmsSender()
    if channel == Channel.EMAIL and settings.SENDGRID_ENABLED:
        return SendGridEmailSender()
    return ConsoleSender(channel)


def describe() -> str:
    """One line for config.backends.backend_summary()."""
    sms = "Twilio" if settings.TWILIO_ENABLED else "console log (embedded default; set TWILIO_*)"
    email = "SendGrid" if settings.SENDGRID_ENABLED else "console log (embedded default; set SENDGRID_*)"
    return f"SMS: {sms}; email: {email}"
