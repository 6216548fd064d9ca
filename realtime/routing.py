from urllib.parse import ParseResult

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.urls import path, re_path

from realtime.consumers import RealtimeConsumer

websocket_urlpatterns = [
    path("ws/", RealtimeConsumer.as_asgi()),
    # Any other websocket path is refused at the handshake (403), not left to raise.
    re_path(r"^", WebsocketDenier.as_asgi()),
]


class ClinicOriginValidator(OriginValidator):
    """Browsers send an Origin: only pages of our own hosts (ALLOWED_HOSTS) and the portals
    of CORS_ALLOWED_ORIGINS may open the socket, the same allowlist as the REST API's."""

    def __init__(self, application: object) -> None:
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        # Read per handshake, so a settings change (or a test's override) applies at once.
        self.allowed_origins = [*settings.ALLOWED_HOSTS, *settings.CORS_ALLOWED_ORIGINS]
        return super().valid_origin(parsed_origin)
