from collections.abc import Iterator

import pytest

from clinic.registry import clear_cache
from tests.video.standin import VideoStandIn, VideoStandInServer

API_KEY_SID = "SK" + "1" * 32
API_KEY_SECRET = "video-api-key-secret-of-32-bytes-at-least"


@pytest.fixture(autouse=True)
def _fresh_clinic_settings() -> Iterator[None]:
    # Clinic settings are cached per process for a few seconds; each test starts clean.
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def twilio_video(settings: object) -> Iterator[VideoStandIn]:
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
