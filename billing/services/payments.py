"""Charges (cash, insurance at the desk; cards through the gateway) and abandoned card payments."""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from billing import selectors
from billing.gateways import (
    ChargeRequest,
    GatewayResult,
    GatewayUnavailable,
    PaymentGateway,
    gateway_for,
)
from billing.models import (
    Payment,
    PaymentMethod,
    PaymentStatus,
)
from billing.money import is_exact
from billing.policies import CARD_PAYMENT_EXPIRY_MINUTES
from billing.services.lifecycle import NOT_PAYABLE, _payment_move
from clinic.registry import clinic_setting
from core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from scheduling.models import Appointment

logger = logging.getLogger(__name__)

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
