"""Helpers of the notifications tests (import them from here; fixtures stay in conftest.py)."""

from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from scheduling.models import Appointment
from tests import factories


def appointment_in(*, doctor: User, patient: User, hours: float, booked_hours_before: float = 72) -> Appointment:
    """A booked appointment `hours` from now, made `booked_hours_before` hours before its start."""
    start = (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)
    appointment = factories.appointment_at(doctor=doctor, patient=patient, start=start)
    Appointment.objects.filter(pk=appointment.pk).update(created_at=start - timedelta(hours=booked_hours_before))
    appointment.refresh_from_db()
    return appointment


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)
