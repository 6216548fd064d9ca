"""Users, roles, patient and doctor profiles, and API tokens.

Only `accounts.services` writes these models.
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from audit.services import audit_record
from core.exceptions import ValidationFailed
from core.roles import STAFF_ROLES, Role
from core.tokens import ExpiringToken


class Gender(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNDISCLOSED = "undisclosed", "Prefer not to say"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def staff_flags(role: str) -> dict[str, bool]:
    """Admission to the back office follows the role: staff and admin."""
    return {"is_staff": role in STAFF_ROLES, "is_superuser": role == Role.ADMIN}


class UserManager(BaseUserManager["User"]):
    """How a user row comes to be. The application calls these through accounts.services
    (which add the sign-up's audit entry); `createsuperuser` calls `create_superuser`."""

    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self._for_command(email, password, role=extra.pop("role", Role.PATIENT), **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self._for_command(email, password, role=Role.ADMIN, **extra)

    def _for_command(self, email: str, password: str | None, *, role: str, **extra: Any) -> "User":
        try:
            with transaction.atomic():
                return self.create_with_profile(
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

    def create_account(
        self,
        *,
        email: str,
        password: str | None,
        first_name: str,
        last_name: str,
        role: str,
        phone: str = "",
        firebase_uid: str | None = None,
    ) -> "User":
        """The user row alone: email normalised, password validated and hashed, flags from the role."""
        user = self.model(
            email=normalise_email(email),
            first_name=first_name,
            last_name=last_name,
            role=role,
            phone=phone,
            firebase_uid=firebase_uid,
            **staff_flags(role),
        )
        if password:
            try:
                validate_password(password, user)
            except DjangoValidationError as exc:
                raise ValidationFailed(fields={"password": list(exc.messages)}) from exc
            user.set_password(password)
        else:
            user.set_unusable_password()
        try:
            # A savepoint, so that a lost race on the unique email (or Firebase uid) leaves
            # the caller's transaction usable.
            with transaction.atomic():
                user.save()
        except IntegrityError as exc:
            raise ValidationFailed(fields={"email": ["An account with this email already exists."]}) from exc
        return user

    def create_with_profile(
        self,
        *,
        actor: "User | None",
        email: str,
        password: str | None,
        first_name: str = "",
        last_name: str = "",
        role: str,
        phone: str = "",
    ) -> "User":
        """An account made by an admin (or `createsuperuser`, actor None), audited.

        Patients and doctors get their profile too; a doctor made by an admin still needs
        the profile details, so it starts unapproved with an empty specialization.
        """
        user = self.create_account(
            email=email, password=password, first_name=first_name, last_name=last_name, role=role, phone=phone
        )
        if role == Role.PATIENT:
            Patient.objects.create(user=user)
        elif role == Role.DOCTOR:
            Doctor.objects.create(user=user, specialization="")
        audit_record(actor=actor, action="user.created", obj=user, details={"role": role})
        return user


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

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

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
        return self.role in STAFF_ROLES


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


class AuthToken(ExpiringToken):
    """An API bearer token (`core.tokens`: stored hashed, shown once)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    provider = models.CharField(max_length=16, default="local")

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"token {self.pk} of {self.user_id} ({self.provider})"
