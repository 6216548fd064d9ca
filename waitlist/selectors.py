"""Reads of the waitlist, scoped to the actor ("not yours" is 404)."""

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from core.roles import Role
from waitlist.models import EntryStatus, Offer, OfferStatus, WaitlistEntry


def _visible_entries(actor: User) -> QuerySet[WaitlistEntry]:
    entries = WaitlistEntry.objects.all()
    if actor.is_staff_or_admin:
        return entries
    if actor.role == Role.PATIENT:
        return entries.filter(patient__user=actor)
    # Doctors keep their dashboard queue; the line of patients waiting is the desk's.
    return entries.none()


def entry_list(*, actor: User) -> QuerySet[WaitlistEntry]:
    """The caller's entries (staff and admin: all), oldest first, each with its open offer."""
    open_offers = Prefetch(
        "offers", queryset=Offer.objects.filter(status=OfferStatus.OPEN).select_related("hold"), to_attr="open_offers"
    )
    return _visible_entries(actor).prefetch_related(open_offers).order_by("created_at", "id")


def entry_get(*, actor: User, entry_id: int) -> WaitlistEntry:
    """One entry the actor may see (its patient, staff, admin), else 404."""
    return get_object_or_404(_visible_entries(actor).select_related("doctor", "patient__user"), pk=entry_id)


def doctors_waited_for() -> list[int]:
    """Doctors with waiting entries: the sweep runs an offer pass for each."""
    return list(
        WaitlistEntry.objects.filter(status=EntryStatus.WAITING)
        .values_list("doctor_id", flat=True)
        .distinct()
        .order_by("doctor_id")
    )
