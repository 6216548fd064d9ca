"""Every write to the waitlist: joining, leaving, offers made, accepted, declined, followed.

How a freed slot reaches one patient, and only one:

- Scheduling announces after commit that a doctor's calendar opened
  (`scheduling.signals.slots_opened`); the receiver queues `waitlist.tasks.offer_free_slots`.
  The beat sweep runs the same pass for every doctor with waiting entries, so a lost task
  (a crash between the commit and the queue) delays an offer but never loses it.
- The pass (`offers_make`) runs one at a time per doctor (the doctor's row lock) and gives
  each open slot, in time order, to the earliest waiting entry that matches it. An offer is
  a hold for the entry's patient (`scheduling.services.hold_offer`, under the booking's
  locks and constraints), the Offer row, the entry's new status and the patient's
  notifications, all in one transaction: a crash leaves all of it or none of it, and a
  second pass finds the slot held and the entry offered. The database refuses two active
  holds on a slot, two on a patient and two open offers on an entry.
- The offer follows its hold (`offer_follow_hold`, called in the transaction that ends
  the hold): booked → the entry is booked; released (declined) → the entry waits again and
  is never offered that slot again; expired → the entry expires; withdrawn (the slot went
  away) → the entry waits again. A released, expired or withdrawn hold opens its slot,
  which passes to the next entry.

Lock order, as scheduling's: doctor → entry → patient → slot → hold.
"""

import logging
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from audit.services import audit_record
from clinic.clock import clinic_timezone, clinic_today
from clinic.registry import clinic_setting
from core.exceptions import Conflict, DomainError, Forbidden, ValidationFailed
from core.roles import Role
from notifications.models import Kind
from notifications.services import user_notify
from scheduling import calendar
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling
from scheduling.models import Appointment, Hold, HoldStatus
from waitlist.models import OPEN_STATUSES, EntryStatus, Offer, OfferStatus, WaitlistEntry

logger = logging.getLogger(__name__)


class OfferExpired(Conflict):
    code = "offer_expired"
    default_detail = "This offer has expired; you are no longer holding that slot."


class AlreadyWaiting(Conflict):
    code = "already_waiting"
    default_detail = "The patient is already on this doctor's waitlist."


# What an offer becomes, and its entry, when its hold ends in each way.
_FOLLOW: dict[str, tuple[str, str]] = {
    HoldStatus.BOOKED: (OfferStatus.ACCEPTED, EntryStatus.BOOKED),
    HoldStatus.RELEASED: (OfferStatus.DECLINED, EntryStatus.WAITING),
    HoldStatus.EXPIRED: (OfferStatus.EXPIRED, EntryStatus.EXPIRED),
    HoldStatus.WITHDRAWN: (OfferStatus.WITHDRAWN, EntryStatus.WAITING),
}


def _queue_offers(doctor_id: int) -> None:
    from waitlist.tasks import offer_free_slots

    offer_free_slots.delay(doctor_id)


# --- Joining and leaving ----------------------------------------------------------------


def _resolve_patient(*, actor: User, patient: Patient | None) -> Patient:
    if actor.role == Role.PATIENT:
        own = actor.patient
        if patient is not None and patient.pk != own.pk:
            raise Forbidden("Patients join the waitlist only for themselves.")
        return own
    if not actor.is_staff_or_admin:
        raise Forbidden("Only patients, staff and admins join the waitlist.")
    if patient is None:
        raise ValidationFailed(fields={"patient": ["Required when staff add a patient to the waitlist."]})
    return patient


def _check_window(*, first_day: date, last_day: date, earliest_time: time | None, latest_time: time | None) -> None:
    today = clinic_today()
    last_bookable = today + timedelta(days=clinic_setting("booking_horizon_days"))
    errors: dict[str, list[str]] = {}
    if first_day < today:
        errors["from"] = ["Must not be in the past."]
    if last_day < first_day:
        errors["to"] = ["Must not be before from."]
    elif last_day > last_bookable:
        errors["to"] = [f"Must be within the booking horizon (until {last_bookable.isoformat()})."]
    if earliest_time is not None and latest_time is not None and latest_time <= earliest_time:
        errors["latest_time"] = ["Must be after earliest_time."]
    if errors:
        raise ValidationFailed(fields=errors)


