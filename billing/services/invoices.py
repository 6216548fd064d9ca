"""Invoices: one per completed appointment, numbered without gaps per year of the clinic's calendar."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from billing import selectors
from billing.models import (
    Invoice,
    InvoiceCounter,
    InvoiceItem,
)
from billing.services.lifecycle import _invoice_sync
from clinic.clock import clinic_timezone
from core.exceptions import ValidationFailed
from scheduling.models import AppointmentStatus

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
