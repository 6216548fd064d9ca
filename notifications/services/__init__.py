r"""Every write to notifications: creating and delivering notifications, reminders,
preferences, messages and provider webhooks.

Delivery is a state machine moved only by conditional UPDATEs, so that any number of
workers holding the same task (Celery redelivers with acks_late after a worker dies)
agree on one outcome:

    pending --claim--> sending --provider accepted--> sent
                          |  \--provider refused (4xx)--> failed (with the reason)
                          \--provider busy (5xx, 429, network)--> pending (retried with backoff)

A worker that dies while "sending" leaves the row claimed. After the lease
(NOTIFICATION_SENDING_LEASE_SECONDS, well above the provider timeout and the task's time
limit, so a live worker never holds it that long) another worker may claim it again, and
any attempt after the first asks the provider first (`Sender.find_sent`): the message the
dead worker handed over is found and recorded instead of sent a second time."""

from notifications.services.creation import (
    APPOINTMENT_KINDS,
    EXTERNAL_CHANNELS,
    appointment_notify,
    appointment_notify_later,
    notification_mark_read,
    notification_send,
    notifications_forget_user,
    preference_update,
    user_notify,
)
from notifications.services.delivery import (
    DeliveryOutcome,
    deliveries_stalled,
    notification_deliver,
    notification_deliver_claimed,
)
from notifications.services.messages import message_mark_read, message_send
from notifications.services.provider_status import sendgrid_events_record, twilio_status_record
from notifications.services.reminders import reminders_create_due

__all__ = [
    "APPOINTMENT_KINDS",
    "EXTERNAL_CHANNELS",
    "DeliveryOutcome",
    "appointment_notify",
    "appointment_notify_later",
    "deliveries_stalled",
    "message_mark_read",
    "message_send",
    "notification_deliver",
    "notification_deliver_claimed",
    "notification_mark_read",
    "notification_send",
    "notifications_forget_user",
    "preference_update",
    "reminders_create_due",
    "sendgrid_events_record",
    "twilio_status_record",
    "user_notify",
]
