"""Creating notifications (appointment news, admin sends; in-app ones are delivered at once),
preferences, and forgetting a deleted account's addresses."""

import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record, audit_record_each
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.exceptions import ValidationFailed
from core.queries import Compiled
from notifications import events, selectors
from notifications.models import (
    Channel,
    Kind,
    Notification,
    NotificationPreference,
    NotificationStatus,
)
from observability import metrics
from scheduling.models import Appointment, VisitType

logger = logging.getLogger(__name__)

EXTERNAL_CHANNELS = (Channel.SMS, Channel.EMAIL)

APPOINTMENT_KINDS = {
    "booked": Kind.BOOKED,
    "rescheduled": Kind.RESCHEDULED,
    "cancelled": Kind.CANCELLED,
}

# What each kind says. Date, time, doctor and clinic only: a stranger reading the phone
# learns nothing of the reason for the visit.
_SUBJECTS = {
    Kind.BOOKED: "Appointment booked",
    Kind.RESCHEDULED: "Appointment moved",
    Kind.CANCELLED: "Appointment cancelled",
    Kind.REMINDER: "Appointment reminder",
}
_BODIES = {
    Kind.BOOKED: "Your appointment with {doctor} at {clinic} is booked for {when}.",
    Kind.RESCHEDULED: "Your appointment with {doctor} at {clinic} has moved to {when}.",
    Kind.CANCELLED: "Your appointment with {doctor} at {clinic} on {when} is cancelled.",
    Kind.REMINDER: "Reminder: your appointment with {doctor} at {clinic} is on {when}.",
}


# --- Creating notifications -------------------------------------------------------------


def _address(user: User, channel: str) -> str:
    if channel == Channel.SMS:
        return user.phone
    if channel == Channel.EMAIL:
        return user.email
    return ""


def _channels_for(user: User) -> list[str]:
    """The channels the user wants and can be reached on."""
    preference = selectors.preference_get(user=user)
    return [c for c in Channel.values if preference.allows(c) and (c == Channel.IN_APP or _address(user, c))]


def _enqueue_delivery(notification: Notification) -> None:
    from notifications.tasks import deliver_notification

    deliver_notification.delay(notification.pk)


# Who delivers an SMS or email notification once it is committed. By default a
# `notifications.deliver` task; the worker, already running one, passes its own function
# and gets the notification made claimed for it (`sending`, attempt 1) to deliver at once.
Deliver = Callable[[Notification], None]


def _notifications_create(
    *,
    user: User,
    channels: list[str],
    kind: str,
    subject: str,
    body: str,
    appointment: Appointment | None = None,
    lead_minutes: int | None = None,
    deliver: Deliver | None = None,
) -> list[Notification]:
    """One notification per channel, in one INSERT. In-app ones are delivered at once, as a
    `notification.created` event on the user's topic; SMS and email ones are handed to
    `deliver` after commit."""
    now = timezone.now()
    rows = []
    for channel in channels:
        in_app = channel == Channel.IN_APP
        # Made claimed by the caller that delivers it: no worker can take it over before the
        # lease runs out, and one that does asks the provider before sending again.
        claimed = deliver is not None and not in_app
        if in_app:
            status = NotificationStatus.SENT
        elif claimed:
            status = NotificationStatus.SENDING
        else:
            status = NotificationStatus.PENDING
        rows.append(
            Notification(
                user=user,
                channel=channel,
                kind=kind,
                subject=subject,
                body=body,
                recipient=_address(user, channel),
                appointment=appointment,
                appointment_start=appointment.start if appointment is not None else None,
                lead_minutes=lead_minutes,
                status=status,
                sent_at=now if in_app else None,
                sending_started_at=now if claimed else None,
                attempts=1 if claimed else 0,
                created_at=now,
                updated_at=now,
            )
        )
    created = Notification.objects.bulk_create(rows)
    for notification in created:
        in_app = notification.channel == Channel.IN_APP
        # Counted once committed: "pending" for a delivery handed on, "sent" in-app.
        counted = NotificationStatus.SENT if in_app else NotificationStatus.PENDING
        transaction.on_commit(
            partial(metrics.notification_delivery, channel=notification.channel, state=counted), robust=True
        )
        if in_app:
            events.notification_created(notification)
        else:
            # Robust: with the broker down (or the worker failing) the row stays pending or
            # claimed, and the stalled-delivery sweep hands it on later; the committed change
            # that caused it is not an error.
            transaction.on_commit(partial(deliver or _enqueue_delivery, notification), robust=True)
    return created


def _appointment_text(appointment: Appointment, kind: Kind) -> tuple[str, str]:
    local = timezone.localtime(appointment.start, clinic_timezone())
    doctor = appointment.doctor.user
    body = _BODIES[kind].format(
        doctor=f"Dr {doctor.full_name}".strip(),
        clinic=clinic_setting("clinic_name"),
        when=f"{local:%A %d %B %Y} at {local:%H:%M} ({local.tzname()})",
    )
    if appointment.visit_type == VisitType.VIDEO and kind != Kind.CANCELLED:
        # The clinic's join page, not the room itself: it admits only the signed-in
        # patient, inside the window, so a forwarded message lets nobody else in.
        body += (
            f" It is a video visit: join at {settings.PUBLIC_BASE_URL.rstrip('/')}/video/{appointment.pk}/"
            f" from {clinic_setting('video_opens_minutes_before')} minutes before the start."
        )
    return _SUBJECTS[kind], body


