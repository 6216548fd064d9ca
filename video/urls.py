from django.urls import path

from video.api import VideoGrantApi

urlpatterns = [
    path("appointments/<int:appointment_id>/video/", VideoGrantApi.as_view(), name="appointment-video"),
]
