"""Reminders before each appointment, one per lead and channel however often beat runs."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from clinic.registry import clinic_setting
from notifications.models import (
    Kind,
    Notification,
)
from notifications.services.creation import _appointment_text, _channels_for, _notifications_create
from scheduling.models import Appointment, AppointmentStatus

# --- Reminders --------------------------------------------------------------------------


def _reminder_create(*, appointment: Appointment, channel: str, lead: int) -> Notification | None:
    subject, body = _appointment_text(appointment, Kind.REMINDER)
    try:
        # A savepoint: the unique constraint on (appointment, kind, channel, lead, start)
        # is the guard against a second beat process; losing the race is not an error.
        with transaction.atomic():
            (notification,) = _notifications_create(
                user=appointment.patient.user,
                channels=[channel],
                kind=Kind.REMINDER,
                subject=subject,
                body=body,
                appointment=appointment,
                lead_minutes=lead,
            )
            audit_record(actor=None, action="notification.created", obj=notification, details={"lead": lead})
            return notification
    except IntegrityError:
        return None


def reminders_create_due(*, now: datetime | None = None) -> int:
    """Create the reminders that are due now; returns how many were created.

    For each booked appointment, the due lead is the shortest reminder lead whose moment
    (start - lead) has come: a beat that was down catches up with one reminder, not
    several. A lead whose moment passed before the appointment was booked is skipped (the
    booking confirmation said it all). Each appointment gets its own transaction, so one
    slow or failing appointment does not hold the others back.
    """
    now = now or timezone.now()
    leads = sorted(clinic_setting("reminder_leads_minutes"))
    if not leads:
        return 0
    appointments = list(
        Appointment.objects.select_related("doctor__user", "patient__user__notification_preference").filter(
            status=AppointmentStatus.BOOKED,
            start__gt=now,
            start__lte=now + timedelta(minutes=leads[-1]),
            patient__user__is_active=True,
        )
    )
    due: dict[int, int] = {}
    for appointment in appointments:
        passed = [lead for lead in leads if appointment.start - timedelta(minutes=lead) <= now]
        if passed and appointment.created_at <= appointment.start - timedelta(minutes=passed[0]):
            due[appointment.pk] = passed[0]
    # Most appointments in the window were reminded by an earlier run: one query says which.
    done = set(
        Notification.objects.filter(kind=Kind.REMINDER, appointment_id__in=due).values_list(
            "appointment_id", "lead_minutes", "appointment_start", "channel"
        )
    )
    created = 0
    for appointment in appointments:
        lead = due.get(appointment.pk)
        if lead is None:
            continue
        channels = [
            channel
            for channel in _channels_for(appointment.patient.user)
            if (appointment.pk, lead, appointment.start, channel) not in done
        ]
        if not channels:
            continue
        with transaction.atomic():
            for channel in channels:
                if _reminder_create(appointment=appointment, channel=channel, lead=lead):
                    created += 1
    return created
