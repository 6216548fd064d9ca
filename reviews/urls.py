from django.urls import path

from reviews import api

urlpatterns = [
    path("doctors/<int:doctor_id>/reviews/", api.DoctorReviewsApi.as_view(), name="doctor-reviews"),
]
