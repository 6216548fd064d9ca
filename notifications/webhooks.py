"""Checks that a delivery-status webhook really comes from the provider.

Twilio signs each request with the account's auth token over the full URL and the form
parameters (twilio.request_validator.RequestValidator). SendGrid signs the timestamp
plus the raw body with an ECDSA key whose public half the account shows
(sendgrid.helpers.eventwebhook.EventWebhook). Anything unsigned, badly signed, or (for
SendGrid, whose signature covers a timestamp) older than five minutes is refused.
"""

import binascii
import logging
import time
from collections.abc import Mapping

from django.conf import settings
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
TWILIO_SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_AGE_SECONDS = 300


def twilio_signature_valid(*, url: str, params: Mapping, signature: str) -> bool:
    """True when `signature` is Twilio's for this URL and these form parameters."""
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature)


def sendgrid_signature_valid(*, body: bytes, signature: str, timestamp: str, now: float | None = None) -> bool:
    """True when SendGrid signed `timestamp + body` and the timestamp is recent."""
    if not settings.SENDGRID_WEBHOOK_PUBLIC_KEY or not signature or not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    try:
        payload = body.decode("utf-8")
        webhook = EventWebhook(settings.SENDGRID_WEBHOOK_PUBLIC_KEY)
        return webhook.verify_signature(payload, signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        logger.info("sendgrid webhook: undecodable signature or body")
        return False
