"""Bearer secrets stored only as hashes: one base for API tokens (accounts.AuthToken) and
display tokens (realtime.DisplayToken).

The raw value is shown once, at issue. A leaked table grants nothing: only SHA-256
digests are kept (the raw tokens are 256 random bits, so a fast hash is enough).
"""

import hashlib
import secrets
from datetime import datetime
from typing import Any, ClassVar

from django.db import models
from django.utils import timezone


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class RevocableTokenQuerySet(models.QuerySet[Any]):
    def live(self) -> "RevocableTokenQuerySet":
        return self.filter(revoked_at__isnull=True)


class ExpiringTokenQuerySet(RevocableTokenQuerySet):
    def live(self, now: datetime | None = None) -> "ExpiringTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class RevocableToken(models.Model):
    """A token that lives until it is revoked."""

    # Prepended to the raw value, so a reader (the websocket) can tell kinds apart.
    PREFIX = ""

    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = RevocableTokenQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def generate_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None


class ExpiringToken(RevocableToken):
    """A token that lives until it is revoked or its `expires_at` passes."""

    expires_at = models.DateTimeField()

    objects: ClassVar[Any] = ExpiringTokenQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
