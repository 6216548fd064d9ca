"""Reads for the websocket: who a token is, what it may subscribe to, stored events.

Sync functions; the consumer runs them on its database threads, the token and subscribe
reads for many sockets at once (`realtime.consumers`).
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet

from accounts.authentication import live_tokens
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
    return principals_for_tokens([raw])[0]


def principals_for_tokens(raws: list[object]) -> list[Principal | None]:
    """`principal_for_token` of each of `raws`, in one query per kind of token: in a reconnect
    storm the consumer reads the tokens of every socket authenticating meanwhile together."""
    keys: list[str | None] = []
    display: list[str] = []
    api: list[str] = []
    for raw in raws:
        if not isinstance(raw, str) or not raw or len(raw) > MAX_TOKEN_LENGTH:
            keys.append(None)
            continue
        key = hash_token(raw)
        keys.append(key)
        (display if raw.startswith(DisplayToken.PREFIX) else api).append(key)
    found: dict[str, Principal] = {}
    if display:
        for key, pk in DisplayToken.objects.live().filter(key_hash__in=display).values_list("key_hash", "pk"):
            found[key] = Principal(display_token_id=pk)
    if api:
        rows = live_tokens(api).values_list("key_hash", "pk", "expires_at", "user_id", "user__role", "user__doctor")
        for key, pk, expires_at, user_id, role, doctor_id in rows:
            found[key] = Principal(
                user_id=user_id,
                role=role,
                doctor_id=doctor_id if role == Role.DOCTOR else None,
                auth_token_id=pk,
                expires_at=expires_at,
            )
    return [found.get(key) if key is not None else None for key in keys]


def principal_is_live(principal: Principal) -> bool:
    """False once the token behind a socket expired or was revoked, or its user deactivated."""
    if principal.is_display:
        return DisplayToken.objects.live().filter(pk=principal.display_token_id).exists()
    return AuthToken.objects.live().filter(pk=principal.auth_token_id, user__is_active=True).exists()


# The answers of `subscribe_start`.
ALLOWED = "ok"
FORBIDDEN = "forbidden"
UNKNOWN_TOPIC = "unknown_topic"


def subscribe_start(principal: Principal, topic_name: object, *, resuming: bool) -> tuple[str, int]:
    """The subscribe decision and, when allowed and not `resuming` (a socket resuming after
    its own last id replays from there), the newest event id on the topic."""
    return subscribe_starts([(principal, topic_name, resuming)])[0]


def subscribe_starts(requests: list[tuple[Principal, object, bool]]) -> list[tuple[str, int]]:
    """`subscribe_start` of each (principal, topic, resuming) of `requests`: one query for
    the doctors' existence and one for the newest id of each topic a fresh subscription
    was allowed to, however many sockets ask (in a reconnect storm, thousands in seconds)."""
    parsed = [topics.parse(topic_name) for _, topic_name, _ in requests]
    doctor_ids = {topic.owner_id for topic in parsed if topic is not None and topic.kind != topics.NOTIFICATIONS}
    existing = set(Doctor.objects.filter(pk__in=doctor_ids).values_list("pk", flat=True)) if doctor_ids else set()
    decisions = [
        _decision(principal, topic, existing) for (principal, _, _), topic in zip(requests, parsed, strict=True)
    ]
    fresh = {
        topic.name
        for (_, _, resuming), topic, decision in zip(requests, parsed, decisions, strict=True)
        if decision == ALLOWED and not resuming and topic is not None
    }
    newest = latest_event_ids(fresh)
    return [
        (decision, newest[topic.name] if decision == ALLOWED and not resuming and topic is not None else 0)
        for (_, _, resuming), topic, decision in zip(requests, parsed, decisions, strict=True)
    ]


def _decision(principal: Principal, topic: topics.Topic | None, existing_doctors: set[int]) -> str:
    """Contract §9's table for one subscribe (`existing_doctors`: those of the batch that exist)."""
    if topic is None:
        return UNKNOWN_TOPIC
    if topic.kind == topics.NOTIFICATIONS:
        # Decided before any lookup: whether another user exists is not the caller's business.
        return ALLOWED if principal.user_id == topic.owner_id else FORBIDDEN
    if topic.owner_id not in existing_doctors:
        return UNKNOWN_TOPIC
    if principal.is_display:
        return ALLOWED if topic.kind == topics.DISPLAY else FORBIDDEN
    staff = principal.role in (Role.STAFF, Role.ADMIN)
    if topic.kind == topics.AVAILABILITY:
        return ALLOWED
    if topic.kind == topics.QUEUE:
        return ALLOWED if staff or principal.doctor_id == topic.owner_id else FORBIDDEN
    return ALLOWED if staff else FORBIDDEN


def latest_event_ids(topic_names: set[str]) -> dict[str, int]:
    """The id of the newest stored event on each of `topic_names` (0 where there is none), in
    one statement: each topic's newest through the (topic, id) index, side by side."""
    if not topic_names:
        return {}
    newest = [
        Event.objects.filter(topic=name).order_by("-id").values_list("topic", "id")[:1] for name in sorted(topic_names)
    ]
    found = dict(newest[0].union(*newest[1:], all=True)) if len(newest) > 1 else dict(newest[0])
    return {name: found.get(name, 0) for name in topic_names}


def latest_event_id(topic: str) -> int:
    """The id of the newest stored event on `topic` (0 when there is none)."""
    return latest_event_ids({topic})[topic]


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
