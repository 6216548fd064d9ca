"""GET /api/appointments/{id}/video/ (contract §14): who, when, and what a grant leaves behind."""

from datetime import timedelta

import pytest

from audit.models import AuditLog
from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from realtime.models import Event
from scheduling.serializers import clinic_iso
from tests.assertions import assert_error
from tests.video.helpers import CLOSES, OPENS, START, get_at, video_url, video_visit
from video.models import VideoRoom

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(alice, carol):
    return video_visit(doctor=carol, patient=alice)


# --- The window, under a controlled clock ----------------------------------------------


def test_closed_before_the_window_says_when_it_opens(client_for, alice, visit):
    body = assert_error(
        get_at(OPENS - timedelta(seconds=1), client_for, alice, video_url(visit)), 409, "video_not_open"
    )
    assert body["opens_at"] == clinic_iso(OPENS) and body["closes_at"] == clinic_iso(CLOSES)


def test_open_from_ten_minutes_before_the_start(client_for, alice, visit):
    response = get_at(OPENS, client_for, alice, video_url(visit))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["provider"] == "jitsi"
    assert body["room"].startswith("visit-") and len(body["room"]) >= 38
    assert body["join_url"] == f"https://meet.jit.si/{body['room']}"
    assert "access_token" not in body
    assert body["opens_at"] == clinic_iso(OPENS) and body["closes_at"] == clinic_iso(CLOSES)


def test_open_until_thirty_minutes_after_the_end_then_closed(client_for, carol, visit):
    assert get_at(CLOSES - timedelta(seconds=1), client_for, carol, video_url(visit)).status_code == 200
    assert_error(get_at(CLOSES, client_for, carol, video_url(visit)), 409, "video_not_open")


def test_the_window_is_a_clinic_setting(client_for, alice, visit):
    clinic_setting_set(actor=None, key="video_opens_minutes_before", value=0)
    clear_cache()
    assert_error(get_at(START - timedelta(seconds=1), client_for, alice, video_url(visit)), 409, "video_not_open")
    assert get_at(START, client_for, alice, video_url(visit)).status_code == 200


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
def test_a_cancelled_or_finished_visit_grants_nothing(client_for, alice, carol, status):
    visit = video_visit(doctor=carol, patient=alice, status=status)
    assert_error(get_at(START, client_for, alice, video_url(visit)), 409, "video_not_open")
    assert not VideoRoom.objects.exists()


def test_an_in_person_visit_is_400(client_for, alice, carol):
    from tests import factories

    in_person = factories.appointment_at(doctor=carol, patient=alice, start=START)
    assert_error(get_at(START, client_for, alice, video_url(in_person)), 400, "not_a_video_visit")


# --- Who --------------------------------------------------------------------------------


def test_another_patient_and_another_doctor_get_404(client_for, bob, dave, visit):
    assert_error(get_at(START, client_for, bob, video_url(visit)), 404, "not_found")
    assert_error(get_at(START, client_for, dave, video_url(visit)), 404, "not_found")


def test_staff_and_admin_are_refused(client_for, rita, ada, visit):
    assert_error(get_at(START, client_for, rita, video_url(visit)), 403, "permission_denied")
    assert_error(get_at(START, client_for, ada, video_url(visit)), 403, "permission_denied")


def test_an_outsider_is_401(anon, visit):
    assert anon.get(video_url(visit)).status_code == 401


def test_an_unknown_appointment_is_404(client_for, alice):
    assert_error(get_at(START, client_for, alice, "/api/appointments/999999/video/"), 404, "not_found")


# --- What a grant leaves behind --------------------------------------------------------


def test_every_grant_is_audited(client_for, alice, carol, visit):
    get_at(START, client_for, alice, video_url(visit))
    get_at(START, client_for, alice, video_url(visit))
    get_at(START, client_for, carol, video_url(visit))
    grants = AuditLog.objects.filter(action="video.granted", object_id=str(visit.pk)).order_by("id")
    assert [(g.actor_id, g.details["as"]) for g in grants] == [
        (alice.pk, "patient"),
        (alice.pk, "patient"),
        (carol.pk, "doctor"),
    ]
    assert {g.details["provider"] for g in grants} == {"jitsi"}


def test_refusals_are_not_grants(client_for, alice, bob, visit):
    get_at(OPENS - timedelta(minutes=1), client_for, alice, video_url(visit))
    get_at(START, client_for, bob, video_url(visit))
    assert not AuditLog.objects.filter(action="video.granted").exists()


def test_one_room_for_the_patient_and_the_doctor_however_often_asked(client_for, alice, carol, visit):
    rooms = {get_at(START, client_for, user, video_url(visit)).json()["room"] for user in (alice, carol, alice, carol)}
    assert len(rooms) == 1
    assert VideoRoom.objects.get().name == rooms.pop()


def test_the_doctors_first_grant_tells_the_patient_once(client_for, alice, carol, visit):
    get_at(START, client_for, alice, video_url(visit))
    topic = f"user.{alice.pk}.notifications"
    assert not Event.objects.filter(topic=topic, name="video.doctor_joined").exists()

    get_at(START + timedelta(minutes=1), client_for, carol, video_url(visit))
    get_at(START + timedelta(minutes=2), client_for, carol, video_url(visit))

    event = Event.objects.get(topic=topic, name="video.doctor_joined")
    assert event.data == {
        "appointment": visit.pk,
        "doctor": carol.doctor.pk,
        "joined_at": clinic_iso(START + timedelta(minutes=1)),
    }
