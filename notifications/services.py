"""Every write to notifications: creating and delivering notifications, reminders,
preferences, messages and provider webhooks.

Delivery is a state machine moved only by conditional UPDATEs, so that any number of
workers holding the same task (Celery redelivers with acks_late after a worker dies)
agree on one outcome:

    pending --claim--> sending --provider accepted--> sent
                          |  \\--provider refused (4xx)--> failed (with the reason)
                          \\--provider busy (5xx, 429, network)--> pending (retried with backoff)

A worker that dies while "sending" leaves the row claimed. After the lease
(NOTIFICATION_SENDING_LEASE_SECONDS, well above the provider timeout and the task's time
limit, so a live worker never holds it that long) another worker may claim it again, and
any attempt after the first asks the provider first (`Sender.find_sent`): the message the
dead worker handed over is found and recorded instead of sent a second time.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from clinic.clock import clinic_timezone
from clinic.registry import clinic_setting
from core.exceptions import ValidationFailed
from notifications import selectors
from notifications.models import (
    Channel,
    Kind,
    Message,
    Notification,
    NotificationPreference,
    NotificationStatus,
    WebhookEvent,
)
from notifications.senders import OutgoingMessage, PermanentSendError, TransientSendError, sender_for
from notifications.serializers import message_data, notification_data
from observability import metrics
from realtime import topics
from realtime.publish import publish
from scheduling.models import Appointment, AppointmentStatus, VisitType

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


def _enqueue_delivery(notification_id: int) -> None:
    from notifications.tasks import deliver_notification

    deliver_notification.delay(notification_id)


def _notification_create(
    *,
    user: User,
    channel: str,
    kind: str,
    subject: str,
    body: str,
    appointment: Appointment | None = None,
    lead_minutes: int | None = None,
) -> Notification:
    """One notification. In-app ones are delivered at once, as a `notification.created`
    event on the user's topic; SMS and email ones are handed to Celery after commit."""
    now = timezone.now()
    in_app = channel == Channel.IN_APP
    notification = Notification.objects.create(
        user=user,
        channel=channel,
        kind=kind,
        subject=subject,
        body=body,
        recipient=_address(user, channel),
        appointment=appointment,
        appointment_start=appointment.start if appointment is not None else None,
        lead_minutes=lead_minutes,
        status=NotificationStatus.SENT if in_app else NotificationStatus.PENDING,
        sent_at=now if in_app else None,
        created_at=now,
        updated_at=now,
    )
    # Counted once committed: "pending" for a delivery handed to the worker, "sent" in-app.
    transaction.on_commit(
        partial(metrics.notification_delivery, channel=channel, state=notification.status), robust=True
    )
    if in_app:
        publish(
            topic=topics.user_notifications(user.pk),
            event="notification.created",
            data=notification_data(notification),
        )
    else:
        # Robust: with the broker down the row stays pending and the stalled-delivery sweep
        # enqueues it later; the committed change that caused it is not an error.
        transaction.on_commit(partial(_enqueue_delivery, notification.pk), robust=True)
    return notification


def _appointment_text(appointment: Appointment, kind: str) -> tuple[str, str]:
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


@transaction.atomic
def appointment_notify(*, appointment_id: int, kind: str) -> list[Notification]:
    """Tell the patient their appointment was booked, rescheduled or cancelled.

    Called when scheduling announces the change after its transaction commits
    (`scheduling.signals.appointment_changed`), so a rolled-back booking notifies
    nobody. One notification per channel the patient wants.
    """
    notification_kind = APPOINTMENT_KINDS[kind]
    appointment = Appointment.objects.select_related("doctor__user", "patient__user").filter(pk=appointment_id).first()
    if appointment is None:
        logger.warning("appointment %s to notify (%s) no longer exists", appointment_id, kind)
        return []
    patient = appointment.patient.user
    if not patient.is_active:
        return []
    subject, body = _appointment_text(appointment, notification_kind)
    created = [
        _notification_create(
            user=patient, channel=channel, kind=notification_kind, subject=subject, body=body, appointment=appointment
        )
        for channel in _channels_for(patient)
    ]
    for notification in created:
        audit_record(actor=None, action="notification.created", obj=notification, details={"kind": kind})
    return created


