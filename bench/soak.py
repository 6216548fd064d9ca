"""Soak: mixed traffic against two web processes for a while (docs/reliability.md, "Soak").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_soak SECRET_KEY=x \
        .venv/bin/python bench/soak.py --minutes 10

Starts its own redis-server, two daphne processes on free ports and the outbox relay
(`manage.py relay_events`), as production runs, on DATABASE_URL (which it migrates);
prepares a doctor with hours and patients with tokens, then for the given time runs
bookings and cancellations, reads (availability, appointment lists) and churning
websockets (connect, auth, subscribe with resume, read, close), spread over both
processes. One watcher socket follows the doctor's availability topic the whole time,
resuming after a drop. Every 30 s it samples each web process's and the relay's memory
(RSS), open file descriptors and sockets, and the database's connections; at the end it
compares the events the watcher received with those stored: lost and duplicated.
"""

import argparse
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import time as wall
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect
from websockets.typing import Origin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["REDIS_URL"] = ""  # this process only prepares data; the servers get their own Redis

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from tools import free_port, wait_for_port  # noqa: E402  (bench/ is the script's directory)

from accounts import services as accounts  # noqa: E402
from accounts.models import User  # noqa: E402
from clinic.services import clinic_setting_set  # noqa: E402
from core.roles import Role  # noqa: E402
from realtime import topics  # noqa: E402
from realtime.models import Event  # noqa: E402
from scheduling import services as scheduling  # noqa: E402
from scheduling.models import AvailabilityRule, Slot, SlotStatus  # noqa: E402

SOAK_PASSWORD = "Soak-Pass-2026!"  # noqa: S105 (a bench account on a bench database)


def prepare(patients: int) -> tuple[int, list[str]]:
    clinic_setting_set(actor=None, key="booking_horizon_days", value=14)
    clinic_setting_set(actor=None, key="min_notice_minutes", value=0)
    doctor = User.objects.filter(email="soak-doctor@example.test").first()
    if doctor is None:
        doctor = accounts.doctor_register(
            email="soak-doctor@example.test", password=SOAK_PASSWORD, first_name="Soak", last_name="Doctor",
            specialization="GP", qualifications="MD", experience_years=5,
        )  # fmt: skip
        doctor.doctor.is_approved = True
        doctor.doctor.save(update_fields=["is_approved"])
    if not AvailabilityRule.objects.filter(doctor=doctor.doctor).exists():
        for weekday in range(7):
            scheduling.rule_create(
                actor=doctor, doctor=doctor.doctor, weekday=weekday, start_time=wall(0), end_time=wall(23, 45),
                slot_minutes=15,
            )  # fmt: skip
    tokens = []
    for index in range(patients):
        email = f"soak-patient{index}@example.test"
        user = User.objects.filter(email=email).first() or accounts.user_create(
            actor=None, email=email, password=None, role=Role.PATIENT, first_name="Soak"
        )
        tokens.append(accounts.token_issue(user=user).token)
    return doctor.doctor.pk, tokens


