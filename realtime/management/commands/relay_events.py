"""`python manage.py relay_events`: the outbox relay (realtime/relay.py), until SIGTERM or SIGINT."""

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from realtime.relay import Relay


class Command(BaseCommand):
    help = "Send committed realtime events to the channel layer as they commit (EVENT_RELAY=listen)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EVENT_RELAY != "listen":
            # `make run` starts the relay whatever the mode; embedded, there is nothing to do.
            self.stdout.write("EVENT_RELAY=inline: each process sends its own events after commit; no relay needed.")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        Relay().run(stop)
