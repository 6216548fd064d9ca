from django.urls import path

from scheduling import review_api

urlpatterns = [
    path("doctors/<int:doctor_id>/reviews/", review_api.DoctorReviewsApi.as_view(), name="doctor-reviews"),
]
