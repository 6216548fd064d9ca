"""The reception display page: /display/?doctor=<id>.

The screen is set up once by typing its display token into the page's form: the token is
POSTed in the body and kept in an HttpOnly cookie, so it never travels in a URL (URLs land
in access logs, browser history and referrers). A URL that still carries `token=` is
refused without the token being looked at.

Server-rendered with today's queue (as the display topic describes it); a small script
then follows the topic live over the websocket (the token goes in its first message),
resuming after the newest event id that was stored before the page read the queue, so
nothing between the two is missed. Scheduling serves it: realtime checks the display
token and knows the topic, scheduling knows the queue.
"""

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import Doctor
from clinic.clock import clinic_today
from realtime import selectors, topics
from realtime.models import DisplayToken
from scheduling import events

COOKIE = "clinic_display"
COOKIE_PATH = "/display/"


def _refused(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _doctor(raw: str) -> Doctor | None:
    if not raw.isdigit() or len(raw) > 12:
        return None
    return Doctor.objects.select_related("user").filter(pk=int(raw)).first()


@never_cache
@require_http_methods(["GET", "POST"])
def display_page(request: HttpRequest) -> HttpResponse:
    if "token" in request.GET:
        return _refused(400, "Display tokens are not accepted in the URL: open /display/?doctor=<id> and enter it.")
    raw_doctor = request.GET.get("doctor", "")
    if request.method == "POST":
        return _set_up(request, raw_doctor)
    token = request.COOKIES.get(COOKIE, "")
    if not token:
        return _form(request, status=200)
    if selectors.display_principal_for_page(token) is None:
        return _refused(403, "This display token is not valid.")
    doctor = _doctor(raw_doctor)
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
    response["Referrer-Policy"] = "no-referrer"
    return response


def _form(request: HttpRequest, status: int) -> HttpResponse:
    return render(request, "scheduling/display_setup.html", {"refused": status == 403}, status=status)


def _set_up(request: HttpRequest, raw_doctor: str) -> HttpResponse:
    """Keep a valid token in the screen's cookie and go back to the page, without it in the URL."""
    token = request.POST.get("token", "")
    display: DisplayToken | None = selectors.display_principal_for_page(token)
    if display is None:
        return _form(request, status=403)
    response = HttpResponseRedirect(f"{COOKIE_PATH}?doctor={raw_doctor}" if raw_doctor.isdigit() else COOKIE_PATH)
    response.status_code = 303
    response.set_cookie(
        COOKIE,
        token,
        max_age=max(int((display.expires_at - timezone.now()).total_seconds()), 0),
        path=COOKIE_PATH,
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    return response
