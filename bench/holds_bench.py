"""Holds and waitlist benchmark against a running server (docs/benchmarks.md, "Holds and the waitlist").

    DATABASE_URL=postgres://...  SECRET_KEY=x  .venv/bin/python bench/holds_bench.py http://127.0.0.1:8000

The server must use the same DATABASE_URL, run with THROTTLE_ENABLED=false, and make
offers: a Celery worker (`celery -A config worker`) on the server's Redis, or
CELERY_TASK_ALWAYS_EAGER=true in the server's environment. The script prepares its data
straight in that database (idempotent: 20 bench doctors with 30-minute slots every day,
220 patients, a reception account, tokens) and ends every hold and waitlist entry it left
from an earlier run. Then it measures:

  (a) holds/s: 16 clients hold 1,000 distinct free slots over HTTP, patient after patient
      (each new hold replaces that patient's previous one), beside the floor: the same
      hold transaction in bare SQL from 16 threads with psycopg (after
      ../shared/bench/booking_floor.py, which does the same for a booking);
  (b) 50 patients holding one slot at once: 201 / 409 / 5xx;
  (c) offer latency: a waiting patient's socket is subscribed to its notifications;
      reception cancels the booked slot the patient waits for; the time from sending the
      cancel to the offer's `notification.created` on that socket, beside the cancel
      request's own response time.
"""

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from websockets.sync.client import connect
from websockets.typing import Origin

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from datetime import time as wall  # noqa: E402

from booking import _user  # noqa: E402  (bench/ is the script's directory)
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from tools import percentile  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import Doctor  # noqa: E402
from clinic.clock import clinic_timezone  # noqa: E402
from core.roles import Role  # noqa: E402
from scheduling import services as scheduling  # noqa: E402
from scheduling.models import AvailabilityRule, Slot, SlotStatus  # noqa: E402

DOCTORS = 20
PATIENTS = 220


