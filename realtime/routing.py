from channels.security.websocket import WebsocketDenier
from django.urls import path, re_path

from realtime.consumers import RealtimeConsumer

websocket_urlpatterns = [
    path("ws/", RealtimeConsumer.as_asgi()),
    # Any other websocket path is refused at the handshake (403), not left to raise.
    re_path(r"^", WebsocketDenier.as_asgi()),
]
