"""Reads for the websocket: who a token is, what it may subscribe to, stored events.

Sync functions; the consumer calls them through `database_sync_to_async`.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from accounts.authentication import user_for_token
from accounts.models import AuthToken, Doctor
from core.exceptions import NotFound
from core.roles import Role
from core.tokens import hash_token
from realtime import topics
from realtime.models import DisplayToken, Event

# Longest token either kind of sign-in hands out, with room to spare; longer is refused unread.
MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True)
class Principal:
    """Who is on the other end of a socket: a signed-in user or a display device."""

    user_id: int | None = None
    role: str | None = None
    doctor_id: int | None = None
    auth_token_id: int | None = None
    expires_at: datetime | None = None
    display_token_id: int | None = None

    @property
    def is_display(self) -> bool:
        return self.display_token_id is not None


def principal_for_token(raw: object) -> Principal | None:
    """The principal a live token stands for, or None (bad, expired, revoked, inactive user)."""
    if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    if raw.startswith(DisplayToken.PREFIX):
        display = DisplayToken.objects.live().filter(key_hash=hash_token(raw)).first()
        return None if display is None else Principal(display_token_id=display.pk)
    found = user_for_token(raw)
    if found is None:
        return None
    user, token = found
    doctor = getattr(user, "doctor", None) if user.role == Role.DOCTOR else None
    return Principal(
        user_id=user.pk,
        role=user.role,
        doctor_id=doctor.pk if doctor else None,
        auth_token_id=token.pk,
        expires_at=token.expires_at,
    )


def principal_is_live(principal: Principal) -> bool:
    """False once the token behind a socket expired or was revoked, or its user deactivated."""
    if principal.is_display:
        return DisplayToken.objects.live().filter(pk=principal.display_token_id).exists()
    return AuthToken.objects.live().filter(pk=principal.auth_token_id, user__is_active=True).exists()


# The answers of `subscribe_decision`.
ALLOWED = "ok"
FORBIDDEN = "forbidden"
UNKNOWN_TOPIC = "unknown_topic"


def subscribe_decision(principal: Principal, topic_name: object) -> str:
    """May `principal` subscribe to `topic_name` (contract §9's table)? ALLOWED, FORBIDDEN or UNKNOWN_TOPIC."""
    topic = topics.parse(topic_name)
    if topic is None:
        return UNKNOWN_TOPIC
    if topic.kind == topics.NOTIFICATIONS:
        # Checked before any lookup: whether another user exists is not the caller's business.
        return ALLOWED if principal.user_id == topic.owner_id else FORBIDDEN
    if not Doctor.objects.filter(pk=topic.owner_id).exists():
        return UNKNOWN_TOPIC
    if principal.is_display:
        return ALLOWED if topic.kind == topics.DISPLAY else FORBIDDEN
    staff = principal.role in (Role.STAFF, Role.ADMIN)
    if topic.kind == topics.AVAILABILITY:
        return ALLOWED
    if topic.kind == topics.QUEUE:
        return ALLOWED if staff or principal.doctor_id == topic.owner_id else FORBIDDEN
    return ALLOWED if staff else FORBIDDEN


def subscribe_start(principal: Principal, topic_name: object, *, resuming: bool) -> tuple[str, int]:
    """The subscribe decision and, when allowed and not `resuming` (a socket resuming after
    its own last id replays from there), the newest event id on the topic: one call from
    the consumer, so one trip to a pooled connection."""
    decision = subscribe_decision(principal, topic_name)
    return decision, latest_event_id(str(topic_name)) if decision == ALLOWED and not resuming else 0


def latest_event_id(topic: str) -> int:
    """The id of the newest stored event on `topic` (0 when there is none)."""
    return Event.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first() or 0


def events_between(topic: str, *, after: int, upto: int | None = None, limit: int | None = None) -> list[dict]:
    """Stored events on `topic` with `after` < id <= `upto`, oldest first, as websocket messages."""
    query = Event.objects.filter(topic=topic, id__gt=after)
    if upto is not None:
        query = query.filter(id__lte=upto)
    if limit is not None:
        query = query[:limit]
    return [event.as_message() for event in query]


@dataclass(frozen=True)
class Replay:
    """What a subscriber resuming after `last_event_id` gets: the missed events, or a resync."""

    events: list[dict]
    resync_required: bool
    # The newest id on the topic when the replay was read: live events up to it are duplicates.
    up_to: int


def replay_after(topic: str, last_event_id: int) -> Replay:
    """The events on `topic` after `last_event_id`, or `resync_required` when some may be gone.

    Pruning removes the oldest events first (and never the newest one), so events after
    `last_event_id` may be missing exactly when that id is older than the oldest stored
    event and is not itself stored. A replay longer than WS_REPLAY_LIMIT is a resync too:
    refetching state is then cheaper than streaming history.
    """
    latest = latest_event_id(topic)
    oldest = Event.objects.order_by("id").values_list("id", flat=True).first()
    pruned = oldest is not None and last_event_id + 1 < oldest and not Event.objects.filter(pk=last_event_id).exists()
    if pruned:
        return Replay(events=[], resync_required=True, up_to=latest)
    limit = settings.WS_REPLAY_LIMIT
    events = events_between(topic, after=last_event_id, upto=latest, limit=limit + 1)
    if len(events) > limit:
        return Replay(events=[], resync_required=True, up_to=latest)
    return Replay(events=events, resync_required=False, up_to=latest)


def display_token_list() -> QuerySet[DisplayToken]:
    """Every display token, newest last (admins only: the API checks the role)."""
    return DisplayToken.objects.order_by("id")


def display_token_get(*, token_id: int) -> DisplayToken:
    display = DisplayToken.objects.filter(pk=token_id).first()
    if display is None:
        raise NotFound()
    return display


def display_principal_for_page(raw: object) -> DisplayToken | None:
    """The live display token the display page was opened with, or None."""
    if not isinstance(raw, str) or not raw.startswith(DisplayToken.PREFIX) or len(raw) > MAX_TOKEN_LENGTH:
        return None
    return DisplayToken.objects.live().filter(key_hash=hash_token(raw)).first()


def dead_principals(principals: list[Principal]) -> set[Principal]:
    """Those of `principals` whose token expired or was revoked: one query per kind, for a
    whole process's sockets at once."""
    auth_ids = {p.auth_token_id for p in principals if not p.is_display}
    display_ids = {p.display_token_id for p in principals if p.is_display}
    live_auth = set(AuthToken.objects.live().filter(pk__in=auth_ids, user__is_active=True).values_list("pk", flat=True))
    live_display = set(DisplayToken.objects.live().filter(pk__in=display_ids).values_list("pk", flat=True))
    return {
        p
        for p in principals
        if (p.display_token_id not in live_display if p.is_display else p.auth_token_id not in live_auth)
    }
