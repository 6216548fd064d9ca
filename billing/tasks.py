"""Billing's background work: thin tasks over billing.services."""

from celery import shared_task

from billing import services


@shared_task(name="billing.expire_card_payments")
def expire_card_payments() -> int:
    """Cancel card payments nobody confirmed within `card_payment_expiry_minutes`."""
    return services.card_payments_expire()
