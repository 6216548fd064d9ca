"""`manage.py health`: the state of every web, worker and beat process, from their heartbeats.

`--kind beat` (or worker, web) checks this host only and exits 1 when it has no live process
of that kind: the container health check of the beat and the worker.
"""

import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from observability import heartbeat


class Command(BaseCommand):
    help = "List the heartbeats of web, worker and beat processes; --kind checks this host's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=heartbeat.KINDS, help="Exit 1 unless this host runs a live one.")

    def handle(self, *args: object, kind: str | None = None, **options: object) -> None:
        if not settings.REDIS_URL:
            raise CommandError("No REDIS_URL: one process, no heartbeats to read.")
        try:
            beats = heartbeat.read_all()
        except Exception as exc:
            raise CommandError(f"Redis does not answer: {exc}") from exc
        now = time.time()
        if kind is not None:
            mine = [beat for beat in beats if beat.kind == kind and beat.host == socket.gethostname()]
            if not mine:
                raise CommandError(f"no live {kind} process on {socket.gethostname()}")
            for beat in mine:
                self.stdout.write(f"{beat.kind} {beat.process} {beat.state} {now - beat.at:.0f}s ago")
            return
        if not beats:
            self.stdout.write("no live processes")
        for beat in sorted(beats, key=lambda b: (b.kind, b.process)):
            self.stdout.write(f"{beat.kind:<7} {beat.process:<32} {beat.state:<11} {now - beat.at:.0f}s ago")
