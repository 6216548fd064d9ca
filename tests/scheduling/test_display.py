"""Display tokens (admin endpoints) and the reception display page."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from clinic.clock import clinic_today
from core.tokens import hash_token
from realtime import selectors, services, topics
from realtime.models import DisplayToken
from realtime.publish import publish
from scheduling.models import Appointment
from tests import factories
from tests.realtime.helpers import display_data

pytestmark = pytest.mark.django_db


def test_admin_creates_a_display_token_shown_once(client_for, ada):
    response = client_for(ada).post("/api/display-tokens/", {"name": "Lobby"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Lobby" and body["token"].startswith("dsp_") and body["revoked_at"] is None
    stored = DisplayToken.objects.get(pk=body["id"])
    assert stored.key_hash == hash_token(body["token"])
    listed = client_for(ada).get("/api/display-tokens/").json()
    assert listed["count"] == 1 and "token" not in listed["results"][0]


def test_display_token_input_is_validated(client_for, ada):
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 101}):
        response = client_for(ada).post("/api/display-tokens/", body, format="json")
        assert response.status_code == 400
        assert "name" in response.json()["fields"]


def test_display_tokens_need_a_token(anon):
    assert anon.get("/api/display-tokens/").status_code == 401
    assert anon.post("/api/display-tokens/", {"name": "Lobby"}, format="json").status_code == 401


@pytest.mark.parametrize("who", ["alice", "carol", "rita"])
def test_only_admins_manage_display_tokens(request, client_for, who, ada):
    client = client_for(request.getfixturevalue(who))
    display = services.display_token_create(actor=ada, name="Lobby").display
    assert client.get("/api/display-tokens/").status_code == 403
    assert client.post("/api/display-tokens/", {"name": "Mine"}, format="json").status_code == 403
    assert client.delete(f"/api/display-tokens/{display.pk}/").status_code == 403
    assert client.post(f"/api/display-tokens/{display.pk}/rotate/").status_code == 403


def test_admin_revokes_a_display_token(client_for, ada):
    issued = services.display_token_create(actor=ada, name="Lobby")
    assert client_for(ada).delete(f"/api/display-tokens/{issued.display.pk}/").status_code == 204
    issued.display.refresh_from_db()
    assert issued.display.revoked_at is not None
    assert client_for(ada).delete("/api/display-tokens/999999/").status_code == 404


def open_display(client, doctor_id, token):
    """The screen is set up as a person would: the token typed into the page's form (a POST
    body), kept in an HttpOnly cookie, never in a URL."""
    posted = client.post(f"/display/?doctor={doctor_id}", {"token": token})
    if posted.status_code != 303:
        return posted
    assert posted["Location"] == f"/display/?doctor={doctor_id}"
    return client.get(posted["Location"])


def _queued(carol, patient, number, status, minutes):
    start = (timezone.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    appointment = factories.appointment_at(doctor=carol, patient=patient, start=start, status=status)
    Appointment.objects.filter(pk=appointment.pk).update(queue_number=number, queue_date=clinic_today())


def test_the_display_page_shows_the_current_queue(anon, ada, carol, alice, bob):
    token = services.display_token_create(actor=ada, name="Lobby").token
    _queued(carol, alice, 7, "in_progress", 5)
    _queued(carol, bob, 8, "checked_in", 35)
    event = publish(
        topic=topics.display_doctor(carol.doctor.pk),
        event="queue.updated",
        data=display_data(carol.doctor.pk, 7, 8),
    )
    response = open_display(anon, carol.doctor.pk, token)
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    html = response.content.decode()
    assert '<div id="now-serving">7</div>' in html
    assert "Alice" not in html and "Bob" not in html
    assert '<div id="next-number">8</div>' in html
    assert f'"last_event_id": {event.pk}' in html
    assert f'"topic": "display.doctor.{carol.doctor.pk}"' in html


def test_the_display_page_without_a_queue_shows_dashes(anon, ada, carol):
    token = services.display_token_create(actor=ada, name="Lobby").token
    html = open_display(anon, carol.doctor.pk, token).content.decode()
    assert '<div id="now-serving">—</div>' in html and '"last_event_id": 0' in html


def test_the_display_page_refuses_bad_tokens_and_doctors(anon, client_for, ada, carol, alice):
    issued = services.display_token_create(actor=ada, name="Lobby")
    api_token = client_for(alice)._credentials["HTTP_AUTHORIZATION"].split()[1]
    for token in ("", "dsp_wrong", api_token):
        assert open_display(Client(), carol.doctor.pk, token).status_code == 403
    screen = Client()
    assert open_display(screen, carol.doctor.pk, issued.token).status_code == 200
    for doctor in ("", "abc", "999999", "1" * 40):
        assert screen.get(f"/display/?doctor={doctor}").status_code == 404
    services.display_token_revoke(actor=ada, display=issued.display)
    assert screen.get(f"/display/?doctor={carol.doctor.pk}").status_code == 403


def test_the_token_never_travels_in_a_url(ada, carol):
    issued = services.display_token_create(actor=ada, name="Lobby")
    screen = Client()
    # An old bookmark with the token in it is refused without looking the token up.
    old = screen.get(f"/display/?doctor={carol.doctor.pk}&token={issued.token}")
    assert old.status_code == 400
    assert issued.token not in old.content.decode()
    # Without a token the page asks for one (a form that posts it in the body).
    form = screen.get(f"/display/?doctor={carol.doctor.pk}")
    assert form.status_code == 200 and 'method="post"' in form.content.decode()
    posted = screen.post(f"/display/?doctor={carol.doctor.pk}", {"token": issued.token})
    assert posted.status_code == 303 and issued.token not in posted["Location"]
    cookie = posted.cookies["clinic_display"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/display/"
    assert screen.get(posted["Location"]).status_code == 200


def test_display_tokens_expire(ada, carol, settings):
    issued = services.display_token_create(actor=ada, name="Lobby")
    expected = timezone.now() + timedelta(days=settings.DISPLAY_TOKEN_TTL_DAYS)
    assert abs(issued.display.expires_at - expected) < timedelta(minutes=1)
    screen = Client()
    assert open_display(screen, carol.doctor.pk, issued.token).status_code == 200
    with time_machine.travel(issued.display.expires_at + timedelta(seconds=1)):
        assert screen.get(f"/display/?doctor={carol.doctor.pk}").status_code == 403
        assert selectors.principal_for_token(issued.token) is None


def test_admin_rotates_a_display_token(client_for, ada, carol):
    issued = services.display_token_create(actor=ada, name="Lobby")
    response = client_for(ada).post(f"/api/display-tokens/{issued.display.pk}/rotate/")
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == issued.display.pk and body["token"].startswith("dsp_") and body["token"] != issued.token
    assert selectors.principal_for_token(issued.token) is None
    assert selectors.principal_for_token(body["token"]).display_token_id == issued.display.pk
    assert open_display(Client(), carol.doctor.pk, body["token"]).status_code == 200
    assert client_for(ada).post("/api/display-tokens/999999/rotate/").status_code == 404
