"""Delivering SMS and email: the claim/send/finish state machine, retries, and recovering abandoned sends."""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import audit_record
from notifications.models import (
    Notification,
    NotificationStatus,
)
from notifications.senders import OutgoingMessage, PermanentSendError, TransientSendError, sender_for
from notifications.services.creation import EXTERNAL_CHANNELS
from observability import metrics

logger = logging.getLogger(__name__)


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
    return _counted_attempt(Notification.objects.select_related("user").get(pk=notification_id), now)


def notification_deliver_claimed(notification: Notification) -> DeliveryOutcome:
    """Hand to its provider an SMS or email notification the caller made claimed (made
    `sending`, attempt 1, and committed: `appointment_notify` in the worker), without
    claiming it again. Its user must be loaded with it."""
    claimed_at = notification.sending_started_at
    if notification.status != NotificationStatus.SENDING or claimed_at is None:
        raise ValueError(f"notification {notification.pk} was not made claimed")
    return _counted_attempt(notification, claimed_at)


def _counted_attempt(notification: Notification, claimed_at: datetime) -> DeliveryOutcome:
    outcome = _attempt(notification, claimed_at)
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
