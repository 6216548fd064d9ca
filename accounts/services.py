"""Every write to accounts: registration, profiles, tokens, sign-in, approval, deletion."""

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import identity
from accounts.models import AuthToken, Doctor, Patient, User, hash_token
from accounts.signals import user_deactivated
from audit.services import audit_record
from core.exceptions import DomainError, ValidationFailed
from core.roles import Role

logger = logging.getLogger(__name__)

PATIENT_FIELDS = ("date_of_birth", "gender", "address", "emergency_contact_name", "emergency_contact_phone")
DOCTOR_FIELDS = ("specialization", "qualifications", "experience_years")
USER_FIELDS = ("first_name", "last_name", "phone")


class SignInFailed(DomainError):
    status_code = 401
    code = "invalid_credentials"
    # One message whatever was wrong: no hint whether the account exists.
    default_detail = "Unable to sign in with the credentials provided."


@dataclass(frozen=True)
class Session:
    """A signed-in user and the raw bearer token, shown to the client once."""

    user: User
    token: str
    expires_at: Any


def _normalise_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(fields={"password": list(exc.messages)}) from exc


def _staff_flags(role: str) -> dict[str, bool]:
    return {"is_staff": role in (Role.STAFF, Role.ADMIN), "is_superuser": role == Role.ADMIN}


def _new_user(
    *,
    email: str,
    password: str | None,
    first_name: str,
    last_name: str,
    role: str,
    phone: str = "",
    firebase_uid: str | None = None,
) -> User:
    email = _normalise_email(email)
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        phone=phone,
        firebase_uid=firebase_uid,
        **_staff_flags(role),
    )
    if password:
        _check_password(password, user)
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
    user = _new_user(
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
    user = _new_user(
        email=email, password=password, first_name=first_name, last_name=last_name, role=Role.DOCTOR, phone=phone
    )
    Doctor.objects.create(
        user=user, specialization=specialization, qualifications=qualifications, experience_years=experience_years
    )
    audit_record(actor=user, action="user.registered", obj=user, details={"role": Role.DOCTOR})
    return user


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    role: str,
    phone: str = "",
) -> User:
    """An account made by an admin (or `createsuperuser`, where actor is None).

    Patients and doctors get their profile too; a doctor made by an admin still needs
    the profile details, so it starts unapproved with an empty specialization.
    """
    user = _new_user(email=email, password=password, first_name=first_name, last_name=last_name, role=role, phone=phone)
    if role == Role.PATIENT:
        Patient.objects.create(user=user)
    elif role == Role.DOCTOR:
        Doctor.objects.create(user=user, specialization="")
    audit_record(actor=actor, action="user.created", obj=user, details={"role": role})
    return user


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
    for flag, value in _staff_flags(role).items():
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
def doctor_approve(*, actor: User, doctor: Doctor) -> Doctor:
    """Make a doctor listed and bookable."""
    doctor = Doctor.objects.select_for_update().select_related("user").get(pk=doctor.pk)
    if not doctor.is_approved:
        doctor.is_approved = True
        doctor.approved_at = timezone.now()
        doctor.save(update_fields=["is_approved", "approved_at"])
        audit_record(actor=actor, action="doctor.approved", obj=doctor)
    return doctor


def token_issue(*, user: User, provider: str = "local") -> Session:
    """A new bearer token for `user`; only its hash is stored."""
    raw = AuthToken.generate_raw()
    now = timezone.now()
    expires_at = now + settings.TOKEN_TTL
    AuthToken.objects.create(
        user=user, key_hash=hash_token(raw), created_at=now, expires_at=expires_at, provider=provider
    )
    return Session(user=user, token=raw, expires_at=expires_at)


# Dead tokens are kept this long before they are purged, so a recent sign-out can still be
# investigated; they stop working at once either way.
DEAD_TOKEN_RETENTION = timedelta(days=7)


@transaction.atomic
def token_purge_dead(*, retention: timedelta = DEAD_TOKEN_RETENTION) -> int:
    """Delete tokens that expired or were revoked more than `retention` ago; returns how many."""
    cutoff = timezone.now() - retention
    deleted, _ = AuthToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)).delete()
    logger.info("purged %s dead tokens", deleted)
    return deleted


@transaction.atomic
def token_revoke(*, token: AuthToken) -> None:
    """Sign out: the token stops working at once."""
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(actor=token.user, action="auth.logout", obj=token.user)


def _sign_in_refused(provider: str, **details: str) -> SignInFailed:
    # Written in its own transaction: the refusal is on the record even though the
    # caller raises.
    audit_record(actor=None, action="auth.login_failed", details={"provider": provider, **details})
    return SignInFailed()


