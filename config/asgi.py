"""The ASGI entry point: `daphne config.asgi:application` serves HTTP and `/ws/`."""

import atexit
import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from config.backends import log_backends  # noqa: E402
from config.serving import tune_twisted  # noqa: E402
from core.asgi import ThreadedASGIHandler  # noqa: E402
from observability import exposition, heartbeat  # noqa: E402
from realtime.routing import ClinicOriginValidator, websocket_urlpatterns  # noqa: E402

tune_twisted()
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
