"""Websocket fan-out: one topic, many subscribers, RedisChannelLayer vs RedisPubSubChannelLayer.

For each combination of channel layer (core, pubsub), server (daphne, uvicorn) and
subscriber count (1,000, 2,000), this starts one server process on a free port, opens the
subscribers from a separate client process, then publishes through realtime.publish:

- latency: events one at a time (every 100 ms); for each, the delay from publish() to the
  moment the last subscriber has it; p50 / p95 / p99;
- throughput: a burst published as fast as possible; events per second until every
  subscriber has every event (and deliveries per second = events/s x subscribers);
- memory: the server's resident memory growth per connection once all are subscribed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench REDIS_URL=redis://127.0.0.1:6379/3 \
        .venv/bin/python bench/ws_fanout.py [--subscribers 1000 2000] [--layers core pubsub] \
        [--servers daphne uvicorn] [--events 20] [--burst 10]

It migrates DATABASE_URL and creates one staff user and one doctor there. Prints a
Markdown table (the one in docs/benchmarks.md).
"""

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tools import free_port, percentile, raise_fd_limit, wait_for_port  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BENCH_PASSWORD = "Bench-Password-1"  # noqa: S105 (a throwaway account in the benchmark database)


# --- the client process ------------------------------------------------------------------


async def _subscriber(url: str, origin: str, token: str, topic: str, got: dict) -> None:
    import websockets
    from websockets.typing import Origin

    for _attempt in range(5):
        try:
            async with websockets.connect(
                url, origin=Origin(origin), max_queue=None, open_timeout=60, ping_interval=None
            ) as ws:
                await ws.send(json.dumps({"action": "auth", "token": token}))
                await ws.recv()
                await ws.send(json.dumps({"action": "subscribe", "topic": topic}))
                answer = json.loads(await ws.recv())
                assert answer["type"] == "subscribed", answer
                got["subscribed"] += 1
                seen: set[int] = set()
                async for frame in ws:
                    now = time.time()
                    message = json.loads(frame)
                    if message.get("type") == "event":
                        if message["id"] in seen:
                            got["duplicates"] += 1
                            continue
                        seen.add(message["id"])
                        got["last"][message["id"]] = now
                        got["count"][message["id"]] = got["count"].get(message["id"], 0) + 1
                return
        except (TimeoutError, OSError, websockets.WebSocketException) as error:
            got["errors"].append(repr(error))
            await asyncio.sleep(0.5)


async def _client(args: argparse.Namespace) -> None:
    got: dict = {"subscribed": 0, "last": {}, "count": {}, "errors": [], "duplicates": 0}
    tasks: list[asyncio.Task[Any]] = []
    deadline = time.time() + 300
    for start in range(0, args.n, 50):
        end = min(start + 50, args.n)
        tasks.extend(
            asyncio.ensure_future(_subscriber(args.url, args.origin, args.token, args.topic, got))
            for _ in range(start, end)
        )
        while got["subscribed"] < end and time.time() < deadline:
            await asyncio.sleep(0.02)
    print("READY", got["subscribed"], flush=True)
    # The parent says how many events to wait for, then waits for our report.
    expected = int(await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline))
    deadline = time.time() + 120
    while time.time() < deadline:
        complete = sum(1 for c in got["count"].values() if c >= got["subscribed"])
        if complete >= expected:
            break
        await asyncio.sleep(0.05)
    report = {"last": got["last"], "count": got["count"], "errors": got["errors"][:5], "duplicates": got["duplicates"]}
    print(json.dumps(report), flush=True)
    for task in tasks:
        task.cancel()


# --- the parent ------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _server(kind: str, port: int, env: dict) -> subprocess.Popen:
    if kind == "daphne":
        command = [
            str(ROOT / ".venv/bin/daphne"),
            "-v",
            "0",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "config.asgi:application",
        ]
    else:
        command = [
            str(ROOT / ".venv/bin/uvicorn"),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--ws-max-queue", "10000", "config.asgi:application",
        ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=raise_fd_limit)
    try:
        wait_for_port(port, timeout=30)
    except RuntimeError:
        server.kill()
        raise
    return server


