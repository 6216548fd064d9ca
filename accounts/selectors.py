"""Reads of accounts, scoped to the actor."""

from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import Doctor, User
from core.queries import Compiled


def _with_rating(doctors: QuerySet[Doctor]) -> QuerySet[Doctor]:
    """`rating` (average of visible reviews, None without any) and `review_count`, in the
    same query as the doctors: a list never asks per doctor."""
    visible = Q(reviews__is_hidden=False)
    return doctors.annotate(
        rating=Avg("reviews__rating", filter=visible), review_count=Count("reviews", filter=visible)
    )


def _sees_unapproved(actor: User) -> bool:
    return actor.is_staff_or_admin


def doctor_list(*, actor: User, specialization: str = "", search: str = "") -> QuerySet[Doctor]:
    """Doctors the actor may see: approved ones, or all of them for staff and admin."""
    doctors = _with_rating(
        Doctor.objects.select_related("user").filter(user__is_active=True).order_by("user__last_name", "id")
    )
    if not _sees_unapproved(actor):
        doctors = doctors.filter(is_approved=True)
    if specialization:
        doctors = doctors.filter(specialization__iexact=specialization)
    if search:
        for term in search.split()[:5]:
            doctors = doctors.filter(
                Q(user__first_name__icontains=term)
                | Q(user__last_name__icontains=term)
                | Q(specialization__icontains=term)
            )
    return doctors


def _visible(actor: User, doctors: QuerySet[Doctor]) -> QuerySet[Doctor]:
    """An unapproved (or inactive) doctor only for staff, admin and the doctor themself."""
    if _sees_unapproved(actor):
        return doctors
    return _bookable_or_self(doctors, actor.pk)


def _bookable_or_self(doctors: QuerySet[Doctor], user_id: int) -> QuerySet[Doctor]:
    return doctors.filter(Q(is_approved=True, user__is_active=True) | Q(user_id=user_id))


# `doctor_visible_id`'s two shapes (staff and admin see every doctor), compiled once
# (core.queries.Compiled): every availability read asks.
_doctor_id_for_staff = Compiled(lambda pk: Doctor.objects.filter(pk=pk).values_list("pk"))
_doctor_id_for_others = Compiled(
    lambda pk, user_id: _bookable_or_self(Doctor.objects.filter(pk=pk), user_id).values_list("pk")
)


def doctor_get(*, actor: User, doctor_id: int) -> Doctor:
    """One doctor the actor may see (else 404)."""
    return get_object_or_404(_visible(actor, _with_rating(Doctor.objects.select_related("user"))), pk=doctor_id)


def doctor_visible_id(*, actor: User, doctor_id: int) -> int:
    """`doctor_id` when the actor may see that doctor (as `doctor_get`), else 404: one small
    query, for reads that need the doctor's id and not the doctor (availability)."""
    if _sees_unapproved(actor):
        found = _doctor_id_for_staff.first(doctor_id)
    else:
        found = _doctor_id_for_others.first(doctor_id, actor.pk)
    if found is None:
        raise Http404(f"No {Doctor._meta.object_name} matches the given query.")
    return doctor_id


def doctor_get_for_admin(*, doctor_id: int) -> Doctor:
    return get_object_or_404(_with_rating(Doctor.objects.select_related("user")), pk=doctor_id)


def user_get_for_admin(*, user_id: int) -> User:
    return get_object_or_404(User, pk=user_id)
