"""Every write to reviews: a patient reviews a completed appointment; an admin hides one.

Reviews are their own app above scheduling: each one hangs on a completed appointment.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Doctor, User
from audit.services import audit_record
from core.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from core.roles import Role
from reviews.models import Review
from scheduling.models import Appointment, AppointmentStatus

RATING_MIN = 1
RATING_MAX = 5


@transaction.atomic
def review_create(*, actor: User, doctor: Doctor, appointment_id: int, rating: int, comment: str = "") -> Review:
    """A patient's review of `doctor`, for one of their own completed appointments with them.

    One review per appointment: a second is a 409 `already_reviewed`. An appointment that
    is not the patient's, or not with this doctor, does not exist for them (404).
    """
    if actor.role != Role.PATIENT:
        raise Forbidden("Only patients review doctors.")
    if not RATING_MIN <= rating <= RATING_MAX:
        raise ValidationFailed(fields={"rating": [f"Must be between {RATING_MIN} and {RATING_MAX}."]})
    # Locking the appointment makes two simultaneous reviews of it queue up, so the
    # second sees the first and gets a clean 409 (the unique constraint is the backstop).
    appointment = (
        Appointment.objects.select_for_update().filter(pk=appointment_id, doctor=doctor, patient__user=actor).first()
    )
    if appointment is None:
        raise NotFound("No such appointment.")
    if appointment.status != AppointmentStatus.COMPLETED:
        raise ValidationFailed(
            "Only a completed appointment can be reviewed.",
            code="appointment_not_completed",
            fields={"appointment": ["The appointment is not completed."]},
        )
    if Review.objects.filter(appointment=appointment).exists():
        raise Conflict("This appointment has already been reviewed.", code="already_reviewed")
    try:
        with transaction.atomic():
            review = Review.objects.create(
                appointment=appointment,
                doctor=doctor,
                patient=appointment.patient,
                rating=rating,
                comment=comment,
            )
    except IntegrityError as exc:
        raise Conflict("This appointment has already been reviewed.", code="already_reviewed") from exc
    audit_record(actor=actor, action="review.created", obj=review, details={"doctor": doctor.pk, "rating": rating})
    return review


@transaction.atomic
def review_hide(*, actor: User, review: Review) -> Review:
    """Take a review out of the listing and the doctor's rating (admins; the caller checks)."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if not review.is_hidden:
        review.is_hidden = True
        review.hidden_at = timezone.now()
        review.hidden_by = actor
        review.save(update_fields=["is_hidden", "hidden_at", "hidden_by"])
        audit_record(actor=actor, action="review.hidden", obj=review, details={"doctor": review.doctor_id})
    return review


@transaction.atomic
def review_unhide(*, actor: User, review: Review) -> Review:
    """Show a hidden review again (admins; the caller checks)."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.is_hidden:
        review.is_hidden = False
        review.hidden_at = None
        review.hidden_by = None
        review.save(update_fields=["is_hidden", "hidden_at", "hidden_by"])
        audit_record(actor=actor, action="review.unhidden", obj=review, details={"doctor": review.doctor_id})
    return review
