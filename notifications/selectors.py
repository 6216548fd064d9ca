"""Reads of notifications and messages, scoped to the actor ("not yours" is 404)."""

from django.db.models import Q, QuerySet

from accounts.models import User
from core.exceptions import NotFound
from core.roles import Role
from notifications.models import Message, Notification, NotificationPreference
from scheduling.selectors import care_relation_exists


def notification_list(*, actor: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=actor)


def notification_get(*, actor: User, notification_id: int) -> Notification:
    notification = Notification.objects.filter(user=actor, pk=notification_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    return notification


def preference_get(*, user: User) -> NotificationPreference:
    """The user's channel preferences; every channel is on until they change it (unsaved default).

    Uses the row loaded with `select_related("notification_preference")` when there is one.
    """
    try:
        return user.notification_preference
    except NotificationPreference.DoesNotExist:
        return NotificationPreference(user=user)


def message_counterpart_get(*, actor: User, user_id: int) -> User:
    """The user `actor` may write to: the other side of a care relation (else 404)."""
    other = User.objects.filter(pk=user_id, is_active=True).first()
    if other is None or other.pk == actor.pk:
        raise NotFound("No such recipient.")
    if actor.role == Role.PATIENT and other.role == Role.DOCTOR:
        related = care_relation_exists(doctor_id=other.doctor.id, patient_id=actor.patient.id)
    elif actor.role == Role.DOCTOR and other.role == Role.PATIENT:
        related = care_relation_exists(doctor_id=actor.doctor.id, patient_id=other.patient.id)
    else:
        related = False
    if not related:
        raise NotFound("No such recipient.")
    return other


def message_list(*, actor: User, with_user: int | None = None) -> QuerySet[Message]:
    """Messages the actor sent or received, newest first; optionally one conversation."""
    messages = Message.objects.filter(Q(sender=actor) | Q(recipient=actor))
    if with_user is not None:
        messages = messages.filter(Q(sender_id=with_user) | Q(recipient_id=with_user))
    return messages


def message_get_for_recipient(*, actor: User, message_id: int) -> Message:
    message = Message.objects.filter(pk=message_id, recipient=actor).first()
    if message is None:
        raise NotFound("No such message.")
    return message