def sample(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
    fds = list(Path(f"/proc/{pid}/fd").iterdir())
    sockets = 0
    for fd in fds:
        with contextlib.suppress(OSError):  # closed between the listing and the look
            sockets += os.readlink(fd).startswith("socket:")
    return {"rss_kb": rss, "fds": len(fds), "sockets": sockets}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--patients", type=int, default=20)
    args = parser.parse_args()
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, capture_output=True)
    assert migrated.returncode == 0, migrated.stderr.decode()[-2000:]
    doctor_id, tokens = prepare(args.patients)
    topic = topics.doctor_availability(doctor_id)
    baseline = Event.objects.filter(topic=topic).order_by("-id").values_list("id", flat=True).first() or 0

    workdir = Path(tempfile.mkdtemp(prefix="clinic-soak-"))
    redis_port = free_port()
    processes = [
        subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                          "--dir", str(workdir)], stdout=subprocess.DEVNULL)
    ]  # fmt: skip
    wait_for_port(redis_port)
    # EVENT_RELAY=listen, production's default with PostgreSQL and Redis: the web processes
    # only commit, and the relay process started below sends every event to the sockets.
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "THROTTLE_ENABLED": "false",
           "CELERY_TASK_ALWAYS_EAGER": "true", "LOG_LEVEL": "WARNING", "DEBUG": "false",
           "EVENT_RELAY": "listen"}  # fmt: skip
    hosts, webs = [], []
    for _ in range(2):
        port = free_port()
        web = subprocess.Popen(
            [str(Path(sys.executable).parent / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p", str(port),
             "config.asgi:application"],
            cwd=ROOT, env=env, stdout=(workdir / f"web-{port}.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(web)
        webs.append(web)
        hosts.append(f"127.0.0.1:{port}")
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "relay_events"],
        cwd=ROOT, env=env, stdout=(workdir / "relay.log").open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    processes.append(relay)
    for host in hosts:
        wait_for_port(int(host.split(":")[1]))

    stop = threading.Event()
    counts: Counter = Counter()
    lock = threading.Lock()
    received: list[int] = []

    def count(key: str, n: int = 1) -> None:
        with lock:
            counts[key] += n

    def request(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = client.request(method, url, timeout=30, **kwargs)
        except httpx.HTTPError:
            count("transport_errors")
            return None
        count("requests")
        if response.status_code >= 500:
            count("5xx")
        return response

    def booker(token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers) as client:
            while not stop.is_set():
                host = random.choice(hosts)
                free = list(
                    Slot.objects.filter(doctor_id=doctor_id, status=SlotStatus.FREE, start__gt=timezone.now()
                                        + timedelta(hours=1)).values_list("start", flat=True)[:50]
                )  # fmt: skip
                if not free:
                    time.sleep(0.5)
                    continue
                booked = request(client, "POST", f"http://{host}/api/appointments/book/",
                                 json={"doctor": doctor_id, "start": random.choice(free).isoformat()})  # fmt: skip
                if booked is not None and booked.status_code == 201:
                    count("bookings")
                    appointment = booked.json()["id"]
                    cancelled = request(
                        client, "DELETE", f"http://{random.choice(hosts)}/api/appointments/{appointment}/cancel/"
                    )
                    if cancelled is not None and cancelled.status_code == 200:
                        count("cancellations")
                elif booked is not None and booked.status_code == 409:
                    count("conflicts")

    def reader(token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers) as client:
            while not stop.is_set():
                host = random.choice(hosts)
                day = (timezone.now() + timedelta(days=random.randrange(0, 7))).date().isoformat()
                request(client, "GET", f"http://{host}/api/doctors/{doctor_id}/availability/", params={"date": day})
                request(client, "GET", f"http://{host}/api/appointments/list/")

    def churner(token: str) -> None:
        while not stop.is_set():
            host = random.choice(hosts)
            try:
                with connect(f"ws://{host}/ws/", origin=Origin(f"http://{host}"), open_timeout=10) as ws:
                    ws.send(json.dumps({"action": "auth", "token": token}))
                    json.loads(ws.recv(timeout=10))
                    ws.send(json.dumps({"action": "subscribe", "topic": topic, "last_event_id": baseline}))
                    deadline = time.monotonic() + random.uniform(0.5, 3)
                    while time.monotonic() < deadline:
                        with contextlib.suppress(TimeoutError):
                            ws.recv(timeout=0.5)
                count("socket_sessions")
            except Exception:
                count("socket_errors")

    # The watcher outlives the traffic: it stops only once everything sent has been drained.
    drained = threading.Event()

    def watcher(token: str) -> None:
        last = baseline
        while not drained.is_set():
            host = hosts[1]
            try:
                with connect(f"ws://{host}/ws/", origin=Origin(f"http://{host}"), open_timeout=10) as ws:
                    ws.send(json.dumps({"action": "auth", "token": token}))
                    json.loads(ws.recv(timeout=10))
                    ws.send(json.dumps({"action": "subscribe", "topic": topic, "last_event_id": last}))
                    while not drained.is_set():
                        try:
                            message = json.loads(ws.recv(timeout=1))
                        except TimeoutError:
                            continue
                        if message.get("type") == "event":
                            received.append(message["id"])
                            last = max(last, message["id"])
            except Exception:
                count("watcher_reconnects")
                time.sleep(0.5)

    threads = [threading.Thread(target=watcher, args=(tokens[0],))]
    threads += [threading.Thread(target=booker, args=(t,)) for t in tokens[1:5]]
    threads += [threading.Thread(target=reader, args=(t,)) for t in tokens[5:9]]
    threads += [threading.Thread(target=churner, args=(t,)) for t in tokens[9:13]]
    for thread in threads:
        thread.start()
    samples = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < args.minutes * 60:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                db_connections = cursor.fetchone()[0]
            samples.append({"t": round(time.monotonic() - started), "db": db_connections,
                            "webs": [sample(web.pid) for web in webs], "relay": sample(relay.pid),
                            **dict(counts)})  # fmt: skip
            print(json.dumps(samples[-1]), flush=True)
            time.sleep(30)
    finally:
        stop.set()
        for thread in threads[1:]:
            thread.join(60)
        stored = list(Event.objects.filter(topic=topic, id__gt=baseline).values_list("id", flat=True))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not set(stored) <= set(received):
            time.sleep(0.5)
        drained.set()
        threads[0].join(30)
        stored = list(Event.objects.filter(topic=topic, id__gt=baseline).order_by("id").values_list("id", flat=True))
        print(json.dumps({
            "minutes": args.minutes, **dict(counts),
            "events_stored": len(stored), "events_received": len(received),
            "events_lost": len(set(stored) - set(received)), "duplicates": len(received) - len(set(received)),
            "relay_running": relay.poll() is None,
            "first_sample": samples[0] if samples else None, "last_sample": samples[-1] if samples else None,
        }), flush=True)  # fmt: skip
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


if __name__ == "__main__":
    main()
