"""Accounts and profiles: registration, admin-made accounts, updates, roles, approval, deactivation."""

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import AuthToken, Doctor, Patient, User, staff_flags
from accounts.signals import user_deactivated
from audit.services import audit_record
from core.exceptions import ValidationFailed
from core.roles import Role

PATIENT_FIELDS = ("date_of_birth", "gender", "address", "emergency_contact_name", "emergency_contact_phone")
DOCTOR_FIELDS = ("specialization", "qualifications", "experience_years")
USER_FIELDS = ("first_name", "last_name", "phone")


@transaction.atomic
def patient_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    date_of_birth: date | None = None,
    gender: str = "",
    address: str = "",
    emergency_contact_name: str = "",
    emergency_contact_phone: str = "",
) -> User:
    """Sign up a patient (self-service)."""
    user = User.objects.create_account(
        email=email, password=password, first_name=first_name, last_name=last_name, role=Role.PATIENT, phone=phone
    )
    Patient.objects.create(
        user=user,
        date_of_birth=date_of_birth,
        gender=gender,
        address=address,
        emergency_contact_name=emergency_contact_name,
        emergency_contact_phone=emergency_contact_phone,
    )
    audit_record(actor=user, action="user.registered", obj=user, details={"role": Role.PATIENT})
    return user


@transaction.atomic
def doctor_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    specialization: str,
    qualifications: str,
    experience_years: int,
    phone: str = "",
) -> User:
    """Sign up a doctor. Not listed nor bookable until an admin approves."""
    user = User.objects.create_account(
        email=email, password=password, first_name=first_name, last_name=last_name, role=Role.DOCTOR, phone=phone
    )
    Doctor.objects.create(
        user=user, specialization=specialization, qualifications=qualifications, experience_years=experience_years
    )
    audit_record(actor=user, action="user.registered", obj=user, details={"role": Role.DOCTOR})
    return user


@transaction.atomic
def user_create(*, actor: User | None, **account: Any) -> User:
    """An account made by an admin: `User.objects.create_with_profile` (email, password,
    first_name, last_name, role, phone), which `createsuperuser` uses too, with actor None."""
    return User.objects.create_with_profile(actor=actor, **account)


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Change the editable fields of a user and of their profile (partial)."""
    changed: list[str] = []
    for field in USER_FIELDS:
        if field in data:
            setattr(user, field, data[field])
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    for profile_name, fields in (("patient", PATIENT_FIELDS), ("doctor", DOCTOR_FIELDS)):
        profile = getattr(user, profile_name, None)
        profile_changes = [f for f in fields if f in data]
        if profile is not None and profile_changes:
            for field in profile_changes:
                setattr(profile, field, data[field])
            profile.save(update_fields=profile_changes)
            changed.extend(profile_changes)
    if changed:
        audit_record(actor=actor, action="user.updated", obj=user, details={"fields": sorted(changed)})
    return user


@transaction.atomic
def user_role_change(*, actor: User, user: User, role: str) -> User:
    """Give an account another role (admins only; the caller checks the actor's role).

    The back-office flags follow the role, and a patient or doctor profile is created
    where the new role needs one; an old profile is kept, so its records keep their links.
    An admin cannot change their own role: the clinic must never lock itself out.
    """
    if role not in Role.values:
        raise ValidationFailed(fields={"role": [f"Must be one of {', '.join(Role.values)}."]})
    if actor is not None and actor.pk == user.pk:
        raise ValidationFailed(fields={"role": ["You cannot change your own role."]})
    user = User.objects.select_for_update().get(pk=user.pk)
    previous = user.role
    if previous == role:
        return user
    user.role = role
    for flag, value in staff_flags(role).items():
        setattr(user, flag, value)
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    if role == Role.PATIENT:
        Patient.objects.get_or_create(user=user)
    elif role == Role.DOCTOR:
        Doctor.objects.get_or_create(user=user, defaults={"specialization": ""})
    audit_record(actor=actor, action="user.role_changed", obj=user, details={"from": previous, "to": role})
    return user


@transaction.atomic
def user_deactivate(*, actor: User, user: User) -> User:
    """Delete an account the way a clinic must: deactivate and anonymise.

    Personal data goes; the rows stay, so medical and billing records keep their links.
    Every token is revoked at once.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.anonymised_at is not None:
        return user
    now = timezone.now()
    user.email = f"deleted-user-{user.pk}@anonymised.invalid"
    user.first_name = ""
    user.last_name = ""
    user.phone = ""
    user.firebase_uid = None
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.anonymised_at = now
    user.set_unusable_password()
    user.save()
    Patient.objects.filter(user=user).update(
        date_of_birth=None, gender="", address="", emergency_contact_name="", emergency_contact_phone=""
    )
    AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    # Apps that keep data about the user erase it here, in this transaction.
    user_deactivated.send(sender=User, user=user)
    audit_record(actor=actor, action="user.deleted", obj=user)
    return user


@transaction.atomic
def doctor_approve(*, actor: User | None, doctor: Doctor) -> Doctor:
    """Make a doctor listed and bookable."""
    doctor = Doctor.objects.select_for_update().select_related("user").get(pk=doctor.pk)
    if not doctor.is_approved:
        doctor.is_approved = True
        doctor.approved_at = timezone.now()
        doctor.save(update_fields=["is_approved", "approved_at"])
        audit_record(actor=actor, action="doctor.approved", obj=doctor)
    return doctor
