"""The reception display page: /display/?doctor=<id>&token=<display token>.

Server-rendered with today's queue (as the display topic describes it); a small script
then follows the topic live over the websocket, resuming after the newest event id that
was stored before the page read the queue, so nothing between the two is missed.
Scheduling serves it: realtime checks the display token and knows the topic, scheduling
knows the queue.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Doctor
from clinic.clock import clinic_today
from realtime import selectors, topics
from scheduling import events


def _refused(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_GET
def display_page(request: HttpRequest) -> HttpResponse:
    raw_doctor = request.GET.get("doctor", "")
    token = request.GET.get("token", "")
    display = selectors.display_principal_for_page(token)
    if display is None:
        return _refused(403, "This display token is not valid.")
    doctor = (
        Doctor.objects.select_related("user").filter(pk=int(raw_doctor)).first()
        if raw_doctor.isdigit() and len(raw_doctor) <= 12
        else None
    )
    if doctor is None:
        return _refused(404, "No such doctor.")
    topic = topics.display_doctor(doctor.pk)
    last_event_id = selectors.latest_event_id(topic)
    state = events.display_payload(events.queue_payload(doctor_id=doctor.pk, day=clinic_today()))
    waiting = state["waiting"]
    response = render(
        request,
        "scheduling/display.html",
        {
            "doctor": doctor,
            "now_serving": (state["now_serving"] or {}).get("queue_number"),
            "next_number": waiting[0]["queue_number"] if waiting else None,
            "later": [entry["queue_number"] for entry in waiting[1:6]],
            "config": {"token": token, "topic": topic, "last_event_id": last_event_id},
        },
    )
    # The token is in this page's URL: do not hand it to other sites as a referrer.
    response["Referrer-Policy"] = "no-referrer"
    return response
