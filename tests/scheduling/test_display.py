"""Display tokens (admin endpoints) and the reception display page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.clock import clinic_today
from core.tokens import hash_token
from realtime import services, topics
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


def test_admin_revokes_a_display_token(client_for, ada):
    issued = services.display_token_create(actor=ada, name="Lobby")
    assert client_for(ada).delete(f"/api/display-tokens/{issued.display.pk}/").status_code == 204
    issued.display.refresh_from_db()
    assert issued.display.revoked_at is not None
    assert client_for(ada).delete("/api/display-tokens/999999/").status_code == 404


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
    response = anon.get(f"/display/?doctor={carol.doctor.pk}&token={token}")
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
    html = anon.get(f"/display/?doctor={carol.doctor.pk}&token={token}").content.decode()
    assert '<div id="now-serving">—</div>' in html and '"last_event_id": 0' in html


def test_the_display_page_refuses_bad_tokens_and_doctors(anon, client_for, ada, carol, alice):
    issued = services.display_token_create(actor=ada, name="Lobby")
    api_token = client_for(alice)._credentials["HTTP_AUTHORIZATION"].split()[1]
    for token in ("", "dsp_wrong", api_token):
        assert anon.get(f"/display/?doctor={carol.doctor.pk}&token={token}").status_code == 403
    for doctor in ("", "abc", "999999", "1" * 40):
        assert anon.get(f"/display/?doctor={doctor}&token={issued.token}").status_code == 404
    services.display_token_revoke(actor=ada, display=issued.display)
    assert anon.get(f"/display/?doctor={carol.doctor.pk}&token={issued.token}").status_code == 403