def appointment_notify_later(*, appointment_id: int, kind: str) -> None:
    """Have the worker tell the patient (task notifications.notify_appointment).

    Called when scheduling announces a committed change (scheduling.signals.appointment_changed):
    the request that booked, moved or cancelled does not spend its time making notifications.
    With the broker down the notifications are made here and now instead, so none is lost.
    """
    from notifications.tasks import notify_appointment

    try:
        notify_appointment.delay(appointment_id, kind)
    except Exception:
        logger.warning("broker unavailable; notifying appointment %s (%s) in-process", appointment_id, kind)
        appointment_notify(appointment_id=appointment_id, kind=kind)


# The worker's two reads for every booking, move and cancellation, compiled once
# (core.queries.Compiled): the appointment under its row lock, with whom it concerns, and
# whether this news of it was already made.
_appointment_to_notify = Compiled(
    lambda pk: Appointment.objects.select_for_update(of=("self",))
    .select_related("doctor__user", "patient__user__notification_preference")
    .filter(pk=pk)
)
_announced = Compiled(
    lambda appointment_id, kind, start: Notification.objects.only("pk").filter(
        appointment_id=appointment_id, kind=kind, appointment_start=start
    )
)


@transaction.atomic
def appointment_notify(*, appointment_id: int, kind: str, deliver: Deliver | None = None) -> list[Notification]:
    """Tell the patient their appointment was booked, rescheduled or cancelled.

    Runs after the change committed (scheduling.signals.appointment_changed, then the
    worker: appointment_notify_later), so a rolled-back booking notifies nobody. One
    notification per channel the patient wants. Idempotent, keyed on the appointment: a
    task run twice (redelivered, retried) finds the notifications of this kind for the
    appointment's current start already made, under the appointment's row lock, and makes
    none; two moves in quick succession announce the final time once. The SMS and email
    ones go to `deliver` once committed (the worker's task delivers them itself).
    """
    notification_kind = APPOINTMENT_KINDS[kind]
    appointment = _appointment_to_notify.first(appointment_id)
    if appointment is None:
        logger.warning("appointment %s to notify (%s) no longer exists", appointment_id, kind)
        return []
    patient = appointment.patient.user
    if not patient.is_active:
        return []
    if _announced.first(appointment.pk, notification_kind, appointment.start) is not None:
        return []
    subject, body = _appointment_text(appointment, notification_kind)
    created = _notifications_create(
        user=patient,
        channels=_channels_for(patient),
        kind=notification_kind,
        subject=subject,
        body=body,
        appointment=appointment,
        deliver=deliver,
    )
    audit_record_each(actor=None, action="notification.created", objs=created, details={"kind": kind})
    return created


@transaction.atomic
def user_notify(*, user: User, kind: str, subject: str, body: str) -> list[Notification]:
    """Tell a user something the platform decided (a waitlist offer), on every channel they want.

    Called inside the caller's transaction: nothing is sent if it rolls back. The in-app
    notification goes out live (`notification.created`); SMS and email after commit.
    """
    if not user.is_active:
        return []
    created = _notifications_create(user=user, channels=_channels_for(user), kind=kind, subject=subject, body=body)
    audit_record_each(actor=None, action="notification.created", objs=created, details={"kind": kind})
    return created


@transaction.atomic
def notification_send(*, actor: User, user: User, channel: str, subject: str, body: str) -> Notification:
    """A notification an admin writes to one user (delivered in the background)."""
    if channel != Channel.IN_APP and not _address(user, channel):
        raise ValidationFailed(fields={"channel": [f"This user has no address for {channel}."]})
    if not selectors.preference_get(user=user).allows(channel):
        raise ValidationFailed(fields={"channel": [f"This user has turned {channel} notifications off."]})
    (notification,) = _notifications_create(user=user, channels=[channel], kind=Kind.ADMIN, subject=subject, body=body)
    audit_record(actor=actor, action="notification.created", obj=notification, details={"channel": channel})
    return notification


@transaction.atomic
def notifications_forget_user(*, user: User) -> int:
    """An account was deleted: erase the addresses its notifications went to.

    The rows stay (what was sent, when, about which appointment); nothing still waiting
    is sent to an account that no longer exists. Returns how many rows were changed.
    """
    now = timezone.now()
    unsent = Notification.objects.filter(user=user, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.FAILED, failure_reason="account deleted", recipient="", updated_at=now
    )
    erased = Notification.objects.filter(user=user).exclude(recipient="").update(recipient="", updated_at=now)
    return unsent + erased


@transaction.atomic
def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (again: no change)."""
    now = timezone.now()
    if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now, updated_at=now):
        audit_record(actor=actor, action="notification.read", obj=notification)
    notification.refresh_from_db()
    return notification


@transaction.atomic
def preference_update(*, actor: User, user: User, changes: dict[str, bool]) -> NotificationPreference:
    """Turn channels on or off for `user` (partial)."""
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    for channel, enabled in changes.items():
        setattr(preference, channel, enabled)
    preference.updated_at = timezone.now()
    preference.save()
    audit_record(actor=actor, action="notification_preference.updated", obj=preference, details=changes)
    return preference
