"""Webhook receipts: each provider event is applied once, however often it is delivered.

Providers (Stripe, Twilio, SendGrid) deliver at least once. Each app keeps its receipts in
its own table (billing.StripeEvent, notifications.WebhookEvent), both built on
`WebhookReceipt`, and records an event with `receipt_first` before applying it.
"""

from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone


class WebhookReceipt(models.Model):
    """One provider event already received; a unique constraint on its id makes it once."""

    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


def receipt_first(model: type[WebhookReceipt], **fields: Any) -> bool:
    """Record the receipt; False when the same event was received before (a replay or a retry).

    In a savepoint, so a repeat leaves the caller's transaction usable.
    """
    try:
        with transaction.atomic():
            model._default_manager.create(**fields)
    except IntegrityError:
        return False
    return True
