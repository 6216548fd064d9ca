"""Every realtime event notifications publishes: one function per event, the only place
their payloads are built (as `scheduling/events.py`). Called inside the write's transaction.
"""

from notifications.models import Message, Notification
from notifications.serializers import MessageSerializer, NotificationSerializer
from realtime import topics
from realtime.publish import publish


def notification_created(notification: Notification) -> None:
    """An in-app notification, on its user's topic, as the REST API shows it."""
    publish(
        topic=topics.user_notifications(notification.user_id),
        event="notification.created",
        data=dict(NotificationSerializer(notification).data),
    )


def message_created(message: Message) -> None:
    """A direct message, on its recipient's topic, as the REST API shows it."""
    publish(
        topic=topics.user_notifications(message.recipient_id),
        event="message.created",
        data=dict(MessageSerializer(message).data),
    )
