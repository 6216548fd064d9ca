"""Signed, expiring download links for report files.

A link names the report, the user it was issued to, whether it was issued under
break-glass, and when it expires, all signed with SECRET_KEY. Browsers follow links
without an Authorization header, so the signature is the credential; the download route
still checks that the user may read the report at the moment of the download.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from core.exceptions import Forbidden

_SALT = "records.report-download"


class LinkInvalid(Forbidden):
    code = "link_invalid"
    default_detail = "This download link is not valid."


class LinkExpired(Forbidden):
    code = "link_expired"
    default_detail = "This download link has expired; fetch the report again for a new one."


@dataclass(frozen=True)
class LinkClaims:
    report_id: int
    user_id: int
    break_glass: bool
    expires_at: datetime


def download_token(*, report_id: int, user_id: int, break_glass: bool, expires_at: datetime) -> str:
    claims = {"r": report_id, "u": user_id, "g": int(break_glass), "e": int(expires_at.timestamp())}
    return signing.Signer(salt=_SALT).sign_object(claims)


def download_url(*, report_id: int, user_id: int, break_glass: bool = False, request: HttpRequest | None = None) -> str:
    """The report's download link for `user_id`, valid for RECORDS_DOWNLOAD_URL_TTL seconds."""
    token = download_token(
        report_id=report_id,
        user_id=user_id,
        break_glass=break_glass,
        expires_at=timezone.now() + timedelta(seconds=settings.RECORDS_DOWNLOAD_URL_TTL),
    )
    path = f"{reverse('report-download', kwargs={'report_id': report_id})}?{urlencode({'sig': token})}"
    return request.build_absolute_uri(path) if request is not None else path


def read_token(*, token: str, report_id: int) -> LinkClaims:
    """The claims of a valid, unexpired link for `report_id`; LinkInvalid or LinkExpired otherwise."""
    try:
        claims = signing.Signer(salt=_SALT).unsign_object(token)
        parsed = LinkClaims(
            report_id=int(claims["r"]),
            user_id=int(claims["u"]),
            break_glass=bool(claims["g"]),
            expires_at=datetime.fromtimestamp(int(claims["e"]), tz=UTC),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid() from exc
    if parsed.report_id != report_id:
        raise LinkInvalid()
    # The signer chooses the expiry: a link that claims to live longer than the configured
    # lifetime from now was not issued by download_url (or was issued under a longer TTL).
    if parsed.expires_at > timezone.now() + timedelta(seconds=settings.RECORDS_DOWNLOAD_URL_TTL):
        raise LinkInvalid()
    if parsed.expires_at <= timezone.now():
        raise LinkExpired()
    return parsed
