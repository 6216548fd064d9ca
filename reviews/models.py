"""Doctor reviews: a patient's rating of a completed appointment's doctor."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Doctor, Patient
from scheduling.models import Appointment


class Review(models.Model):
    """A patient's rating of a doctor, at most one per completed appointment.

    Written by `reviews.services` only. Hidden reviews (by an admin) stay
    stored but are neither listed nor counted in the doctor's rating.
    """

    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, related_name="review")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="reviews")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    is_hidden = models.BooleanField(default=False)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews_hidden"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The table kept its name when reviews left scheduling (migrations 0004 / reviews 0001).
        db_table = "scheduling_review"
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_range")]
        indexes = [models.Index(fields=["doctor", "is_hidden", "created_at"], name="scheduling__doctor__954a7b_idx")]

    def __str__(self) -> str:
        return f"Review {self.pk} of {self.doctor}: {self.rating}/5"
