"""Users, roles, patient and doctor profiles, and API tokens.

Only `accounts.services` writes these models.
"""

import hashlib
import secrets
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone

from core.roles import Role


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


class UserManager(BaseUserManager["User"]):
    """Used by `createsuperuser`; the application creates users through services."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self._create(email, password, role=extra.pop("role", Role.PATIENT), **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self._create(email, password, role=Role.ADMIN, **extra)

    def _create(self, email: str, password: str | None, *, role: str, **extra: Any) -> "User":
        from accounts.services import user_create
        from core.exceptions import ValidationFailed

        try:
            return user_create(
                actor=None,
                email=email,
                password=password,
                first_name=extra.get("first_name", ""),
                last_name=extra.get("last_name", ""),
                role=role,
            )
        except ValidationFailed as exc:
            # createsuperuser turns Django's ValidationError into a clean CommandError.
            messages = [f"{field}: {m}" for field, ms in (exc.fields or {}).items() for m in ms]
            raise DjangoValidationError(messages or [exc.detail]) from exc


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT, db_index=True)
    phone = models.CharField(max_length=32, blank=True)
    is_active = models.BooleanField(default=True)
    # Admission to the Django admin (the back office): staff and admin roles.
    is_staff = models.BooleanField(default=False)
    firebase_uid = models.CharField(max_length=128, unique=True, null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff_or_admin(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)


class Patient(models.Model):
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="patient")
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=16, choices=Gender.choices, blank=True)
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = models.CharField(max_length=32, blank=True)

    def __str__(self) -> str:
        return f"Patient {self.user.full_name or self.user.email}"


class Doctor(models.Model):
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="doctor")
    specialization = models.CharField(max_length=120, db_index=True)
    qualifications = models.TextField(blank=True)
    experience_years = models.PositiveSmallIntegerField(default=0)
    is_approved = models.BooleanField(default=False, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Dr {self.user.full_name or self.user.email}"


def hash_token(raw: str) -> str:
    """Tokens are stored as SHA-256 digests: a leaked table grants no sessions."""
    return hashlib.sha256(raw.encode()).hexdigest()


class AuthTokenQuerySet(models.QuerySet["AuthToken"]):
    def live(self) -> "AuthTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class AuthToken(models.Model):
    """A bearer token. The raw value is shown once, at issue; only its hash is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=16, default="local")

    objects = AuthTokenQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id} ({self.provider})"

    @staticmethod
    def generate_raw() -> str:
        return secrets.token_urlsafe(32)

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
