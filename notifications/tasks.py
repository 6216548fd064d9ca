"""Thin Celery tasks: appointment notifications, delivery, reminders and the sweep for stalled deliveries.

The project runs Celery with acks_late, reject-on-worker-lost and prefetch 1 (settings):
a task whose worker dies is delivered again, and services.notification_deliver makes
that harmless.
"""

from celery import shared_task
from celery.app.task import Task

from notifications import services
from notifications.models import Notification


@shared_task(
    name="notifications.deliver",
    bind=True,
    acks_late=True,
    max_retries=None,  # services.notification_deliver counts attempts and gives up itself
    # Well under NOTIFICATION_SENDING_LEASE_SECONDS: a live worker never holds a claim past it.
    soft_time_limit=60,
    time_limit=90,
)
def deliver_notification(self: Task, notification_id: int) -> str:
    outcome = services.notification_deliver(notification_id=notification_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


def _deliver_here(notification: Notification) -> None:
    # Already in the worker: the first attempt runs here and now, and only a retry becomes
    # a task of its own (with its backoff). A worker that dies first leaves the row claimed,
    # and the stalled-delivery sweep hands it on once the claim's lease runs out.
    outcome = services.notification_deliver_claimed(notification)
    if outcome.retry_in is not None:
        deliver_notification.apply_async((notification.pk,), countdown=outcome.retry_in)


@shared_task(name="notifications.notify_appointment", acks_late=True, ignore_result=True)
def notify_appointment(appointment_id: int, kind: str) -> None:
    """A booking, move or cancellation committed: make the patient's notifications
    (idempotent), then deliver the SMS and email ones."""
    services.appointment_notify(appointment_id=appointment_id, kind=kind, deliver=_deliver_here)


@shared_task(name="notifications.send_due_reminders", acks_late=True)
def send_due_reminders() -> int:
    return services.reminders_create_due()


@shared_task(name="notifications.recover_stale_deliveries", acks_late=True)
def recover_stale_deliveries() -> int:
    stalled = services.deliveries_stalled()
    for notification_id in stalled:
        deliver_notification.delay(notification_id)
    return len(stalled)
