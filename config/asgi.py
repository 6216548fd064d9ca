"""The ASGI entry point: `daphne config.asgi:application` serves HTTP and `/ws/`."""

import atexit
import gc
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from config.backends import log_backends  # noqa: E402
from core.asgi import ThreadedASGIHandler  # noqa: E402
from observability import exposition, heartbeat  # noqa: E402
from realtime.routing import ClinicOriginValidator, websocket_urlpatterns  # noqa: E402

# Connections the kernel queues for daphne to accept. Twisted's default is 50: a burst of
# 200 clients at once (everyone after the slot that opens at 8:00) overflowed it and the
# kernel dropped connections, which clients see as no answer at all. Daphne builds its
# listening endpoint after importing this module, so `daphne config.asgi:application`
# (contract §10) gets this default; an explicit `-e tcp:...:backlog=N` still wins. The
# kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024


def _listen_backlog(pending: int) -> None:
    if "twisted" not in sys.modules:  # another server (uvicorn, granian) has its own
        return
    from twisted.internet import endpoints

    endpoints._parseTCP.__defaults__ = ("", pending)  # (interface, backlog)


def _uncoloured_autobahn_logs() -> None:
    # Autobahn (daphne's websocket protocol) builds the arguments of its debug log lines
    # before its logger drops them, and colours each with click when click is installed (it
    # is: Celery's command line). For every frame sent that was ~7 % of a sockets process's
    # fan-out CPU (py-spy, docs/benchmarks.md); uncoloured, the same lines cost an f-string.
    if "twisted" not in sys.modules:
        return
    import autobahn.util

    autobahn.util._HAS_CLICK = False


_listen_backlog(LISTEN_BACKLOG)
_uncoloured_autobahn_logs()
log_backends("web")
heartbeat.start("web", "serving")
# A clean stop takes this process's open-socket gauges out of the deployment's sum.
atexit.register(exposition.process_exit)

application = ProtocolTypeRouter(
    {
        # Sync views in one trip to a thread each (core.asgi), not Django's four or more.
        "http": ThreadedASGIHandler(threads=settings.HTTP_THREADS),
        # Browsers send an Origin; only our own hosts and the listed portals may open the socket.
        "websocket": ClinicOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

# What is loaded by now lives as long as the process: Django, the apps, their models and, once
# imported here rather than by the first request, the URLconf and every view. Frozen, the
# collector's full passes skip it: they took up to ~80 ms of whichever request they landed in,
# now ~5 ms (gc.callbacks timings under the availability bench, docs/benchmarks.md).
get_resolver().url_patterns  # noqa: B018
gc.collect()
gc.freeze()
