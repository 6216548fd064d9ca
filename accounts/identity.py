"""Identity providers: the seams to Firebase Authentication.

Local email + password sign-in needs no seam (Django's auth backend checks the Argon2
hash). Firebase ID tokens are verified with `firebase-admin`, which fetches Google's
public certificates over HTTP; tests serve their own certificates through that same
fetch (see tests/accounts/firebase_fakes.py).
"""

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

APP_NAME = "clinic"


class IdentityError(Exception):
    """The token was not accepted. The reason is logged, never shown to the client."""


@dataclass(frozen=True)
class FirebaseIdentity:
    uid: str
    email: str
    email_verified: bool
    name: str
    phone: str


@cache
def firebase_app() -> Any:
    """The firebase-admin app, initialised once per process from settings."""
    import firebase_admin
    from firebase_admin import credentials

    credential = (
        credentials.Certificate(settings.FIREBASE_CREDENTIALS_FILE) if settings.FIREBASE_CREDENTIALS_FILE else None
    )
    try:
        return firebase_admin.get_app(APP_NAME)
    except ValueError:
        return firebase_admin.initialize_app(credential, {"projectId": settings.FIREBASE_PROJECT_ID}, name=APP_NAME)


def firebase_verify(id_token: str) -> FirebaseIdentity:
    """Verify a Firebase ID token: signature, expiry, audience, issuer, and revocation.

    Revocation needs the Firebase Admin API and so a service-account credential; it is
    checked whenever one is configured (FIREBASE_CHECK_REVOKED, on by default).
    """
    from firebase_admin import auth, exceptions

    check_revoked = settings.FIREBASE_CHECK_REVOKED and bool(settings.FIREBASE_CREDENTIALS_FILE)
    try:
        claims = auth.verify_id_token(
            id_token,
            app=firebase_app(),
            check_revoked=check_revoked,
            clock_skew_seconds=settings.FIREBASE_CLOCK_SKEW_SECONDS,
        )
    except (ValueError, exceptions.FirebaseError) as exc:
        # ValueError: malformed token; FirebaseError covers invalid, expired, revoked,
        # disabled and certificate-fetch failures.
        logger.info("firebase sign-in refused: %s", type(exc).__name__)
        raise IdentityError(type(exc).__name__) from exc
    return FirebaseIdentity(
        uid=claims["uid"],
        email=(claims.get("email") or "").lower(),
        email_verified=bool(claims.get("email_verified")),
        name=claims.get("name") or "",
        phone=claims.get("phone_number") or "",
    )
