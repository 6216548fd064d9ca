"""Writes of the realtime app: display device tokens. (Events are written by realtime.publish.)"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from core.exceptions import Conflict, ValidationFailed
from core.tokens import hash_token
from realtime.models import DisplayToken


@dataclass(frozen=True)
class IssuedDisplayToken:
    display: DisplayToken
    # Shown once, at creation; only its hash is stored.
    token: str


@transaction.atomic
def display_token_create(*, actor: User | None, name: str) -> IssuedDisplayToken:
    """A new named display token; it may subscribe to display topics and nothing else."""
    name = name.strip()
    if not name:
        raise ValidationFailed(fields={"name": ["This field may not be blank."]})
    raw = DisplayToken.generate_raw()
    display = DisplayToken.objects.create(name=name, key_hash=hash_token(raw), created_by=actor, expires_at=_expiry())
    audit_record(actor=actor, action="display_token.created", obj=display, details={"name": name})
    return IssuedDisplayToken(display=display, token=raw)


def _expiry() -> datetime:
    return timezone.now() + timedelta(days=settings.DISPLAY_TOKEN_TTL_DAYS)


@transaction.atomic
def display_token_rotate(*, actor: User | None, display: DisplayToken) -> IssuedDisplayToken:
    """A new token (and expiry) for the same screen; the old one stops working at once.

    Its sockets are disconnected at their next token check; the screen is set up again
    with the new token, which is shown once.
    """
    display = DisplayToken.objects.select_for_update().get(pk=display.pk)
    if display.revoked_at is not None:
        raise Conflict("A revoked display token cannot be rotated; issue a new one.", code="display_token_revoked")
    raw = DisplayToken.generate_raw()
    display.key_hash = hash_token(raw)
    display.expires_at = _expiry()
    display.save(update_fields=["key_hash", "expires_at"])
    details = {"expires_at": display.expires_at.isoformat()}
    audit_record(actor=actor, action="display_token.rotated", obj=display, details=details)
    return IssuedDisplayToken(display=display, token=raw)


@transaction.atomic
def display_token_revoke(*, actor: User | None, display: DisplayToken) -> DisplayToken:
    """Revoke a display token: its screens are disconnected at their next token check."""
    DisplayToken.objects.filter(pk=display.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    display.refresh_from_db()
    audit_record(actor=actor, action="display_token.revoked", obj=display)
    return display
