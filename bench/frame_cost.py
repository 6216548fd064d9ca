"""Server CPU per fan-out frame: the project's sockets process beside the floor's bare app.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_frames REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/frame_cost.py [--server daphne|uvicorn|...] [--subscribers 2000] [--events 30]

One server process at a time on a free port: the floor's app (../shared/bench/fanout_floor.py,
which sends each PUBLISHed message to every socket it holds), then the project
(config.asgi). The same client (bench/ws_fanout.py's, one process) opens, authenticates and
subscribes the sockets; then events are published one every `--pace-ms`, slow enough that
each fan-out finishes before the next begins. The server's CPU time (utime + stime from
/proc) over those events, less what it spends idle, divided by the frames the client
received, is the figure: what one more socket on a busy topic costs the process that
serves it, without the latency of a shared machine in the way. The project's events are
published as realtime.publish would after commit (EVENT_RELAY=inline, from this process),
so neither the relay nor a booking request is in the figure.

Prints one line per server: sockets, frames, CPU, µs per frame, ms per event.
"""

import argparse
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from floors import FLOORS
from processes import PROJECT_APP, REST_ONLY, SERVERS
from tools import free_port, raise_fd_limit, wait_for_port  # bench/ is the script's directory
from ws_fanout import PYTHON, ROOT, _setup

TICK = os.sysconf("SC_CLK_TCK")
FLOOR_REDIS_URL = os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/9")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _serve(server: str, app: str, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    """`app` under `server` (bench/processes.py's command for it) on a free port, once it listens."""
    port = free_port()
    command = [str(part) for part in SERVERS[server](port, app)]
    process = subprocess.Popen(command, cwd=cwd, env=env, preexec_fn=raise_fd_limit)
    wait_for_port(port)
    return process, port


def measure(
    label: str, server: subprocess.Popen, port: int, token: str, topic: str, publish: Callable[[int], None], args
) -> None:
    client = subprocess.Popen(
        [PYTHON, str(ROOT / "bench/ws_fanout.py"), "--client", "--url", f"ws://127.0.0.1:{port}/ws/",
         "--origin", f"http://127.0.0.1:{port}", f"--token={token}", "--topic", topic, "--n", str(args.subscribers)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit, cwd=ROOT,
    )  # fmt: skip
    try:
        assert client.stdout is not None and client.stdin is not None
        ready = client.stdout.readline().split()
        assert ready and ready[0] == "READY", ready
        time.sleep(2)
        before = _cpu_seconds(server.pid)
        time.sleep(3)
        idle_per_s = (_cpu_seconds(server.pid) - before) / 3
        client.stdin.write(f"{args.events}\n")
        client.stdin.flush()
        before, began = _cpu_seconds(server.pid), time.time()
        for index in range(args.events):
            publish(index)
            time.sleep(args.pace_ms / 1000)
        report = json.loads(client.stdout.readline())
        used = _cpu_seconds(server.pid) - before - idle_per_s * (time.time() - began)
    finally:
        client.kill()
        server.terminate()
        server.wait(30)
    frames = sum(report["count"].values())
    print(
        f"{label}: {ready[1]} sockets, {frames} frames, {used:.2f} s of server CPU: "
        f"{used / max(frames, 1) * 1e6:.1f} us per frame, {used / args.events * 1000:.1f} ms per event",
        flush=True,
    )


def floor(args) -> None:
    import redis

    server, port = _serve(args.server, "fanout_floor:app", FLOORS, {**os.environ, "FLOOR_REDIS_URL": FLOOR_REDIS_URL})
    publisher = redis.from_url(FLOOR_REDIS_URL)
    data = {"doctor": 1, "start": "2030-01-01T00:00:00+00:00", "end": "2030-01-01T23:59:00+00:00"}

    def publish(index: int) -> None:
        frame = {"type": "event", "id": index + 1, "topic": "floor", "event": "slot.booked", "data": data}
        publisher.publish("floor", json.dumps(frame))

    measure(f"floor ({args.server})", server, port, "any", "floor", publish, args)


def project(args) -> None:
    os.environ["EVENT_RELAY"] = "inline"  # this process sends what it publishes, as after a commit
    token, doctor_id = _setup()
    from django.db import transaction

    from realtime import topics
    from realtime.publish import publish as store_and_send

    topic = topics.doctor_availability(doctor_id)
    env = {**os.environ, "DEBUG": "false", "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "60"}
    server, port = _serve(args.server, PROJECT_APP, ROOT, env)

    def publish(index: int) -> None:
        data = {"doctor": doctor_id, "start": f"2030-01-01T{index % 24:02d}:00:00+00:00", "end": "2030-01-01T23:59Z"}
        with transaction.atomic():
            store_and_send(topic=topic, event="slot.booked", data=data)

    measure(f"project ({args.server})", server, port, token, topic, publish, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", choices=sorted(set(SERVERS) - REST_ONLY), default="daphne")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--pace-ms", type=int, default=300)
    args = parser.parse_args()
    floor(args)
    project(args)


if __name__ == "__main__":
    main()
