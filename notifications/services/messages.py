"""Direct messages between a patient and their doctor."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from notifications import events
from notifications.models import (
    Message,
)

# --- Messages ---------------------------------------------------------------------------


@transaction.atomic
def message_send(*, sender: User, recipient: User, body: str) -> Message:
    """A message from a patient to their doctor or back (the caller checked the relation).

    Delivered live as `message.created` on the recipient's notifications topic.
    """
    message = Message.objects.create(sender=sender, recipient=recipient, body=body)
    events.message_created(message)
    audit_record(actor=sender, action="message.sent", obj=message, details={"recipient": recipient.pk})
    return message


@transaction.atomic
def message_mark_read(*, actor: User, message: Message) -> Message:
    """The recipient marks a message read (again: no change)."""
    if Message.objects.filter(pk=message.pk, recipient=actor, read_at__isnull=True).update(read_at=timezone.now()):
        audit_record(actor=actor, action="message.read", obj=message)
    message.refresh_from_db()
    return message
