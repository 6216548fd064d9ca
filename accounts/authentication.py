"""The one DRF authentication path: `Authorization: Bearer <token>`.

Tokens come from local or Firebase sign-in alike (accounts.services.token_issue), so the
rest of the API never cares which identity provider a user came through.
"""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import AuthToken, User
from core.queries import Compiled
from core.tokens import hash_token
from observability import context as log_context


def live_tokens(key_hashes: list[str], now: datetime | None = None) -> QuerySet[AuthToken]:
    """The tokens of `key_hashes` that are live and whose user is active: what a bearer token
    must be to sign anyone in (the API's header here, the websocket's auth message)."""
    return AuthToken.objects.live(now).filter(key_hash__in=key_hashes, user__is_active=True)


# Every API request reads its token: compiled once (core.queries.Compiled).
_signed_in = Compiled(
    lambda key_hash, now: live_tokens([key_hash], now).select_related("user", "user__patient", "user__doctor")
)


def user_for_token(raw: str) -> tuple[User, AuthToken] | None:
    """The active user a live token belongs to, or None."""
    token = _signed_in.first(hash_token(raw), timezone.now())
    if token is None:
        return None
    return token.user, token


def request_user(request: Request | HttpRequest) -> User:
    """The signed-in user of a request its view's permissions already admitted (else 401)."""
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[User, AuthToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2 or len(parts[1]) > 256:
            raise exceptions.AuthenticationFailed("Invalid token.")
        try:
            raw = parts[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        found = user_for_token(raw)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        # Every log line of the rest of the request names the user.
        log_context.bind(user_id=found[0].pk)
        return found

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated requests.
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how this authentication appears in the OpenAPI document."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer"}
