"""Reads of accounts, scoped to the actor."""

from django.db.models import Avg, Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Doctor, User


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


def doctor_get(*, actor: User, doctor_id: int) -> Doctor:
    """One doctor; an unapproved one only for staff, admin and the doctor themself (else 404)."""
    doctors = _with_rating(Doctor.objects.select_related("user"))
    if not _sees_unapproved(actor):
        doctors = doctors.filter(Q(is_approved=True, user__is_active=True) | Q(user=actor))
    return get_object_or_404(doctors, pk=doctor_id)


def doctor_get_for_admin(*, doctor_id: int) -> Doctor:
    return get_object_or_404(_with_rating(Doctor.objects.select_related("user")), pk=doctor_id)


def user_get_for_admin(*, user_id: int) -> User:
    return get_object_or_404(User, pk=user_id)