def _sign_in(user: User, provider: str) -> Session:
    with transaction.atomic():
        audit_record(actor=user, action="auth.login", obj=user, details={"provider": provider})
        return token_issue(user=user, provider=provider)


def admin_sign_in_recorded(*, user: User, provider: str) -> None:
    """A sign-in to the back office, on the record like the API's."""
    with transaction.atomic():
        audit_record(actor=user, action="auth.login", obj=user, details={"provider": provider})


def admin_sign_in_refused(*, email: str, reason: str = "") -> None:
    """A refused back-office sign-in, on the record like the API's."""
    details = {"provider": "admin", "email": _normalise_email(email)[:254]}
    if reason:
        details["reason"] = reason
    audit_record(actor=None, action="auth.login_failed", details=details)


def login_local(*, email: str, password: str) -> Session:
    """Email + password sign-in. Failures are audited and look all the same."""
    if not settings.LOCAL_SIGN_IN_ENABLED:
        raise SignInFailed(
            "Email and password sign-in is switched off; sign in with Firebase.", code="local_sign_in_disabled"
        )
    email = _normalise_email(email)
    # ModelBackend runs the hasher even for unknown emails, so timing does not tell.
    user = authenticate(None, email=email, password=password)
    if user is None:
        raise _sign_in_refused("local", email=email[:254])
    return _sign_in(user, "local")


def login_firebase(*, id_token: str) -> Session:
    """Sign in with a Firebase ID token; the first sign-in creates a patient.

    One Firebase uid maps to one user. An existing local account is linked by email only
    when Firebase has verified that email, so nobody can claim an account by typing its
    address into an unverified Firebase sign-up.
    """
    if not settings.FIREBASE_ENABLED:
        raise SignInFailed("Firebase sign-in is not configured.", code="firebase_not_configured")
    try:
        claims = identity.firebase_verify(id_token)
    except identity.IdentityError as exc:
        raise _sign_in_refused("firebase", reason=str(exc)) from exc
    try:
        user, refusal = _firebase_user(claims)
    except ValidationFailed:
        # A concurrent first sign-in of the same uid (or a sign-up with the same email)
        # committed first; looking again finds that account and applies the usual rules.
        user, refusal = _firebase_user(claims)
    if user is None:
        raise _sign_in_refused("firebase", reason=refusal)
    return _sign_in(user, "firebase")


@transaction.atomic
def _firebase_user(claims: identity.FirebaseIdentity) -> tuple[User | None, str]:
    """The user a verified Firebase identity signs in as (made on first sign-in)."""
    # Two first sign-ins of one uid may race: the unique uid and email columns let one
    # insert win and login_firebase looks again for the loser. The row locks keep a found
    # account from being linked or deactivated under us.
    user = User.objects.select_for_update().filter(firebase_uid=claims.uid).first()
    if user is None and claims.email:
        existing = User.objects.select_for_update().filter(email=claims.email).first()
        if existing is not None and existing.firebase_uid == claims.uid:
            # Made or linked by a concurrent sign-in of this uid since the first look.
            user = existing
        elif existing is not None:
            if not claims.email_verified or existing.firebase_uid:
                return None, "email_unverified_or_linked"
            user = _firebase_link(user=existing, uid=claims.uid)
    if user is None:
        first_name, _, last_name = claims.name.partition(" ")
        user = patient_register_from_firebase(
            uid=claims.uid, email=claims.email, first_name=first_name, last_name=last_name, phone=claims.phone
        )
    if not user.is_active:
        return None, "inactive"
    return user, ""


def _firebase_link(*, user: User, uid: str) -> User:
    """Link a Firebase uid to the local account that holds its verified email (row locked).

    Local sign-up never proves the address, so whoever chose this account's password and
    holds its tokens may not be the address's owner, who Firebase has just proven to be:
    the password is reset and every token revoked before the owner is let in.
    """
    had_password = user.has_usable_password()
    user.firebase_uid = uid
    user.set_unusable_password()
    user.save(update_fields=["firebase_uid", "password"])
    revoked = AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(
        actor=user,
        action="auth.firebase_linked",
        obj=user,
        details={"password_reset": had_password, "tokens_revoked": revoked},
    )
    return user


def patient_register_from_firebase(*, uid: str, email: str, first_name: str, last_name: str, phone: str) -> User:
    """A patient account for a first Firebase sign-in; it has no local password."""
    user = _new_user(
        email=email or f"firebase-{uid}@users.invalid",
        password=None,
        first_name=first_name[:150],
        last_name=last_name[:150],
        role=Role.PATIENT,
        phone=phone[:32],
        firebase_uid=uid,
    )
    Patient.objects.create(user=user)
    audit_record(actor=user, action="user.registered", obj=user, details={"role": Role.PATIENT, "provider": "firebase"})
    return user
