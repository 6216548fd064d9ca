"""Twilio Video through its real SDK, at the HTTP seam (a local stand-in of the Rooms API)."""

from datetime import timedelta

import jwt
import pytest

from tests.assertions import assert_error
from tests.video.helpers import API_KEY_SECRET, API_KEY_SID, CLOSES, START, get_at, video_url, video_visit
from video.models import VideoRoom

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(alice, carol):
    return video_visit(doctor=carol, patient=alice)


def test_the_room_is_made_once_however_often_it_is_asked(client_for, alice, carol, visit, twilio_video):
    bodies = [get_at(START, client_for, user, video_url(visit)).json() for user in (alice, carol, alice)]

    assert {b["provider"] for b in bodies} == {"twilio"}
    assert len({b["room"] for b in bodies}) == 1
    assert len(twilio_video.rooms) == 1
    room = VideoRoom.objects.get()
    assert room.provider == "twilio" and room.provider_sid == twilio_video.rooms[room.name]["sid"]
    # The later grants found the room in progress (Twilio's 53113) and fetched it by name.
    assert ("GET", f"/v1/Rooms/{room.name}") in twilio_video.calls
    assert bodies[0]["join_url"] == f"https://clinic.example.test/video/{visit.pk}/"


def test_a_5xx_is_retried_once(client_for, alice, visit, twilio_video):
    twilio_video.script = [500]
    response = get_at(START, client_for, alice, video_url(visit))
    assert response.status_code == 200, response.json()
    assert twilio_video.creations() == 2 and len(twilio_video.rooms) == 1


def test_two_5xx_are_a_503_and_grant_nothing(client_for, alice, visit, twilio_video):
    twilio_video.script = [503, 502]
    assert_error(get_at(START, client_for, alice, video_url(visit)), 503, "video_unavailable")
    assert twilio_video.creations() == 2 and not twilio_video.rooms


def test_the_access_token_is_short_lived_and_bound_to_the_room_and_the_participant(
    client_for, alice, visit, twilio_video
):
    instant = CLOSES - timedelta(minutes=20)
    body = get_at(instant, client_for, alice, video_url(visit)).json()

    claims = jwt.decode(
        body["access_token"],
        API_KEY_SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims["iss"] == API_KEY_SID and claims["sub"] == "AC" + "0" * 32
    assert claims["grants"] == {"identity": f"patient-{alice.pk}", "video": {"room": body["room"]}}
    # Valid until the window closes (20 minutes here), never longer.
    assert claims["exp"] - int(instant.timestamp()) == 20 * 60
    header = jwt.get_unverified_header(body["access_token"])
    assert header["cty"] == "twilio-fpa;v=1"


def test_the_doctors_identity_is_the_role_and_account(client_for, carol, visit, twilio_video):
    body = get_at(START, client_for, carol, video_url(visit)).json()
    claims = jwt.decode(
        body["access_token"], API_KEY_SECRET, algorithms=["HS256"], options={"verify_exp": False, "verify_nbf": False}
    )
    assert claims["grants"]["identity"] == f"doctor-{carol.pk}"
