from collections.abc import Iterator
from typing import Any

import pytest

from tests.video.helpers import API_KEY_SECRET, API_KEY_SID
from tests.video.standin import VideoStandIn, VideoStandInServer


@pytest.fixture
def twilio_video(settings: Any) -> Iterator[VideoStandIn]:
    """Twilio Video switched on, the SDK's REST calls going to a local stand-in."""
    server = VideoStandInServer()
    state = server.start()
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "twilio-test-token"
    settings.TWILIO_API_KEY_SID = API_KEY_SID
    settings.TWILIO_API_KEY_SECRET = API_KEY_SECRET
    settings.TWILIO_VIDEO_BASE_URL = state.base_url
    settings.TWILIO_VIDEO_ENABLED = True
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    yield state
    server.stop()
