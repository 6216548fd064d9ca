"""Every write to billing: fees, charges, refunds, invoices and the Stripe webhook.

Two rules keep money right under concurrency:
- every write about one appointment's money first locks that appointment's row, so a
  balance is read and spent by one transaction at a time;
- no lock is held across the network: a card charge or refund is recorded (pending) and
  committed, the gateway is called, and its answer is recorded in a second transaction.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Doctor, User
from audit.services import audit_record
from billing import selectors
from billing.gateways import (
    ChargeRequest,
    GatewayResult,
    GatewayUnavailable,
    PaymentGateway,
    RefundRequest,
    gateway_for,
)
from billing.models import (
    SETTLED_STATUSES,
    DoctorFee,
    Invoice,
    InvoiceCounter,
    InvoiceItem,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundStatus,
    StripeEvent,
)
from billing.money import MINOR_UNITS, is_exact
from billing.policies import CARD_PAYMENT_EXPIRY_MINUTES
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from scheduling.models import Appointment, AppointmentStatus

logger = logging.getLogger(__name__)

# The payment lifecycle: every status change goes through `_payment_move`.
PAYMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.FAILED}),
    PaymentStatus.SUCCEEDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}
# An invoice is paid while what was paid covers it; a refund can reopen it.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.PAID}),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.ISSUED}),
}
NOT_PAYABLE = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)


class IllegalTransition(Exception):
    """A status change the lifecycle forbids (a late or replayed gateway message)."""


# --- Fees -------------------------------------------------------------------------------


@transaction.atomic
def doctor_fee_set(*, actor: User | None, doctor: Doctor, consultation_fee: Decimal, currency: str) -> DoctorFee:
    """Set a doctor's own consultation fee and currency (staff and admin; the caller checks)."""
    if currency not in MINOR_UNITS:
        raise ValidationFailed(fields={"currency": [f"Must be one of {', '.join(MINOR_UNITS)}."]})
    if consultation_fee < 0 or not is_exact(consultation_fee, currency):
        raise ValidationFailed(fields={"consultation_fee": [f"Must be a non-negative amount exact in {currency}."]})
    fee, _ = DoctorFee.objects.update_or_create(
        doctor=doctor,
        defaults={"consultation_fee": consultation_fee, "currency": currency, "updated_at": timezone.now()},
    )
    audit_record(
        actor=actor,
        action="doctor_fee.set",
        obj=doctor,
        details={"consultation_fee": str(consultation_fee), "currency": currency},
    )
    return fee


# --- Charges ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChargeOutcome:
    payment: Payment
    replayed: bool


