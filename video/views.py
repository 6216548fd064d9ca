"""The clinic's video join page: the link in reminders and the portals' Join button."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def video_page(request: HttpRequest, appointment_id: int) -> HttpResponse:
    # No data on the page itself: its script asks GET /api/appointments/{id}/video/ with the
    # portal's token, so only the appointment's patient and doctor, inside the window, get in.
    return render(
        request,
        "video/join.html",
        {"appointment_id": appointment_id, "twilio_video_js_url": settings.TWILIO_VIDEO_JS_URL},
    )