def _run(layer: str, server_kind: str, n: int, events: int, burst: int, token: str, doctor_id: int) -> dict:
    from django.conf import settings
    from django.db import transaction

    from realtime import topics
    from realtime.publish import publish

    settings.CHANNEL_LAYERS["default"]["BACKEND"] = {
        "core": "channels_redis.core.RedisChannelLayer",
        "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    }[layer]
    from channels.layers import channel_layers

    channel_layers.backends.clear()

    port = free_port()
    # Persistent database connections: the consumer's few queries (auth, subscribe) should
    # not each pay for a new PostgreSQL connection while thousands of sockets open.
    env = {
        **os.environ,
        "REALTIME_CHANNEL_LAYER": layer,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
    }
    server = _server(server_kind, port, env)
    topic = topics.doctor_availability(doctor_id)
    client = subprocess.Popen(
        [PYTHON, __file__, "--client", "--url", f"ws://127.0.0.1:{port}/ws/", "--origin", f"http://127.0.0.1:{port}",
         f"--token={token}", "--topic", topic, "--n", str(n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit,
    )  # fmt: skip
    try:
        rss_before = _rss_kib(server.pid)
        assert client.stdout is not None and client.stdin is not None
        ready = client.stdout.readline().split()
        assert ready and ready[0] == "READY", ready
        subscribed = int(ready[1])
        time.sleep(1)
        rss_after = _rss_kib(server.pid)
        client.stdin.write(f"{events + burst}\n")
        client.stdin.flush()
        published: dict[int, float] = {}

        def one(minutes: int) -> None:
            start = time.time()
            with transaction.atomic():
                event = publish(
                    topic=topic,
                    event="slot.booked",
                    data={"doctor": doctor_id, "start": f"2030-01-01T{minutes % 24:02d}:00:00+00:00",
                          "end": "2030-01-01T23:59:00+00:00"},
                )  # fmt: skip
            published[event.pk] = start

        for i in range(events):
            one(i)
            time.sleep(0.1)
        burst_start = time.time()
        burst_ids_from = max(published) if published else 0
        for i in range(burst):
            one(i)
        publish_elapsed = time.time() - burst_start
        report = json.loads(client.stdout.readline())
    finally:
        client.kill()
        server.terminate()
        server.wait(30)
    last = {int(k): v for k, v in report["last"].items()}
    count = {int(k): v for k, v in report["count"].items()}
    latency_ids = [eid for eid in published if eid <= burst_ids_from]
    complete = [eid for eid in latency_ids if count.get(eid, 0) >= subscribed]
    delays = [(last[eid] - published[eid]) * 1000 for eid in complete]
    burst_ids = [eid for eid in published if eid > burst_ids_from]
    burst_done = all(count.get(eid, 0) >= subscribed for eid in burst_ids)
    burst_elapsed = max(last.get(eid, 0) for eid in burst_ids) - burst_start if burst_ids else 0
    return {
        "layer": layer,
        "server": server_kind,
        "subscribers": f"{subscribed}/{n}",
        "delivered": f"{len(complete)}/{len(latency_ids)}"
        + ("" if len(complete) == len(latency_ids) else f" (fewest {min(count.get(e, 0) for e in latency_ids)})")
        + (f", {report['duplicates']} duplicates" if report["duplicates"] else ", no duplicate"),
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": percentile(delays, 0.95) if delays else float("nan"),
        "p99": percentile(delays, 0.99) if delays else float("nan"),
        "events_per_s": (burst / burst_elapsed) if burst_done and burst_elapsed > 0 else float("nan"),
        "publish_per_s": burst / publish_elapsed if publish_elapsed > 0 else float("nan"),
        "kib_per_conn": (rss_after - rss_before) / max(subscribed, 1),
        "errors": report["errors"],
    }


def _setup() -> tuple[str, int]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("THROTTLE_ENABLED", "false")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command

    from accounts import services
    from accounts.models import Role, User

    call_command("migrate", verbosity=0)
    staff = User.objects.filter(email="bench-staff@example.test").first() or services.user_create(
        actor=None, email="bench-staff@example.test", password=BENCH_PASSWORD, first_name="B",
        last_name="S", role=Role.STAFF,
    )  # fmt: skip
    doctor = User.objects.filter(email="bench-doctor@example.test").first() or services.doctor_register(
        email="bench-doctor@example.test", password=BENCH_PASSWORD, first_name="B", last_name="D",
        specialization="GP", qualifications="MD", experience_years=1,
    )  # fmt: skip
    return services.token_issue(user=staff).token, doctor.doctor.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url")
    parser.add_argument("--origin")
    parser.add_argument("--token")
    parser.add_argument("--topic")
    parser.add_argument("--n", type=int)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--layers", nargs="+", default=["core", "pubsub"])
    parser.add_argument("--servers", nargs="+", default=["daphne", "uvicorn"])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--burst", type=int, default=10)
    args = parser.parse_args()
    raise_fd_limit()
    # Stopped from outside (timeout, kill): unwind so the finally blocks stop the server.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    if args.client:
        asyncio.run(_client(args))
        return
    if not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL"):
        sys.exit("set DATABASE_URL (PostgreSQL) and REDIS_URL")
    token, doctor_id = _setup()
    print(
        "| layer | server | subscribers | delivered | p50 ms | p95 ms | p99 ms | events/s (burst) "
        "| publish() calls/s | KiB/conn |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n in args.subscribers:
        for layer in args.layers:
            for server_kind in args.servers:
                r = _run(layer, server_kind, n, args.events, args.burst, token, doctor_id)
                print(
                    f"| {r['layer']} | {r['server']} | {r['subscribers']} | {r['delivered']} | {r['p50']:.0f} | "
                    f"{r['p95']:.0f} | {r['p99']:.0f} | {r['events_per_s']:.1f} | {r['publish_per_s']:.1f} | "
                    f"{r['kib_per_conn']:.1f} |",
                    flush=True,
                )
                if r["errors"]:
                    print(f"<!-- client errors: {r['errors']} -->", flush=True)


if __name__ == "__main__":
    main()