def _fingerprint(*, appointment_id: int, method: str, amount: Decimal | None) -> str:
    body = {"appointment": appointment_id, "method": method, "amount": None if amount is None else str(amount)}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def payment_charge(
    *, actor: User, appointment_id: int, method: str, idempotency_key: str, amount: Decimal | None = None
) -> ChargeOutcome:
    """Take a payment for an appointment, at most once per (payer, idempotency key).

    `amount` defaults to the open balance and may never exceed it. Cash and insurance are
    recorded by staff and settle at once; card creates a Stripe PaymentIntent and settles
    when Stripe's webhook says so. The same key with the same body returns the same
    payment (`replayed`); with another body it is refused with 409 `idempotency_key_reused`.
    """
    if method != PaymentMethod.CARD and not actor.is_staff_or_admin:
        raise Forbidden("Cash and insurance payments are recorded at the desk by staff.")
    fingerprint = _fingerprint(appointment_id=appointment_id, method=method, amount=amount)
    existing = Payment.objects.filter(payer=actor, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    gateway = gateway_for(method)
    card_payments_expire(appointment_id=appointment_id)
    try:
        payment, created = _payment_open(
            actor=actor,
            appointment_id=appointment_id,
            method=method,
            amount=amount,
            idempotency_key=idempotency_key,
            fingerprint=fingerprint,
            gateway=gateway,
        )
    except IntegrityError:
        # Lost the race for (payer, idempotency_key) to a request with another appointment:
        # the winner's row is committed, and the fingerprint decides.
        payment, created = Payment.objects.get(payer=actor, idempotency_key=idempotency_key), False
    if not created:
        return _replay(payment, fingerprint)
    if payment.status == PaymentStatus.PENDING:
        payment = _payment_submit(payment=payment, gateway=gateway)
    return ChargeOutcome(payment=payment, replayed=False)


def _replay(payment: Payment, fingerprint: str) -> ChargeOutcome:
    if payment.request_fingerprint != fingerprint:
        raise Conflict("This idempotency_key was already used for a different request.", code="idempotency_key_reused")
    if payment.status == PaymentStatus.PENDING and not payment.gateway_reference:
        # The gateway was unreachable the first time; its own idempotency key makes a
        # second attempt safe, so the retry the client was told to make goes through.
        payment = _payment_submit(payment=payment, gateway=gateway_for(payment.method))
    return ChargeOutcome(payment=payment, replayed=True)


@transaction.atomic
def _payment_open(
    *,
    actor: User,
    appointment_id: int,
    method: str,
    amount: Decimal | None,
    idempotency_key: str,
    fingerprint: str,
    gateway: PaymentGateway,
) -> tuple[Payment, bool]:
    """Record a payment against the balance, under the appointment's row lock."""
    appointment = selectors.appointment_get_for_billing(actor=actor, appointment_id=appointment_id, lock=True)
    # A racing twin with the same key may have committed while this one waited for the lock.
    existing = Payment.objects.filter(payer=actor, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if appointment.status in NOT_PAYABLE:
        raise Conflict(f"A {appointment.status.replace('_', ' ')} appointment cannot be paid.", code="not_payable")
    due, currency = selectors.appointment_amount_due(appointment=appointment)
    balance = due - selectors.appointment_amount_held(appointment=appointment)
    if balance <= 0:
        raise Conflict("This appointment is already paid.", code="already_paid")
    if amount is None:
        amount = balance
    elif not is_exact(amount, currency):
        raise ValidationFailed(fields={"amount": [f"Must be a whole number of the smallest unit of {currency}."]})
    elif amount > balance:
        raise ValidationFailed(
            f"The amount exceeds the open balance of {balance} {currency}.",
            code="amount_exceeds_balance",
            fields={"amount": [f"At most {balance} {currency} is open."]},
        )
    # The unique (payer, idempotency_key) constraint is the last word: a twin racing with
    # another appointment (another lock) fails here, and payment_charge replays the winner.
    payment = Payment.objects.create(
        appointment=appointment,
        payer=actor,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        method=method,
        amount=amount,
        currency=currency,
        gateway=gateway.name,
    )
    audit_record(
        actor=actor,
        action="payment.created",
        obj=payment,
        details={"appointment": appointment.pk, "method": method, "amount": str(amount), "currency": currency},
    )
    if gateway.settles_at_once:
        # The desk is the gateway: nothing crosses the network, so the payment settles in
        # the same transaction and can never be left pending.
        _payment_record(payment=payment, result=gateway.charge(_charge_request(payment)), actor=actor)
    return payment, True


def _charge_request(payment: Payment) -> ChargeRequest:
    return ChargeRequest(
        payment_id=payment.pk,
        amount=payment.amount,
        currency=payment.currency,
        # Keys are ours per payer; Stripe's are per account, so the payer is part of it.
        idempotency_key=f"clinic-{payment.payer_id}-{payment.idempotency_key}",
        description=f"Appointment {payment.appointment_id}",
        metadata={
            "payment_id": str(payment.pk),
            "appointment_id": str(payment.appointment_id),
            "idempotency_key": payment.idempotency_key,
        },
    )


def _payment_submit(*, payment: Payment, gateway: PaymentGateway) -> Payment:
    """Send a committed, pending payment to its gateway (no transaction open) and record the answer."""
    result = gateway.charge(_charge_request(payment))
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status == PaymentStatus.PENDING:
            _payment_record(payment=payment, result=result, actor=None)
    return payment


def _payment_record(*, payment: Payment, result: GatewayResult, actor: User | None) -> None:
    """Store what the gateway answered for a pending payment (locked by the caller)."""
    payment.gateway_reference = result.reference or payment.gateway_reference
    payment.client_secret = result.client_secret or payment.client_secret
    payment.failure_reason = result.failure_reason
    payment.updated_at = timezone.now()
    payment.save(update_fields=["gateway_reference", "client_secret", "failure_reason", "updated_at"])
    if result.status in (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED):
        _payment_move(payment=payment, to=result.status, actor=actor)


def _payment_move(*, payment: Payment, to: str, actor: User | None) -> None:
    """Move a locked payment along its lifecycle, audit it and bring its invoice up to date."""
    if to not in PAYMENT_TRANSITIONS[payment.status]:
        raise IllegalTransition(f"payment {payment.pk}: {payment.status} -> {to}")
    now = timezone.now()
    payment.status = to
    payment.updated_at = now
    if to == PaymentStatus.SUCCEEDED:
        payment.settled_at = now
    payment.save(update_fields=["status", "updated_at", "settled_at"])
    audit_record(actor=actor, action=f"payment.{to}", obj=payment, details={"amount": str(payment.amount)})
    _invoice_sync(appointment_id=payment.appointment_id, actor=actor)


# --- Abandoned card payments -------------------------------------------------------------


def payment_cancel(*, actor: User, payment_id: int) -> Payment:
    """Cancel a pending card payment (staff, at the desk): at Stripe first, then here.

    If the payer confirmed it meanwhile, Stripe refuses to cancel and its answer stands:
    the payment stays pending (or settles), and 409 `payment_not_cancellable` says so.
    """
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        raise NotFound()
    if payment.status != PaymentStatus.PENDING:
        raise Conflict(f"A {payment.status} payment cannot be cancelled.", code="payment_not_cancellable")
    payment = _payment_abandon(payment=payment, reason="cancelled", actor=actor)
    if payment.status != PaymentStatus.FAILED:
        raise Conflict("The payer confirmed this payment meanwhile.", code="payment_not_cancellable")
    return payment


def card_payments_expire(*, appointment_id: int | None = None) -> int:
    """Cancel the card payments left unconfirmed past `card_payment_expiry_minutes`; returns how many.

    An intent that is never confirmed would hold the appointment's balance forever, and
    cash or insurance could not be taken. Run by beat and before every charge.
    """
    minutes = clinic_setting(CARD_PAYMENT_EXPIRY_MINUTES.key)
    stale = Payment.objects.filter(
        method=PaymentMethod.CARD,
        status=PaymentStatus.PENDING,
        created_at__lt=timezone.now() - timedelta(minutes=minutes),
    )
    if appointment_id is not None:
        stale = stale.filter(appointment_id=appointment_id)
    expired = 0
    for payment in stale:
        try:
            expired += _payment_abandon(payment=payment, reason="expired", actor=None).status == PaymentStatus.FAILED
        except GatewayUnavailable:
            logger.warning("card payment %s could not be expired: Stripe unreachable", payment.pk)
    return expired


def _payment_abandon(*, payment: Payment, reason: str, actor: User | None) -> Payment:
    """Cancel a pending payment at its gateway (no lock held), then record the outcome."""
    gateway = gateway_for(payment.method)
    result = gateway.cancel(payment.gateway_reference) if payment.gateway_reference else None
    with transaction.atomic():
        Appointment.objects.select_for_update().filter(pk=payment.appointment_id).first()
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status != PaymentStatus.PENDING:
            return payment
        if result is None or result.status == PaymentStatus.FAILED:
            # Never reached Stripe (no reference): nobody holds a client secret to confirm it.
            payment.failure_reason = reason
            payment.save(update_fields=["failure_reason"])
            _payment_move(payment=payment, to=PaymentStatus.FAILED, actor=actor)
        elif result.status == PaymentStatus.SUCCEEDED:
            _payment_move(payment=payment, to=PaymentStatus.SUCCEEDED, actor=actor)
    return payment


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


# --- Invoices ---------------------------------------------------------------------------


def invoice_number(year: int, sequence: int) -> str:
    return f"INV-{year}-{sequence:06d}"


def _invoice_number_take(*, year: int) -> int:
    """The next number of `year`, gapless: the counter row stays locked until the invoice
    commits, and a rollback gives its number back with it."""
    InvoiceCounter.objects.bulk_create([InvoiceCounter(year=year)], ignore_conflicts=True)
    counter = InvoiceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


@transaction.atomic
def invoice_generate(*, actor: User, appointment_id: int, at: datetime | None = None) -> tuple[Invoice, bool]:
    """Issue the invoice of a completed appointment, or return the one it already has.

    One invoice per appointment (unique); numbers run per calendar year of the clinic
    (INV-2026-000001, ...) with no gap. Returns (invoice, created).
    """
    appointment = selectors.appointment_get_for_billing(actor=actor, appointment_id=appointment_id, lock=True)
    existing = Invoice.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing, False
    if appointment.status != AppointmentStatus.COMPLETED:
        raise ValidationFailed(
            "Only a completed appointment can be invoiced.",
            code="appointment_not_completed",
            fields={"appointment": ["The appointment is not completed."]},
        )
    quote = selectors.appointment_quote(appointment=appointment)
    issued_at = at or timezone.now()
    year = issued_at.astimezone(clinic_timezone()).year
    sequence = _invoice_number_take(year=year)
    invoice = Invoice.objects.create(
        number=invoice_number(year, sequence),
        year=year,
        sequence=sequence,
        appointment=appointment,
        patient_id=appointment.patient_id,
        currency=quote.currency,
        subtotal=quote.subtotal,
        tax_rate=quote.tax_rate,
        tax=quote.tax,
        total=quote.total,
        issued_at=issued_at,
        issued_by=actor,
    )
    InvoiceItem.objects.bulk_create(
        InvoiceItem(
            invoice=invoice,
            position=position,
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            total=item.total,
        )
        for position, item in enumerate(quote.items, start=1)
    )
    audit_record(
        actor=actor,
        action="invoice.issued",
        obj=invoice,
        details={"number": invoice.number, "total": str(invoice.total), "currency": invoice.currency},
    )
    # Paid in advance (at the desk, say): the invoice is paid from the start.
    _invoice_sync(appointment_id=appointment.pk, actor=actor)
    invoice.refresh_from_db()
    return invoice, True


def _invoice_sync(*, appointment_id: int, actor: User | None) -> None:
    """Mark the appointment's invoice paid while settled payments cover it, issued otherwise."""
    invoice = Invoice.objects.select_for_update().filter(appointment_id=appointment_id).first()
    if invoice is None:
        return
    paid = sum(
        (p.net_amount for p in Payment.objects.filter(appointment_id=appointment_id, status__in=SETTLED_STATUSES)),
        Decimal("0"),
    )
    target = InvoiceStatus.PAID if paid >= invoice.total else InvoiceStatus.ISSUED
    if target == invoice.status:
        return
    if target not in INVOICE_TRANSITIONS[invoice.status]:
        raise IllegalTransition(f"invoice {invoice.pk}: {invoice.status} -> {target}")
    invoice.status = target
    invoice.paid_at = timezone.now() if target == InvoiceStatus.PAID else None
    invoice.save(update_fields=["status", "paid_at"])
    audit_record(
        actor=actor,
        action="invoice.paid" if target == InvoiceStatus.PAID else "invoice.reopened",
        obj=invoice,
        details={"paid": str(paid), "total": str(invoice.total)},
    )


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
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event_id, type=event_type)
    except IntegrityError:
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
        status={"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(obj.get("status"), "pending"),
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
