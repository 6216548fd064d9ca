"""Reads of reviews, scoped to the actor."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import doctor_get
from reviews.models import Review


def review_list(*, actor: User, doctor_id: int) -> QuerySet[Review]:
    """The visible reviews of a doctor the actor may see (404 otherwise), newest first."""
    doctor = doctor_get(actor=actor, doctor_id=doctor_id)
    return Review.objects.filter(doctor=doctor, is_hidden=False).select_related("patient__user").order_by("-id")
