"""Reads of billing, scoped to the actor ("not yours" is 404), and the price of an appointment."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from billing.models import HOLDING_STATUSES, DoctorFee, Invoice, Payment
from billing.money import MINOR_UNITS, round_money, tax_on
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.exceptions import Conflict
from core.roles import Role
from scheduling.models import Appointment
from scheduling.selectors import appointments_visible_to


@dataclass(frozen=True)
class QuoteItem:
    description: str
    quantity: int
    unit_price: Decimal
    total: Decimal


@dataclass(frozen=True)
class Quote:
    """What an appointment costs: items, subtotal, tax and total, all exact in `currency`."""

    currency: str
    items: tuple[QuoteItem, ...]
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal


def quote_build(*, currency: str, lines: list[tuple[str, int, Decimal]], tax_rate: Decimal) -> Quote:
    """Price `lines` of (description, quantity, unit price): each line rounded once, the tax
    rounded once on the subtotal, so the total is always the items plus the tax to the cent."""
    items = tuple(
        QuoteItem(
            description=description,
            quantity=quantity,
            unit_price=round_money(unit_price, currency),
            total=round_money(round_money(unit_price, currency) * quantity, currency),
        )
        for description, quantity, unit_price in lines
    )
    subtotal = sum((item.total for item in items), Decimal("0"))
    tax = tax_on(subtotal, tax_rate, currency)
    return Quote(currency=currency, items=items, subtotal=subtotal, tax_rate=tax_rate, tax=tax, total=subtotal + tax)


def doctor_fee(*, doctor_id: int) -> tuple[Decimal, str]:
    """A doctor's consultation fee and its currency: their own, else the clinic default."""
    fee = DoctorFee.objects.filter(doctor_id=doctor_id).first()
    if fee is not None:
        return fee.consultation_fee, fee.currency
    currency = clinic_setting("currency")
    if currency not in MINOR_UNITS:
        # The setting is free text; a clinic typo must not turn into a wrong amount.
        raise Conflict(f"The clinic currency {currency!r} is not supported.", code="currency_not_supported")
    return clinic_setting("default_consultation_fee"), currency


def appointment_quote(*, appointment: Appointment) -> Quote:
    """The price of one consultation at today's fee and tax rate."""
    fee, currency = doctor_fee(doctor_id=appointment.doctor_id)
    doctor = appointment.doctor.user
    # The day the patient came, on the clinic's calendar (not the UTC date of the start).
    day = appointment.start.astimezone(clinic_timezone()).date()
    description = f"Consultation with Dr {doctor.full_name or doctor.email} on {day:%Y-%m-%d}"
    return quote_build(currency=currency, lines=[(description, 1, fee)], tax_rate=clinic_setting("tax_rate"))


def appointment_amount_due(*, appointment: Appointment) -> tuple[Decimal, str]:
    """What the appointment costs: its invoice's total once invoiced, else today's quote."""
    invoice = Invoice.objects.filter(appointment=appointment).only("total", "currency").first()
    if invoice is not None:
        return invoice.total, invoice.currency
    quote = appointment_quote(appointment=appointment)
    return quote.total, quote.currency


def appointment_amount_held(*, appointment: Appointment) -> Decimal:
    """Paid or being paid: settled payments less their refunds, plus pending card payments."""
    held = Decimal("0")
    for amount, refunded in Payment.objects.filter(appointment=appointment, status__in=HOLDING_STATUSES).values_list(
        "amount", "refunded_amount"
    ):
        held += amount - refunded
    return held


# --- Scoped access ----------------------------------------------------------------------


def appointment_get_for_billing(*, actor: User, appointment_id: int, lock: bool = False) -> Appointment:
    """An appointment the actor may pay or invoice (their own; staff and admin: any), else 404.

    With `lock`, the row is locked for the rest of the transaction: every write about an
    appointment's money (a charge, an invoice) takes this lock first, so they run one at a time.
    """
    appointments = appointments_visible_to(actor).select_related("doctor__user", "patient__user")
    if lock:
        appointments = appointments.select_for_update(of=("self",))
    return get_object_or_404(appointments, pk=appointment_id)


def payment_list(*, actor: User) -> QuerySet[Payment]:
    """Payments for the actor's appointments (staff and admin: all), newest first."""
    payments = Payment.objects.select_related("appointment")
    if actor.is_staff_or_admin:
        return payments
    if actor.role == Role.PATIENT:
        return payments.filter(appointment__patient__user=actor)
    if actor.role == Role.DOCTOR:
        return payments.filter(appointment__doctor__user=actor)
    return payments.none()


def payment_get(*, actor: User, payment_id: int) -> Payment:
    """One payment: its patient's, or any for staff and admin; else 404."""
    return get_object_or_404(payment_list(actor=actor), pk=payment_id)


def invoice_list(*, actor: User) -> QuerySet[Invoice]:
    """Invoices with their items: the patient's own, or all for staff and admin; newest first."""
    invoices = Invoice.objects.select_related("patient__user", "appointment__doctor__user").prefetch_related("items")
    if not actor.is_staff_or_admin:
        invoices = invoices.filter(patient__user=actor)
    return invoices.order_by("-issued_at", "-id")


def invoice_get(*, actor: User, invoice_id: int) -> Invoice:
    """One invoice with its items: its patient's, or any for staff and admin; else 404."""
    return get_object_or_404(invoice_list(actor=actor), pk=invoice_id)
