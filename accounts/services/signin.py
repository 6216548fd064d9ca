"""Sign-in (local and Firebase, the API and the back office) and API tokens."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import identity
from accounts.models import AuthToken, Patient, User, normalise_email
from audit.services import audit_record
from core.exceptions import DomainError, ValidationFailed
from core.roles import Role
from core.tokens import hash_token

logger = logging.getLogger(__name__)


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


def token_issue(*, user: User, provider: str = "local") -> Session:
    """A new bearer token for `user`; only its hash is stored."""
    raw = AuthToken.generate_raw()
    now = timezone.now()
    expires_at = now + settings.TOKEN_TTL
    AuthToken.objects.create(
        user=user, key_hash=hash_token(raw), created_at=now, expires_at=expires_at, provider=provider
    )
    return Session(user=user, token=raw, expires_at=expires_at)


@transaction.atomic
def token_purge_dead() -> int:
    """Delete tokens that expired or were revoked more than TOKEN_RETENTION_DAYS ago; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.TOKEN_RETENTION_DAYS)
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
    details = {"provider": "admin", "email": normalise_email(email)[:254]}
    if reason:
        details["reason"] = reason
    audit_record(actor=None, action="auth.login_failed", details=details)


def login_local(*, email: str, password: str) -> Session:
    """Email + password sign-in. Failures are audited and look all the same."""
    if not settings.LOCAL_SIGN_IN_ENABLED:
        raise SignInFailed(
            "Email and password sign-in is switched off; sign in with Firebase.", code="local_sign_in_disabled"
        )
    email = normalise_email(email)
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
    user = User.objects.create_account(
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
