"""Doctors' own consultation fees."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Doctor, User
from audit.services import audit_record
from billing.models import (
    DoctorFee,
)
from billing.money import MINOR_UNITS, is_exact
from core.exceptions import ValidationFailed

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
