"""What config/asgi.py sets up for daphne (contract §10's `daphne config.asgi:application`).

It listens with room for a burst of new connections: Twisted's default backlog of 50 made
the kernel drop connections when 200 clients arrived at once (the racers of `make bench`,
bench/project.py, saw ReadError, no answer at all). And autobahn's debug lines, dropped
anyway, are no longer coloured for every frame sent."""

import shutil
import subprocess
from pathlib import Path

import pytest

from config.asgi import LISTEN_BACKLOG


@pytest.mark.django_db(transaction=True)
def test_daphne_started_as_the_contract_says_listens_with_a_large_backlog(daphne_server):
    if shutil.which("ss") is None:
        pytest.skip("iproute2's ss is not installed")
    port = daphne_server().rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
    # State, Recv-Q (waiting to be accepted), Send-Q (the backlog), local address, peer.
    backlog = int(listening.stdout.split()[2])
    assert backlog >= min(LISTEN_BACKLOG, int(Path("/proc/sys/net/core/somaxconn").read_text())) > 50


def test_under_daphne_autobahn_formats_its_unused_debug_lines_without_colour():
    import twisted  # noqa: F401 (what daphne has loaded when it imports the application)
    from autobahn import util

    from config import asgi

    asgi._uncoloured_autobahn_logs()
    assert util.hlval(42) == "42"
    assert util.hltype(asgi._uncoloured_autobahn_logs) == "<config.asgi._uncoloured_autobahn_logs>"
