"""The floors of ../shared/bench (see its README) as `make bench` runs them (bench/suite.py):
the same work with no framework, under the same server, for the table's floor column.
"""

import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from processes import ROOT, SERVERS
from tools import free_port, raise_fd_limit

FLOORS = Path(os.environ.get("BENCH_FLOORS_DIR", ROOT.parent / "shared" / "bench"))

# The floor's fan-out app runs under these (fanout_floor.py --server); it has no granian
# mode, so granian is set beside the uvicorn floor.
FLOOR_SERVERS = {"daphne": "daphne", "uvicorn": "uvicorn", "uvicorn-wsproto": "uvicorn", "granian": "uvicorn"}

FLOOR_LINE = re.compile(
    r"p50=(?P<p50>[\d.]+)ms p95=(?P<p95>[\d.]+)ms p99=(?P<p99>[\d.]+)ms "
    r"KiB/conn=(?P<kib>[-\d.]+) setup_s=(?P<setup>[\d.]+)"
)


def floor_fanout(server: str, n: int, events: int, pace_ms: int, env: dict[str, str]) -> dict[str, float]:
    command = [sys.executable, str(FLOORS / "fanout_floor.py"), "--server", server, "--subscribers", str(n),
               "--events", str(events), "--pace-ms", str(pace_ms)]  # fmt: skip
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, preexec_fn=raise_fd_limit)
    match = FLOOR_LINE.search(out.stdout)
    if match is None:
        raise RuntimeError(f"fanout floor said: {out.stdout}{out.stderr}")
    return {key: float(value) for key, value in match.groupdict().items()}


@contextmanager
def floor_availability_server(kind: str, database_url: str):
    """bench/availability_floor.py served by the same server as the project, on a free port."""
    import httpx

    port = free_port()
    command = [str(part) for part in SERVERS[kind](port, "availability_floor:app") if part]
    env = {**os.environ, "FLOOR_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT / "bench")}
    server = subprocess.Popen(command, cwd=ROOT / "bench", env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(f"{base}/", timeout=2)
                break
            except httpx.HTTPError:
                if time.time() > deadline:
                    raise RuntimeError(f"the availability floor did not answer under {kind}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def floor_booking(database_url: str, bookings: int, threads: int) -> float:
    command = [sys.executable, str(FLOORS / "booking_floor.py"), database_url, "--bookings", str(bookings),
               "--threads", str(threads)]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=900)
    match = re.search(r"= (\d+)/s", out.stdout)
    if match is None:
        raise RuntimeError(f"booking floor said: {out.stdout}{out.stderr}")
    return float(match.group(1))
