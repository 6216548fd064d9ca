"""Delivery-status webhooks of Twilio and SendGrid: each event applied once, statuses never move backwards."""

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from core.webhooks import receipt_first
from notifications.models import (
    Channel,
    Notification,
    NotificationStatus,
    WebhookEvent,
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
    return receipt_first(WebhookEvent, provider=provider, event_id=event_id[:128])


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