@transaction.atomic
def notification_send(*, actor: User, user: User, channel: str, subject: str, body: str) -> Notification:
    """A notification an admin writes to one user (delivered in the background)."""
    if channel != Channel.IN_APP and not _address(user, channel):
        raise ValidationFailed(fields={"channel": [f"This user has no address for {channel}."]})
    if not selectors.preference_get(user=user).allows(channel):
        raise ValidationFailed(fields={"channel": [f"This user has turned {channel} notifications off."]})
    notification = _notification_create(user=user, channel=channel, kind=Kind.ADMIN, subject=subject, body=body)
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


# --- Reminders --------------------------------------------------------------------------


def _reminder_create(*, appointment: Appointment, channel: str, lead: int) -> Notification | None:
    subject, body = _appointment_text(appointment, Kind.REMINDER)
    try:
        # A savepoint: the unique constraint on (appointment, kind, channel, lead, start)
        # is the guard against a second beat process; losing the race is not an error.
        with transaction.atomic():
            notification = _notification_create(
                user=appointment.patient.user,
                channel=channel,
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


# --- Delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt came to; `retry_in` (seconds) when it should run again."""

    result: str  # "sent", "failed", "retry", "skipped"
    retry_in: int | None = None


_MAX_BACKOFF_SECONDS = 1800


def _backoff_seconds(attempts: int) -> int:
    # 30 s, 60 s, 120 s ... capped at 30 min, with jitter so retries do not march in step.
    base = min(30 * 2 ** max(attempts - 1, 0), _MAX_BACKOFF_SECONDS)
    return base + random.randint(0, base // 4)  # noqa: S311 (jitter, not a secret)


def _claimed(notification_id: int, claimed_at: datetime) -> Q:
    # Every write after the claim names the claim: a worker whose lease ran out (and whose
    # row another worker took over) changes nothing.
    return Q(pk=notification_id, status=NotificationStatus.SENDING, sending_started_at=claimed_at)


def _finish_sent(notification: Notification, provider_id: str, claimed_at: datetime) -> DeliveryOutcome:
    now = timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(_claimed(notification.pk, claimed_at)).update(
            status=NotificationStatus.SENT, provider_message_id=provider_id, sent_at=now, updated_at=now
        )
        if not updated:
            logger.warning("notification %s: lost its claim before recording it sent", notification.pk)
            return DeliveryOutcome("skipped")
        audit_record(actor=None, action="notification.sent", obj=notification, details={"provider_id": provider_id})
    return DeliveryOutcome("sent")


def _finish_failed(notification: Notification, reason: str, claimed_at: datetime) -> DeliveryOutcome:
    now = timezone.now()
    with transaction.atomic():
        updated = Notification.objects.filter(_claimed(notification.pk, claimed_at)).update(
            status=NotificationStatus.FAILED, failure_reason=reason[:500], updated_at=now
        )
        if not updated:
            return DeliveryOutcome("skipped")
        audit_record(actor=None, action="notification.failed", obj=notification, details={"reason": reason[:500]})
    logger.warning("notification %s failed: %s", notification.pk, reason)
    return DeliveryOutcome("failed")


def _release_for_retry(notification: Notification, reason: str, claimed_at: datetime) -> DeliveryOutcome:
    if notification.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
        return _finish_failed(notification, f"gave up after {notification.attempts} attempts: {reason}", claimed_at)
    retry_in = _backoff_seconds(notification.attempts)
    updated = Notification.objects.filter(_claimed(notification.pk, claimed_at)).update(
        status=NotificationStatus.PENDING, updated_at=timezone.now()
    )
    if not updated:
        return DeliveryOutcome("skipped")
    logger.info(
        "notification %s: attempt %s failed (%s); retry in %ss",
        notification.pk,
        notification.attempts,
        reason,
        retry_in,
    )
    return DeliveryOutcome("retry", retry_in=retry_in)


def notification_deliver(*, notification_id: int) -> DeliveryOutcome:
    """Hand one SMS or email notification to its provider, at most once.

    Safe to call any number of times, from any number of workers, for the same id.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    # The claim: one conditional UPDATE; of two workers racing for the row, one matches.
    claimed = (
        Notification.objects.filter(pk=notification_id, channel__in=EXTERNAL_CHANNELS)
        .filter(
            Q(status=NotificationStatus.PENDING) | Q(status=NotificationStatus.SENDING, sending_started_at__lt=stale)
        )
        .update(status=NotificationStatus.SENDING, sending_started_at=now, attempts=F("attempts") + 1, updated_at=now)
    )
    if not claimed:
        return DeliveryOutcome("skipped")
    notification = Notification.objects.select_related("user").get(pk=notification_id)
    outcome = _attempt(notification, now)
    # One count per attempt, by the state it reached: sent, failed, retry or skipped.
    metrics.notification_delivery(channel=notification.channel, state=outcome.result)
    return outcome


def _attempt(notification: Notification, now: datetime) -> DeliveryOutcome:
    """One claimed delivery attempt (the claim was taken at `now`)."""
    if not notification.user.is_active or not notification.recipient:
        return _finish_failed(notification, "The recipient has no address or no longer has an account.", now)

    sender = sender_for(notification.channel)
    message = OutgoingMessage(
        notification_id=notification.pk,
        to=notification.recipient,
        subject=notification.subject,
        body=notification.body,
        created_at=notification.created_at,
    )
    try:
        if notification.attempts > 1:
            # An earlier attempt may have reached the provider before its worker died or
            # its answer was lost: ask before sending again.
            found = _already_sent(sender.find_sent(message), notification.pk)
            if found:
                logger.info("notification %s: found at the provider as %s, not resent", notification.pk, found)
                return _finish_sent(notification, found, now)
        provider_id = sender.send(message)
    except TransientSendError as exc:
        return _release_for_retry(notification, str(exc), now)
    except PermanentSendError as exc:
        return _finish_failed(notification, str(exc), now)
    return _finish_sent(notification, provider_id, now)


def _already_sent(candidates: list[str], notification_id: int) -> str | None:
    """The first provider message among `candidates` that no other notification owns."""
    if not candidates:
        return None
    owned = set(
        Notification.objects.filter(provider_message_id__in=candidates)
        .exclude(pk=notification_id)
        .values_list("provider_message_id", flat=True)
    )
    return next((c for c in candidates if c not in owned), None)


def deliveries_stalled(*, now: datetime | None = None) -> list[int]:
    """Notifications nobody is delivering: claimed by a worker that died (sending past
    the lease) or pending since longer than the lease (their task was lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS)
    # A pending row waiting out its backoff was touched at most the longest backoff ago.
    retry_horizon = cutoff - timedelta(seconds=_MAX_BACKOFF_SECONDS * 5 // 4)
    return list(
        Notification.objects.filter(channel__in=EXTERNAL_CHANNELS)
        .filter(
            Q(status=NotificationStatus.SENDING, sending_started_at__lt=cutoff)
            | Q(status=NotificationStatus.PENDING, updated_at__lt=retry_horizon)
            | Q(status=NotificationStatus.PENDING, attempts=0, updated_at__lt=cutoff)
        )
        .order_by("id")
        .values_list("pk", flat=True)[:500]
    )


# --- Provider webhooks ------------------------------------------------------------------

# How far along each provider status is: a late "sent" never overwrites "delivered".
_TWILIO_RANK = {
    "accepted": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}
_TWILIO_FAILED = {"undelivered", "failed"}
_SENDGRID_RANK = {"processed": 0, "deferred": 1, "delivered": 2, "bounce": 2, "dropped": 2, "open": 3, "click": 3}
_SENDGRID_FAILED = {"bounce", "dropped"}


def _first_time(provider: str, event_id: str) -> bool:
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(provider=provider, event_id=event_id[:128])
        return True
    except IntegrityError:
        return False


def _provider_status_apply(
    notification: Notification, *, status: str, ranks: dict[str, int], failed: set[str], reason: str
) -> None:
    current = ranks.get(notification.provider_status, -1)
    if ranks.get(status, -1) < current:
        return
    notification.provider_status = status
    notification.updated_at = timezone.now()
    fields = ["provider_status", "updated_at"]
    if status in failed and notification.status == NotificationStatus.SENT:
        notification.status = NotificationStatus.FAILED
        notification.failure_reason = reason[:500]
        fields += ["status", "failure_reason"]
    notification.save(update_fields=fields)
    audit_record(actor=None, action="notification.delivery_updated", obj=notification, details={"status": status})


@transaction.atomic
def twilio_status_record(*, event_id: str, message_sid: str, status: str, error_code: str = "") -> bool:
    """A Twilio status callback (already verified). False when it was seen before or is not ours."""
    notification = (
        Notification.objects.select_for_update()
        .filter(channel=Channel.SMS, provider_message_id=message_sid)
        .exclude(provider_message_id="")
        .first()
    )
    if notification is None or not _first_time("twilio", event_id):
        return False
    reason = f"twilio {status}" + (f" (error {error_code})" if error_code else "")
    _provider_status_apply(notification, status=status, ranks=_TWILIO_RANK, failed=_TWILIO_FAILED, reason=reason)
    return True


@transaction.atomic
def sendgrid_events_record(*, events: list[dict]) -> int:
    """SendGrid event-webhook events (already verified); returns how many were new and ours."""
    applied = 0
    for event in events:
        event_id = str(event.get("sg_event_id") or "")
        notification = _sendgrid_notification(event)
        if not event_id or notification is None or not _first_time("sendgrid", event_id):
            continue
        kind = str(event.get("event", ""))
        reason = f"sendgrid {kind}: {event.get('reason') or event.get('response') or ''}".strip()
        _provider_status_apply(notification, status=kind, ranks=_SENDGRID_RANK, failed=_SENDGRID_FAILED, reason=reason)
        applied += 1
    return applied


def _sendgrid_notification(event: dict) -> Notification | None:
    emails = Notification.objects.select_for_update().filter(channel=Channel.EMAIL)
    notification_id = str(event.get("notification_id", ""))
    if notification_id.isdigit():
        return emails.filter(pk=int(notification_id)).first()
    # sg_message_id is the X-Message-Id we stored, followed by a routing suffix.
    message_id = str(event.get("sg_message_id", "")).split(".")[0]
    return emails.filter(provider_message_id=message_id).first() if message_id else None


# --- Messages ---------------------------------------------------------------------------


@transaction.atomic
def message_send(*, sender: User, recipient: User, body: str) -> Message:
    """A message from a patient to their doctor or back (the caller checked the relation).

    Delivered live as `message.created` on the recipient's notifications topic.
    """
    message = Message.objects.create(sender=sender, recipient=recipient, body=body)
    publish(topic=topics.user_notifications(recipient.pk), event="message.created", data=message_data(message))
    audit_record(actor=sender, action="message.sent", obj=message, details={"recipient": recipient.pk})
    return message


@transaction.atomic
def message_mark_read(*, actor: User, message: Message) -> Message:
    """The recipient marks a message read (again: no change)."""
    if Message.objects.filter(pk=message.pk, recipient=actor, read_at__isnull=True).update(read_at=timezone.now()):
        audit_record(actor=actor, action="message.read", obj=message)
    message.refresh_from_db()
    return message