@transaction.atomic
def entry_join(
    *,
    actor: User,
    doctor: Doctor,
    first_day: date,
    last_day: date,
    earliest_time: time | None = None,
    latest_time: time | None = None,
    patient: Patient | None = None,
) -> WaitlistEntry:
    """Put a patient on a doctor's waitlist for clinic days [first_day, last_day].

    Patients join for themselves, staff and admin for any patient; one open entry per
    patient and doctor (409 `already_waiting`). A matching slot already free is offered
    at once, by the same pass as a freed one.
    """
    patient = _resolve_patient(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise ValidationFailed(fields={"doctor": ["This doctor is not taking bookings."]})
    _check_window(first_day=first_day, last_day=last_day, earliest_time=earliest_time, latest_time=latest_time)
    # The patient's row lock makes "one open entry per doctor" a clear 409, not a lost race.
    scheduling.lock_patient(patient.pk)
    if WaitlistEntry.objects.filter(doctor=doctor, patient=patient, status__in=OPEN_STATUSES).exists():
        raise AlreadyWaiting()
    now = timezone.now()
    entry = WaitlistEntry.objects.create(
        doctor=doctor,
        patient=patient,
        first_day=first_day,
        last_day=last_day,
        earliest_time=earliest_time,
        latest_time=latest_time,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    audit_record(
        actor=actor,
        action="waitlist_entry.created",
        obj=entry,
        details={"doctor": doctor.pk, "patient": patient.pk, "from": first_day.isoformat(), "to": last_day.isoformat()},
    )
    transaction.on_commit(partial(_queue_offers, doctor.pk), robust=True)
    return entry


def _lock_entry(entry: WaitlistEntry) -> WaitlistEntry:
    return WaitlistEntry.objects.select_for_update().select_related("doctor", "patient__user").get(pk=entry.pk)


def _open_offer(entry: WaitlistEntry) -> Offer | None:
    return Offer.objects.select_related("hold").filter(entry=entry, status=OfferStatus.OPEN).first()


@transaction.atomic
def entry_cancel(*, actor: User, entry: WaitlistEntry) -> WaitlistEntry:
    """Leave the waitlist (its patient, staff, admin). An open offer is given up: its slot
    passes to the next entry. Leaving an entry that is already closed changes nothing."""
    entry = _lock_entry(entry)
    if entry.status not in OPEN_STATUSES:
        return entry
    offer = _open_offer(entry)
    if offer is not None:
        # Ends the hold; offer_follow_hold marks the offer declined in this transaction.
        scheduling.hold_release(actor=actor, hold=offer.hold)
        entry.refresh_from_db()
    _entry_set(entry, EntryStatus.CANCELLED)
    audit_record(actor=actor, action="waitlist_entry.cancelled", obj=entry)
    return entry


def _entry_set(entry: WaitlistEntry, status: str, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.status = status
    entry.updated_at = timezone.now()
    entry.save(update_fields=["status", "updated_at", *fields])


# --- Offers ----------------------------------------------------------------------------


def _live_offer(entry: WaitlistEntry) -> Offer:
    offer = _open_offer(entry)
    if entry.status != EntryStatus.OFFERED or offer is None or not offer.hold.is_live(timezone.now()):
        raise OfferExpired()
    return offer


@transaction.atomic
def offer_accept(*, actor: User, entry: WaitlistEntry) -> Appointment:
    """Book the offered slot for the entry's patient (the patient themself).

    409 `offer_expired` once the offer's time has passed (or it was declined); the
    booking's own rules (notice, cap) apply as to any booking of the patient.
    """
    entry = _lock_entry(entry)
    if actor.role != Role.PATIENT or entry.patient.user_id != actor.pk:
        raise Forbidden("Only the patient offered the slot may accept it.")
    offer = _live_offer(entry)
    # Booking with the hold turns it into the appointment; offer_follow_hold marks the
    # offer accepted and the entry booked in this same transaction.
    return scheduling.appointment_book(
        actor=actor, doctor=entry.doctor, start=offer.start, patient=entry.patient, hold=offer.hold
    )


@transaction.atomic
def offer_decline(*, actor: User, entry: WaitlistEntry) -> WaitlistEntry:
    """Say no to the offered slot: it passes to the next entry; this one keeps waiting
    (and is never offered that slot again)."""
    entry = _lock_entry(entry)
    offer = _live_offer(entry)
    scheduling.hold_release(actor=actor, hold=offer.hold)
    entry.refresh_from_db()
    return entry


def offer_follow_hold(*, hold: Hold, outcome: str) -> None:
    """An offer's hold ended: the offer and its entry follow (`scheduling.signals.hold_ended`).

    Runs inside the transaction that ended the hold, so the hold, the offer and the entry
    can never disagree. A hold that is no offer is left alone.
    """
    offer = Offer.objects.select_for_update().filter(hold_id=hold.pk, status=OfferStatus.OPEN).first()
    if offer is None:
        return
    offer_status, entry_status = _FOLLOW[outcome]
    now = timezone.now()
    offer.status = offer_status
    offer.ended_at = now
    offer.save(update_fields=["status", "ended_at"])
    entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
    if entry.status == EntryStatus.OFFERED:
        extra = {"appointment_id": hold.appointment_id} if entry_status == EntryStatus.BOOKED else {}
        _entry_set(entry, entry_status, **extra)
    audit_record(actor=None, action=f"waitlist_offer.{offer_status}", obj=offer, details={"entry": entry.pk})


def _matches(entry: WaitlistEntry, start: datetime, end: datetime, tz: Any) -> bool:
    local_start = start.astimezone(tz)
    day = local_start.date()
    if not entry.first_day <= day <= entry.last_day:
        return False
    if entry.earliest_time is not None and local_start.time() < entry.earliest_time:
        return False
    return entry.latest_time is None or end.astimezone(tz) <= datetime.combine(day, entry.latest_time, tzinfo=tz)


def _offer_text(doctor: Doctor, start: datetime, expires_at: datetime) -> tuple[str, str]:
    tz = clinic_timezone()
    local, until = start.astimezone(tz), expires_at.astimezone(tz)
    body = (
        f"A slot with Dr {doctor.user.full_name} at {clinic_setting('clinic_name')} opened on "
        f"{local:%A %d %B %Y} at {local:%H:%M} ({local.tzname()}). It is held for you until "
        f"{until:%H:%M}: accept it in the portal to book it."
    )
    return "A slot you are waiting for is free", body


def _offer_record(*, entry: WaitlistEntry, hold: Hold) -> Offer:
    offer = Offer.objects.create(
        entry=entry, hold=hold, start=hold.start, end=hold.end, expires_at=hold.expires_at, created_at=hold.created_at
    )
    _entry_set(entry, EntryStatus.OFFERED)
    audit_record(
        actor=None,
        action="waitlist_offer.made",
        obj=offer,
        details={"entry": entry.pk, "patient": entry.patient_id, "start": hold.start.isoformat()},
    )
    subject, body = _offer_text(entry.doctor, hold.start, hold.expires_at)
    user_notify(user=entry.patient.user, kind=Kind.WAITLIST_OFFER, subject=subject, body=body)
    return offer


def offers_make(*, doctor_id: int) -> int:
    """Offer the doctor's open slots to the waiting entries; returns how many offers were made.

    Idempotent: what is held or offered already is skipped, so running it twice, or from
    two workers, makes each offer once.
    """
    if not WaitlistEntry.objects.filter(doctor_id=doctor_id, status=EntryStatus.WAITING).exists():
        return 0
    with transaction.atomic():
        # One pass per doctor at a time: passes for one doctor cannot hand two entries the
        # same slot or skip an earlier entry for a later one. NO KEY UPDATE, not UPDATE:
        # a booking's foreign-key check on the doctor (KEY SHARE, at its commit, while it
        # holds its slot) must not wait for a pass that waits for that slot: a deadlock.
        doctor = (
            Doctor.objects.select_for_update(no_key=True, of=("self",))
            .select_related("user")
            .filter(pk=doctor_id)
            .first()
        )
        if doctor is None or not doctor.is_approved:
            return 0
        today = clinic_today()
        entries = list(
            WaitlistEntry.objects.select_for_update()
            .select_related("patient__user")
            .filter(doctor=doctor, status=EntryStatus.WAITING, last_day__gte=today, patient__user__is_active=True)
            .order_by("created_at", "id")
        )
        if not entries:
            return 0
        for entry in entries:
            entry.doctor = doctor
        tz = clinic_timezone()
        first = max(min(entry.first_day for entry in entries), today)
        last = max(entry.last_day for entry in entries)
        now = timezone.now()
        open_slots = scheduling_selectors.open_slots(
            doctor_id=doctor.pk,
            after=now + timedelta(minutes=clinic_setting("min_notice_minutes")),
            before=min(calendar.day_bounds(last, tz)[1], scheduling.horizon_end()),
            not_before=calendar.day_bounds(first, tz)[0],
        )
        # An entry is never offered a slot it declined (or let expire) again; a withdrawn
        # offer (time off took the slot) was not the patient's doing.
        refused = set(
            Offer.objects.filter(entry__in=entries)
            .exclude(status=OfferStatus.WITHDRAWN)
            .values_list("entry_id", "start")
        )
        minutes = clinic_setting("offer_minutes")
        made = 0
        for start, end in open_slots:
            for entry in entries:
                if entry.status != EntryStatus.WAITING or (entry.pk, start) in refused:
                    continue
                if not _matches(entry, start, end, tz):
                    continue
                try:
                    hold = scheduling.hold_offer(doctor=doctor, start=start, patient=entry.patient, minutes=minutes)
                except DomainError as exc:
                    # This patient cannot take it (holding another slot, busy then, at the
                    # cap) or the slot was just taken: try the next entry.
                    logger.info("offer of %s to entry %s skipped: %s", start.isoformat(), entry.pk, exc.detail)
                    continue
                _offer_record(entry=entry, hold=hold)
                made += 1
                break
    if made:
        logger.info("waitlist: %s offers made for doctor %s", made, doctor_id)
    return made


@transaction.atomic
def entries_expire_past() -> int:
    """Waiting entries whose last day has passed expire (an offered one follows its hold)."""
    today = clinic_today()
    past = list(
        WaitlistEntry.objects.select_for_update(skip_locked=True).filter(status=EntryStatus.WAITING, last_day__lt=today)
    )
    for entry in past:
        _entry_set(entry, EntryStatus.EXPIRED)
        audit_record(actor=None, action="waitlist_entry.expired", obj=entry)
    return len(past)
