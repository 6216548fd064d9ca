"""Video visits (contract §14): who may join, when, and the grant itself.

A grant is a read with consequences: the room is made on the first one (once, however
many are asked at once), every grant is audited, and the doctor's first grant tells the
patient, live, that the doctor has joined.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from audit.services import audit_record
from clinic.registry import clinic_setting
from core.exceptions import Conflict, DomainError, Forbidden
from scheduling.models import ACTIVE_STATUSES, Appointment, VisitType
from scheduling.serializers import clinic_iso
from video import events
from video.models import VideoRoom
from video.providers import VideoProvider, video_provider

# An access token lives until the window closes, but never longer than this: a client
# in a long visit asks again, and a leaked token is soon worthless.
MAX_TOKEN_SECONDS = 60 * 60
MIN_TOKEN_SECONDS = 60


class NotAVideoVisit(DomainError):
    status_code = 400
    code = "not_a_video_visit"
    default_detail = "This appointment is an in-person visit."


class VideoNotOpen(Conflict):
    code = "video_not_open"
    default_detail = "The video room is not open now."


@dataclass(frozen=True)
class VideoGrant:
    provider: str
    room: str
    join_url: str
    access_token: str | None
    opens_at: datetime
    closes_at: datetime


def video_window(appointment: Appointment) -> tuple[datetime, datetime]:
    """When the room of `appointment` is open: [opens_at, closes_at)."""
    opens_at = appointment.start - timedelta(minutes=clinic_setting("video_opens_minutes_before"))
    closes_at = appointment.end + timedelta(minutes=clinic_setting("video_closes_minutes_after"))
    return opens_at, closes_at


def video_grant(*, actor: User, appointment: Appointment) -> VideoGrant:
    """Let the appointment's patient or doctor into its video room, inside the window.

    403 for anyone else who may see the appointment (staff, admin): a visit is private to
    its two participants. 400 `not_a_video_visit` for an in-person appointment; 409
    `video_not_open` (with `opens_at`, `closes_at`) outside the window or once the visit
    was cancelled or has ended.
    """
    as_doctor = actor.role == Role.DOCTOR and appointment.doctor.user_id == actor.pk
    as_patient = actor.role == Role.PATIENT and appointment.patient.user_id == actor.pk
    if not (as_doctor or as_patient):
        raise Forbidden("Only the appointment's patient and doctor may join its video visit.")
    if appointment.visit_type != VisitType.VIDEO:
        raise NotAVideoVisit()
    opens_at, closes_at = video_window(appointment)
    window = {"opens_at": clinic_iso(opens_at), "closes_at": clinic_iso(closes_at)}
    if appointment.status not in ACTIVE_STATUSES:
        raise VideoNotOpen(f"This visit is {appointment.get_status_display().lower()}.", extra=window)
    now = timezone.now()
    if not opens_at <= now < closes_at:
        raise VideoNotOpen("The video room is open from opens_at until closes_at.", extra=window)

    provider = video_provider()
    room = _room_for(appointment=appointment, provider=provider)
    role = Role.DOCTOR if as_doctor else Role.PATIENT
    ttl = int(min(max((closes_at - now).total_seconds(), MIN_TOKEN_SECONDS), MAX_TOKEN_SECONDS))
    join = provider.join(
        name=room.name,
        # An identity that names the role and the account, never the person.
        identity=f"{role}-{actor.pk}",
        ttl_seconds=ttl,
        page_url=f"{settings.PUBLIC_BASE_URL.rstrip('/')}/video/{appointment.pk}/",
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="video.granted",
            obj=appointment,
            details={"provider": provider.name, "room": room.name, "as": role, "ttl_seconds": ttl},
        )
        # The doctor's first grant: the conditional update lets exactly one request say so.
        if as_doctor and VideoRoom.objects.filter(pk=room.pk, doctor_joined_at__isnull=True).update(
            doctor_joined_at=now
        ):
            events.video_doctor_joined(appointment=appointment, joined_at=now)
    return VideoGrant(
        provider=provider.name,
        room=room.name,
        join_url=join.join_url,
        access_token=join.access_token,
        opens_at=opens_at,
        closes_at=closes_at,
    )


def _room_for(*, appointment: Appointment, provider: VideoProvider) -> VideoRoom:
    """The appointment's one room, made on first use; the provider's room opened for it."""
    room = VideoRoom.objects.filter(appointment=appointment).first()
    if room is None:
        try:
            with transaction.atomic():
                room = VideoRoom.objects.create(
                    appointment=appointment, provider=provider.name, name=f"visit-{secrets.token_hex(16)}"
                )
        except IntegrityError:
            # A racing grant made it first (one room per appointment is a unique key).
            room = VideoRoom.objects.get(appointment=appointment)
    # Asked every time: a provider's room closes when it has stood empty, and opening one
    # by its unique name again is how a returning participant gets it back.
    sid = provider.room_open(name=room.name)
    if sid and sid != room.provider_sid:
        VideoRoom.objects.filter(pk=room.pk).update(provider_sid=sid, provider=provider.name)
        room.provider_sid = sid
    return room