def _reset() -> None:
    """End what an earlier run left: holds, waitlist entries and the bench bookings."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE waitlist_offer SET status = 'withdrawn', ended_at = now() WHERE status = 'open';"
            "UPDATE waitlist_waitlistentry SET status = 'cancelled' WHERE status IN ('waiting', 'offered');"
            "UPDATE scheduling_hold SET status = 'released', slot_status = NULL, ended_at = now() "
            "WHERE status = 'active';"
        )


def prepare() -> dict[str, Any]:
    started = time.perf_counter()
    _reset()
    doctors: list[Doctor] = []
    for index in range(DOCTORS):
        user = _user(f"bench-holds-doctor-{index:02d}@bench.example", Role.DOCTOR)
        doctor = accounts.doctor_approve(actor=None, doctor=Doctor.objects.get(user=user))
        if not AvailabilityRule.objects.filter(doctor=doctor).exists():
            # Bench set-up writes the rules in bulk; the slots come from the real service.
            AvailabilityRule.objects.bulk_create(
                AvailabilityRule(doctor=doctor, weekday=day, start_time=wall(9), end_time=wall(17), slot_minutes=30)
                for day in range(7)
            )
        scheduling.slots_regenerate(doctor=doctor)
        doctors.append(doctor)
    people = [_user(f"bench-holds-patient-{index:03d}@bench.example", Role.PATIENT) for index in range(PATIENTS)]
    desk = _user("bench-holds-desk@bench.example", Role.STAFF)
    data = {
        "doctors": [d.pk for d in doctors],
        "users": [u.pk for u in people],
        "patients": [u.patient.pk for u in people],
        "tokens": [accounts.token_issue(user=u).token for u in people],
        "desk_token": accounts.token_issue(user=desk).token,
    }
    print(f"prepared {DOCTORS} doctors and {PATIENTS} patients in {time.perf_counter() - started:.1f}s")
    return data


def _free(doctor_ids: list[int], count: int) -> list[tuple[int, Any, Any, int]]:
    """(doctor, start, end, slot id) of free, unheld slots two days ahead and later, spread over doctors."""
    after = timezone.now() + timedelta(days=2)
    per_doctor = -(-count // len(doctor_ids))
    found = []
    for doctor in doctor_ids:
        rows = (
            Slot.objects.filter(doctor_id=doctor, status=SlotStatus.FREE, start__gte=after)
            .exclude(holds__status="active")
            .order_by("start")
            .values_list("doctor_id", "start", "end", "pk")[:per_doctor]
        )
        found.append(list(rows))
    interleaved = [row for rows in zip(*found, strict=False) for row in rows]
    return interleaved[:count]


def _ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 0.5) * 1000:.1f} ms, p99 {percentile(values, 0.99) * 1000:.1f} ms"


# --- (a) holds per second, and its floor -------------------------------------------------

FLOOR_HOLD = [
    "SELECT id FROM accounts_patient WHERE id = %(patient)s FOR UPDATE",
    'SELECT id, status, start, "end" FROM scheduling_slot WHERE id = %(slot)s FOR UPDATE',
    "SELECT id, expires_at FROM scheduling_hold WHERE slot_id = %(slot)s AND status = 'active' FOR UPDATE",
    "SELECT 1 FROM scheduling_appointment WHERE patient_id = %(patient)s AND status IN ('booked','checked_in',"
    "'in_progress') AND start < %(end)s AND \"end\" > %(start)s LIMIT 1",
    "UPDATE scheduling_hold SET status = 'released', slot_status = NULL, ended_at = now() "
    "WHERE patient_id = %(patient)s AND status = 'active'",
    'INSERT INTO scheduling_hold (start, "end", expires_at, status, slot_status, created_at, doctor_id, patient_id, '
    "slot_id) VALUES (%(start)s, %(end)s, now() + interval '5 minutes', 'active', 'free', now(), %(doctor)s, "
    "%(patient)s, %(slot)s)",
    "INSERT INTO audit_auditlog (action, object_type, object_id, ip, user_agent, at, details, actor_id) "
    "VALUES ('hold.created', 'hold', 'x', NULL, '', now(), '{}'::jsonb, NULL)",
    "SELECT pg_advisory_xact_lock(hashtext('doctor.' || %(doctor)s))",
    "SELECT id FROM realtime_event WHERE topic = %(topic)s ORDER BY id DESC LIMIT 1",
    "INSERT INTO realtime_event (topic, name, data, occurred_at, prev_id) "
    "VALUES (%(topic)s, 'slot.held', '{}'::jsonb, now(), NULL)",
]


def _jobs(data: dict[str, Any], count: int) -> list[dict[str, Any]]:
    slots = _free(data["doctors"][:-1], count)
    return [
        {"doctor": doctor, "start": start, "end": end, "slot": slot, "index": i % (PATIENTS - 70)}
        for i, (doctor, start, end, slot) in enumerate(slots)
    ]


def _lanes(jobs: list[dict[str, Any]], threads: int) -> list[list[dict[str, Any]]]:
    # One patient's holds stay in one lane, in order: a patient holds one slot at a time.
    lanes: list[list[dict[str, Any]]] = [[] for _ in range(threads)]
    for job in jobs:
        lanes[job["index"] % threads].append(job)
    return lanes


def floor_holds(data: dict[str, Any], count: int, threads: int) -> float:
    url = settings.DATABASES["default"]
    dsn = f"host={url['HOST'] or '127.0.0.1'} port={url['PORT'] or 5432} dbname={url['NAME']} user={url['USER']}"
    if url.get("PASSWORD"):
        dsn += f" password={url['PASSWORD']}"
    lanes = _lanes(_jobs(data, count), threads)

    def run(lane: list[dict[str, Any]]) -> int:
        done = 0
        with psycopg.connect(dsn) as conn:
            for job in lane:
                params = {
                    **job,
                    "patient": data["patients"][job["index"]],
                    "topic": f"doctor.{job['doctor']}.availability",
                }
                with conn.transaction():
                    for statement in FLOOR_HOLD:
                        conn.execute(statement, params)
                done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        done = sum(pool.map(run, lanes))
    elapsed = time.perf_counter() - started
    _reset()
    return done / elapsed


def bench_holds(base: str, data: dict[str, Any], count: int, threads: int) -> tuple[float, Counter, list[float]]:
    lanes = _lanes(_jobs(data, count), threads)
    codes: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()

    def run(lane: list[dict[str, Any]]) -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            for job in lane:
                body = {"doctor": job["doctor"], "start": job["start"].isoformat()}
                headers = {"Authorization": f"Bearer {data['tokens'][job['index']]}"}
                started = time.perf_counter()
                try:
                    code: Any = client.post("/api/holds/", json=body, headers=headers).status_code
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                with lock:
                    latencies.append(time.perf_counter() - started)
                    codes[code] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, lanes))
    elapsed = time.perf_counter() - started
    _reset()
    return codes.get(201, 0) / elapsed, codes, latencies


# --- (b) fifty patients, one slot -----------------------------------------------------------


def bench_one_slot(base: str, data: dict[str, Any], attempts: int) -> tuple[Counter, list[float]]:
    doctor, start, _end, _slot = _free([data["doctors"][-1]], 1)[0]
    barrier = threading.Barrier(attempts)
    results: list[tuple[Any, float]] = [("not run", 0.0)] * attempts

    def attempt(index: int) -> None:
        headers = {"Authorization": f"Bearer {data['tokens'][index]}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            barrier.wait()
            began = time.perf_counter()
            try:
                code: Any = client.post("/api/holds/", json={"doctor": doctor, "start": start.isoformat()}).status_code
            except httpx.HTTPError as exc:
                code = type(exc).__name__
            results[index] = (code, time.perf_counter() - began)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _reset()
    return Counter(code for code, _ in results), [t for _, t in results]


# --- (c) cancel → offer on the waiting patient's socket ---------------------------------------


def _socket(base: str, token: str, user_id: int) -> Any:
    ws = connect(base.replace("http", "ws", 1) + "/ws/", origin=Origin("http://127.0.0.1"), open_timeout=30)
    ws.send(json.dumps({"action": "auth", "token": token}))
    assert json.loads(ws.recv(timeout=30))["type"] == "authenticated"
    ws.send(json.dumps({"action": "subscribe", "topic": f"user.{user_id}.notifications"}))
    assert json.loads(ws.recv(timeout=30))["type"] == "subscribed"
    return ws


def _await_offer(ws: Any, timeout: float = 60) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.1, deadline - time.perf_counter())))
        if message.get("event") == "notification.created" and message["data"]["kind"] == "waitlist_offer":
            return time.perf_counter()


def bench_offers(base: str, data: dict[str, Any], rounds: int) -> tuple[list[float], list[float], Counter]:
    doctor = data["doctors"][-1]
    tz = clinic_timezone()
    desk = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {data['desk_token']}"}, timeout=60)
    offers: list[float] = []
    cancels: list[float] = []
    codes: Counter = Counter()
    for number, (_doctor, start, end, _slot) in enumerate(_free([doctor], rounds)):
        booker, waiter = PATIENTS - 70 + number % 35, PATIENTS - 35 + number % 35
        booked = desk.post(
            "/api/appointments/book/",
            json={"doctor": doctor, "start": start.isoformat(), "patient": data["patients"][booker]},
        )
        codes[f"book {booked.status_code}"] += 1
        local_start, local_end = start.astimezone(tz), end.astimezone(tz)
        waiting = httpx.post(
            f"{base}/api/waitlist/",
            headers={"Authorization": f"Bearer {data['tokens'][waiter]}"},
            json={
                "doctor": doctor,
                "from": local_start.date().isoformat(),
                "to": local_start.date().isoformat(),
                "earliest_time": f"{local_start:%H:%M}",
                "latest_time": f"{local_end:%H:%M}",
            },
            timeout=60,
        )
        codes[f"join {waiting.status_code}"] += 1
        if booked.status_code != 201 or waiting.status_code != 201:
            continue
        with _socket(base, data["tokens"][waiter], data["users"][waiter]) as ws:
            began = time.perf_counter()
            cancelled = desk.delete(f"/api/appointments/{booked.json()['id']}/cancel/")
            cancels.append(time.perf_counter() - began)
            codes[f"cancel {cancelled.status_code}"] += 1
            try:
                offers.append(_await_offer(ws) - began)
                codes["offer received"] += 1
            except TimeoutError:
                codes["offer missing"] += 1
        httpx.delete(
            f"{base}/api/waitlist/{waiting.json()['id']}/",
            headers={"Authorization": f"Bearer {data['tokens'][waiter]}"},
            timeout=60,
        )
    desk.close()
    _reset()
    return offers, cancels, codes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--holds", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--attempts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    data = prepare()

    floor = floor_holds(data, args.holds, args.threads)
    rate, codes, latencies = bench_holds(base, data, args.holds, args.threads)
    print(
        f"(a) {args.holds} holds, {args.threads} clients: {rate:.1f} holds/s ({dict(codes)}; {_ms(latencies)}); "
        f"floor (bare SQL, {args.threads} threads): {floor:.1f} holds/s; ratio {rate / floor:.3f}"
    )
    race, race_latencies = bench_one_slot(base, data, args.attempts)
    print(f"(b) {args.attempts} patients holding one slot: {dict(race)}; {_ms(race_latencies)}")
    offers, cancels, offer_codes = bench_offers(base, data, args.rounds)
    print(
        f"(c) cancel -> offer on the waiting patient's socket, {len(offers)} of {args.rounds} rounds: {_ms(offers)}; "
        f"the cancel's own response: {_ms(cancels)} ({dict(offer_codes)})"
    )


if __name__ == "__main__":
    main()
