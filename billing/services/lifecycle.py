"""The payment and invoice lifecycles: the transition tables and the one function each that moves a status."""

import logging
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from billing.models import (
    SETTLED_STATUSES,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
)
from scheduling.models import AppointmentStatus

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
