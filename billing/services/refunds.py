"""Refunds: full or partial, through the gateway that took the payment, settled even when its answer was lost."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from billing.gateways import (
    GatewayResult,
    GatewayUnavailable,
    PaymentGateway,
    RefundRequest,
    gateway_for,
)
from billing.models import (
    SETTLED_STATUSES,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from billing.money import is_exact
from billing.services.lifecycle import _payment_move
from core.exceptions import Conflict, NotFound, ValidationFailed
from scheduling.models import Appointment

# --- Refunds ----------------------------------------------------------------------------


def payment_refund(*, actor: User, payment_id: int, amount: Decimal | None = None, reason: str = "") -> Refund:
    """Give back all or part of a settled payment through the gateway that took it.

    Never more than was paid less what is refunded or being refunded. Desk refunds
    settle at once; card refunds go to Stripe after the refund is recorded.

    A refund whose gateway answer never arrived stays pending: its outcome is unknown, not
    failed, and its amount stays held. The next refund request for the payment first
    settles it from the gateway; a request for the same amount (or for the rest) is then
    answered with that refund, so a retry never refunds twice.
    """
    for settled in _refunds_reconcile(payment_id=payment_id):
        if amount is None or amount == settled.amount:
            return settled
    refund, gateway = _refund_open(actor=actor, payment_id=payment_id, amount=amount, reason=reason)
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        result = gateway.refund(_refund_request(refund))
    except GatewayUnavailable:
        _refund_record(refund_id=refund.pk, result=GatewayResult(status="pending", failure_reason=_OUTCOME_UNKNOWN))
        raise
    return _refund_record(refund_id=refund.pk, result=result)


_OUTCOME_UNKNOWN = "outcome unknown: the payment provider did not answer"


def _refund_request(refund: Refund) -> RefundRequest:
    return RefundRequest(
        refund_id=refund.pk,
        amount=refund.amount,
        currency=refund.payment.currency,
        payment_reference=refund.payment.gateway_reference,
    )


def _refunds_reconcile(*, payment_id: int) -> list[Refund]:
    """Settle from the gateway each refund of the payment whose answer never arrived.

    Looked up by our refund id first; one the gateway never received is sent again under
    its own idempotency key, so it is the same refund, not a second one. No lock is held
    across the network; GatewayUnavailable while the gateway is still down.
    """
    unknown = Refund.objects.select_related("payment").filter(
        payment_id=payment_id, status=RefundStatus.PENDING, gateway_reference=""
    )
    settled = []
    for refund in unknown:
        gateway = gateway_for(refund.payment.method)
        request = _refund_request(refund)
        result = gateway.refund_lookup(request) or gateway.refund(request)
        settled.append(_refund_record(refund_id=refund.pk, result=result))
    return settled


@transaction.atomic
def _refund_open(*, actor: User, payment_id: int, amount: Decimal | None, reason: str) -> tuple[Refund, PaymentGateway]:
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound()
    # Same lock order as a charge (appointment, then payment), so the two never deadlock.
    Appointment.objects.select_for_update().filter(pk=payment.appointment_id).first()
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if payment.status not in SETTLED_STATUSES:
        raise Conflict(f"A {payment.status} payment cannot be refunded.", code="payment_not_refundable")
    pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING).aggregate(s=Sum("amount"))["s"]
    refundable = payment.amount - payment.refunded_amount - (pending or Decimal("0"))
    if refundable <= 0:
        raise Conflict("This payment is already refunded in full.", code="payment_not_refundable")
    if amount is None:
        amount = refundable
    elif not is_exact(amount, payment.currency):
        raise ValidationFailed(
            fields={"amount": [f"Must be a whole number of the smallest unit of {payment.currency}."]}
        )
    elif amount > refundable:
        raise ValidationFailed(
            f"At most {refundable} {payment.currency} can be refunded.",
            code="amount_exceeds_refundable",
            fields={"amount": [f"At most {refundable} {payment.currency} can be refunded."]},
        )
    gateway = gateway_for(payment.method)
    refund = Refund.objects.create(payment=payment, amount=amount, reason=reason, created_by=actor)
    audit_record(
        actor=actor,
        action="refund.requested",
        obj=refund,
        details={"payment": payment.pk, "amount": str(amount), "reason": reason},
    )
    if gateway.settles_at_once:
        _refund_apply(refund=refund, result=gateway.refund(_refund_request(refund)), actor=actor)
    return refund, gateway


@transaction.atomic
def _refund_record(*, refund_id: int, result: GatewayResult) -> Refund:
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    Appointment.objects.select_for_update().filter(pk=refund.payment.appointment_id).first()
    refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
    if refund.status == RefundStatus.PENDING:
        _refund_apply(refund=refund, result=result, actor=None)
    return refund


def _refund_apply(*, refund: Refund, result: GatewayResult, actor: User | None) -> None:
    """Record the gateway's answer on a pending refund; a success reduces the payment."""
    refund.gateway_reference = result.reference or refund.gateway_reference
    refund.failure_reason = result.failure_reason
    if result.status == RefundStatus.SUCCEEDED:
        refund.status = RefundStatus.SUCCEEDED
        refund.settled_at = timezone.now()
    elif result.status == RefundStatus.FAILED:
        refund.status = RefundStatus.FAILED
    refund.save(update_fields=["gateway_reference", "failure_reason", "status", "settled_at"])
    if refund.status == RefundStatus.PENDING:
        return
    audit_record(actor=actor, action=f"refund.{refund.status}", obj=refund, details={"amount": str(refund.amount)})
    if refund.status == RefundStatus.SUCCEEDED:
        payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
        payment.refunded_amount += refund.amount
        payment.save(update_fields=["refunded_amount"])
        full = payment.refunded_amount == payment.amount
        _payment_move(
            payment=payment, to=PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED, actor=actor
        )
        refund.payment = payment
