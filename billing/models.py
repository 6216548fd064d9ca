"""Fees, payments, refunds and invoices. Only `billing.services` writes these models.

Money is `Decimal` in `DecimalField`s, always exact in the row's currency (see
billing/money.py). The invariants that matter most are held by the database itself:
one payment per (payer, idempotency key), one invoice per appointment, unique invoice
numbers, and amounts that are never negative.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Doctor, Patient
from billing.money import CURRENCIES
from core.webhooks import WebhookReceipt
from scheduling.models import Appointment

CURRENCY_CHOICES = [(code, code) for code in CURRENCIES]


def _money(**kwargs: Any) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class DoctorFee(models.Model):
    """A doctor's own consultation fee; doctors without one charge the clinic default."""

    doctor = models.OneToOneField(Doctor, on_delete=models.CASCADE, related_name="fee")
    consultation_fee = _money()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(consultation_fee__gte=0), name="doctorfee_fee_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.doctor}: {self.consultation_fee} {self.currency}"


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    INSURANCE = "insurance", "Insurance"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# Money that has reached the clinic (refunds are subtracted through `refunded_amount`).
SETTLED_STATUSES = (PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)
# Payments that count against an appointment's balance: a pending card payment holds its
# share, so two open card payments can never add up to more than is owed.
HOLDING_STATUSES = (PaymentStatus.PENDING, *SETTLED_STATUSES)


class Payment(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="payments")
    # The account that asked for the charge: the patient paying by card, or the staff
    # member at the desk. Idempotency keys are scoped to it.
    payer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments_made")
    idempotency_key = models.CharField(max_length=128)
    # SHA-256 of the request that created the payment: the same key with another body is refused.
    request_fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    amount = _money()
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    status = models.CharField(max_length=24, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    refunded_amount = _money(default=Decimal("0"))
    gateway = models.CharField(max_length=16)
    gateway_reference = models.CharField(max_length=255, blank=True, db_index=True)
    # Stripe's client secret for a card payment, so the payer's device can confirm it.
    client_secret = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["payer", "idempotency_key"], name="payment_unique_payer_idempotency_key"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=models.F("amount")),
                name="payment_refunded_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["appointment", "status"])]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency} {self.method} ({self.status})"

    @property
    def net_amount(self) -> Decimal:
        """What the clinic keeps of this payment: the amount less refunds, once settled."""
        if self.status in SETTLED_STATUSES:
            return self.amount - self.refunded_amount
        return Decimal("0")


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = _money()
    status = models.CharField(max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    gateway_reference = models.CharField(max_length=255, blank=True, db_index=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.pk} of payment {self.payment_id}: {self.amount} ({self.status})"


class InvoiceCounter(models.Model):
    """The last invoice number of a year. Locked while a number is taken, so none is skipped."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"


class Invoice(models.Model):
    number = models.CharField(max_length=32, unique=True)
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="invoice")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="invoices")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    subtotal = _money()
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4)
    tax = _money()
    total = _money()
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    issued_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_unique_year_sequence"),
            models.CheckConstraint(condition=Q(total=models.F("subtotal") + models.F("tax")), name="invoice_total"),
            models.CheckConstraint(condition=Q(subtotal__gte=0, tax__gte=0), name="invoice_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"


class InvoiceItem(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = _money()
    total = _money()

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoiceitem_unique_position")]

    def __str__(self) -> str:
        return f"{self.description} x{self.quantity}"


class StripeEvent(WebhookReceipt):
    """A Stripe webhook event already handled: Stripe delivers at least once."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
