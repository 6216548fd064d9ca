"""The video provider seam: Twilio Video where it is configured, Jitsi Meet otherwise.

Twilio Video: rooms are made through Twilio's REST API (the `twilio` SDK) on the first
grant, by their unique name, so asking again never makes a second room; access tokens
are signed here with an API key (a JWT carrying a `VideoGrant` for that one room).
Jitsi Meet (the embedded default, no credentials): a room exists as soon as someone
opens its URL, so the random, unguessable room name is the whole of it.
"""

import logging
from dataclasses import dataclass
from typing import Protocol

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VideoGrant
from twilio.rest import Client as TwilioClient

from core.exceptions import DomainError

logger = logging.getLogger(__name__)

# Twilio's error code for "a room with that unique name is already in progress".
TWILIO_ROOM_EXISTS = 53113


class VideoUnavailable(DomainError):
    status_code = 503
    code = "video_unavailable"
    default_detail = "The video service is not answering; please try again in a moment."


@dataclass(frozen=True)
class Join:
    join_url: str
    access_token: str | None


class VideoProvider(Protocol):
    name: str

    def room_open(self, *, name: str) -> str:
        """Make sure the room `name` exists; returns the provider's id of it ("" if none)."""
        ...

    def join(self, *, name: str, identity: str, ttl_seconds: int, page_url: str) -> Join:
        """How one participant joins room `name` (`page_url`: the clinic's own join page)."""
        ...


class JitsiProvider:
    name = "jitsi"

    def room_open(self, *, name: str) -> str:
        return ""

    def join(self, *, name: str, identity: str, ttl_seconds: int, page_url: str) -> Join:
        return Join(join_url=f"{settings.JITSI_BASE_URL.rstrip('/')}/{name}", access_token=None)


class TwilioVideoProvider:
    name = "twilio"

    def _client(self) -> TwilioClient:
        http_client = TwilioHttpClient(timeout=settings.NOTIFICATION_PROVIDER_TIMEOUT_SECONDS)
        client = TwilioClient(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
        client.video.base_url = settings.TWILIO_VIDEO_BASE_URL
        return client

    def room_open(self, *, name: str) -> str:
        client = self._client()
        for attempt in (1, 2):
            try:
                return client.video.v1.rooms.create(unique_name=name, type="group").sid
            except TwilioRestException as exc:
                if exc.code == TWILIO_ROOM_EXISTS:
                    # Made by an earlier grant, or by one racing this: use that room.
                    return client.video.v1.rooms(name).fetch().sid
                if exc.status >= 500 and attempt == 1:
                    logger.warning("Twilio Video answered %s making room %s; retrying once", exc.status, name)
                    continue
                logger.error("Twilio Video refused room %s: %s (code %s)", name, exc.status, exc.code)
                raise VideoUnavailable() from exc
            except requests.RequestException as exc:
                if attempt == 1:
                    logger.warning("Twilio Video unreachable making room %s; retrying once", name)
                    continue
                raise VideoUnavailable() from exc
        raise VideoUnavailable()

    def join(self, *, name: str, identity: str, ttl_seconds: int, page_url: str) -> Join:
        token = AccessToken(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_API_KEY_SID,
            settings.TWILIO_API_KEY_SECRET,
            identity=identity,
            ttl=ttl_seconds,
            grants=[VideoGrant(room=name)],
        )
        return Join(join_url=page_url, access_token=token.to_jwt())


def video_provider() -> VideoProvider:
    return TwilioVideoProvider() if settings.TWILIO_VIDEO_ENABLED else JitsiProvider()
