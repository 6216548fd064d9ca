"""Stripe's webhook events: each applied once, in any order."""

import logging
from typing import Any

from django.db import transaction

from billing.gateways import (
    GatewayResult,
)
from billing.models import (
    Payment,
    PaymentStatus,
    Refund,
    StripeEvent,
)
from billing.services.lifecycle import PAYMENT_TRANSITIONS, IllegalTransition, _payment_move
from billing.services.refunds import _refund_record
from core.webhooks import receipt_first
from scheduling.models import Appointment

logger = logging.getLogger(__name__)

# --- Stripe webhook ---------------------------------------------------------------------

_INTENT_EVENTS = {
    "payment_intent.succeeded": PaymentStatus.SUCCEEDED,
    "payment_intent.payment_failed": PaymentStatus.FAILED,
    "payment_intent.canceled": PaymentStatus.FAILED,
}
_REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


@transaction.atomic
def stripe_event_handle(*, event_id: str, event_type: str, obj: dict[str, Any]) -> bool:
    """Apply one verified Stripe event. Returns False for an event already handled or not ours.

    Stripe delivers at least once and in any order: each event id is applied once, and a
    status change the lifecycle forbids (a failure after a success) is logged and ignored.
    """
    if not receipt_first(StripeEvent, event_id=event_id, type=event_type):
        return False
    try:
        if event_type in _INTENT_EVENTS:
            return _stripe_intent_event(obj=obj, to=_INTENT_EVENTS[event_type])
        if event_type in _REFUND_EVENTS:
            return _stripe_refund_event(obj=obj)
    except IllegalTransition as exc:
        logger.warning("stripe event %s (%s) ignored: %s", event_id, event_type, exc)
        return False
    return False


def _stripe_intent_event(*, obj: dict[str, Any], to: str) -> bool:
    intent_id = str(obj.get("id") or "")
    payment = Payment.objects.filter(gateway="stripe", gateway_reference=intent_id).first() if intent_id else None
    if payment is None:
        # The answer to our create call may have been lost: the intent carries our own id.
        payment = _ours(Payment.objects.filter(gateway="stripe", gateway_reference=""), obj, "payment_id")
        if payment is None:
            logger.info("stripe intent %s is not one of ours", intent_id)
            return False
        payment.gateway_reference = intent_id
        payment.save(update_fields=["gateway_reference"])
    Appointment.objects.select_for_update().filter(pk=payment.appointment_id).first()
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if to not in PAYMENT_TRANSITIONS[payment.status]:
        logger.info(
            "stripe intent %s: payment %s stays %s (event says %s)",
            payment.gateway_reference,
            payment.pk,
            payment.status,
            to,
        )
        return False
    if to == PaymentStatus.FAILED:
        error = obj.get("last_payment_error") or {}
        payment.failure_reason = str(error.get("message") or error.get("code") or "payment failed")[:255]
        payment.save(update_fields=["failure_reason"])
    _payment_move(payment=payment, to=to, actor=None)
    return True


def _stripe_refund_event(*, obj: dict[str, Any]) -> bool:
    reference = str(obj.get("id") or "")
    refund = Refund.objects.filter(gateway_reference=reference).first() if reference else None
    intent_id = str(obj.get("payment_intent") or "")
    if refund is None and intent_id:
        # A refund whose create answer was lost has no reference yet; it carries our id.
        unanswered = Refund.objects.filter(
            gateway_reference="", payment__gateway="stripe", payment__gateway_reference=intent_id
        )
        refund = _ours(unanswered, obj, "refund_id")
    if refund is None:
        return False
    result = GatewayResult(
        status={"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(
            str(obj.get("status")), "pending"
        ),
        reference=reference,
        failure_reason=str(obj.get("failure_reason") or ""),
    )
    if result.status == "pending" and refund.gateway_reference:
        return False
    return _refund_record(refund_id=refund.pk, result=result).status == result.status


def _ours(rows: Any, obj: dict[str, Any], key: str) -> Any:
    """The row of `rows` named by our own id in a Stripe object's metadata, or None."""
    value = str((obj.get("metadata") or {}).get(key) or "")
    return rows.filter(pk=int(value)).first() if value.isdigit() else None
