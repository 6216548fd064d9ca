"""Booking benchmark against a running server (docs/benchmarks.md, section "Booking").

    DATABASE_URL=postgres://...  SECRET_KEY=x  .venv/bin/python bench/booking.py http://127.0.0.1:8000

The server must use the same DATABASE_URL and run with THROTTLE_ENABLED=false. The
script prepares its data straight in that database (idempotent: 100 bench doctors with
hours every day, 60 days of slots, bench patients and tokens), then measures over HTTP:

  (a) 100 concurrent attempts on one slot: successes, 409s, 5xx, p50/p99 latency;
  (b) bookings per second on distinct slots across 50 doctors;
  (c) availability latency for one doctor-month, with 100 doctors x 60 days of slots loaded.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from datetime import time as wall  # noqa: E402

from django.utils import timezone  # noqa: E402
from tools import percentile  # noqa: E402  (bench/ is the script's directory)

from accounts import services as accounts  # noqa: E402
from accounts.models import Doctor, Patient, User  # noqa: E402
from clinic.services import clinic_setting_set  # noqa: E402
from core.roles import Role  # noqa: E402
from scheduling import services as scheduling  # noqa: E402
from scheduling.models import AvailabilityRule, Slot, SlotStatus  # noqa: E402

DOCTORS = 100
HORIZON_DAYS = 60


def _user(email: str, role: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = accounts.user_create(actor=None, email=email, password=None, role=role, first_name="Bench")
    return user


def prepare(patients: int) -> dict[str, Any]:
    """The bench clinic: doctors with slots every day up to the horizon, patients, tokens."""
    clinic_setting_set(actor=None, key="booking_horizon_days", value=HORIZON_DAYS)
    started = time.perf_counter()
    doctors: list[Doctor] = []
    for index in range(DOCTORS):
        user = _user(f"bench-doctor-{index:03d}@bench.example", Role.DOCTOR)
        doctor = accounts.doctor_approve(actor=None, doctor=Doctor.objects.get(user=user))
        if not AvailabilityRule.objects.filter(doctor=doctor).exists():
            # Bench set-up writes the rules in bulk; the slots come from the real service.
            AvailabilityRule.objects.bulk_create(
                AvailabilityRule(doctor=doctor, weekday=day, start_time=wall(9), end_time=wall(17), slot_minutes=30)
                for day in range(7)
            )
        scheduling.slots_regenerate(doctor=doctor)
        doctors.append(doctor)
    people = [_user(f"bench-patient-{index:04d}@bench.example", Role.PATIENT) for index in range(patients)]
    staff = _user("bench-staff@bench.example", Role.STAFF)
    data = {
        "doctors": [d.pk for d in doctors],
        "patient_tokens": [accounts.token_issue(user=u).token for u in people],
        "patient_ids": list(Patient.objects.filter(user__in=people).order_by("user_id").values_list("pk", flat=True)),
        "staff_token": accounts.token_issue(user=staff).token,
        "slots": Slot.objects.filter(doctor_id__in=[d.pk for d in doctors]).count(),
    }
    took = time.perf_counter() - started
    print(f"prepared {DOCTORS} doctors, {data['slots']} slots, {patients} patients in {took:.1f}s")
    return data


def _free_starts(doctor_id: int, count: int) -> list[str]:
    # Two days ahead: clear of the minimum notice whatever the hour.
    after = timezone.now() + timedelta(days=2)
    starts = Slot.objects.filter(doctor_id=doctor_id, status=SlotStatus.FREE, start__gte=after).order_by("start")
    return [s.isoformat() for s in starts.values_list("start", flat=True)[:count]]


def _report(name: str, latencies: list[float], codes: Counter) -> None:
    ms = [v * 1000 for v in latencies]
    fives = sum(n for code, n in codes.items() if isinstance(code, int) and code >= 500)
    print(
        f"{name}: {dict(codes)}  5xx={fives}  p50={percentile(ms, 0.5):.1f} ms  "
        f"p99={percentile(ms, 0.99):.1f} ms  max={max(ms):.1f} ms"
    )


def _timed(call: Callable[[], httpx.Response]) -> tuple[Any, float]:
    started = time.perf_counter()
    try:
        code: Any = call().status_code
    except httpx.HTTPError as exc:
        code = type(exc).__name__
    return code, time.perf_counter() - started


def bench_one_slot(base: str, data: dict[str, Any], attempts: int) -> None:
    """(a) `attempts` patients, each on their own connection, all at once on one slot."""
    doctor = data["doctors"][0]
    start = _free_starts(doctor, 1)[0]
    barrier = threading.Barrier(attempts)
    results: list[tuple[Any, float]] = [("not run", 0.0)] * attempts

    def attempt(index: int) -> None:
        headers = {"Authorization": f"Bearer {data['patient_tokens'][index]}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            barrier.wait()
            results[index] = _timed(
                lambda: client.post("/api/appointments/book/", json={"doctor": doctor, "start": start})
            )

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _report(f"(a) {attempts} concurrent attempts on one slot", [t for _, t in results], Counter(c for c, _ in results))


def bench_distinct_slots(base: str, data: dict[str, Any], bookings: int, threads: int) -> None:
    """(b) Reception books `bookings` distinct slots across 50 doctors from `threads` clients."""
    doctors = data["doctors"][:50]
    per_doctor = -(-bookings // len(doctors))
    # Patient k books only doctor k, so no patient is ever asked to be in two places.
    patients = data["patient_ids"][-len(doctors) :]
    jobs = []
    for column, doctor in enumerate(doctors):
        for start in _free_starts(doctor, per_doctor):
            jobs.append({"doctor": doctor, "start": start, "patient": patients[column]})
    jobs = jobs[:bookings]
    local = threading.local()

    def book(body: dict[str, Any]) -> tuple[Any, float]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {data['staff_token']}"}, timeout=60
            )
        return _timed(lambda: local.client.post("/api/appointments/book/", json=body))

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(book, jobs))
    elapsed = time.perf_counter() - started
    codes = Counter(c for c, _ in results)
    name = f"(b) {len(jobs)} bookings on distinct slots, 50 doctors, {threads} clients"
    _report(name, [t for _, t in results], codes)
    print(f"(b) throughput: {codes.get(201, 0) / elapsed:.1f} bookings/s ({elapsed:.1f}s)")


def bench_availability(base: str, data: dict[str, Any], requests: int) -> None:
    """(c) One doctor-month of availability, doctor after doctor, one client."""
    first = (timezone.now() + timedelta(days=1)).date()
    window = {"from": first.isoformat(), "to": (first + timedelta(days=30)).isoformat()}
    headers = {"Authorization": f"Bearer {data['patient_tokens'][0]}"}
    latencies: list[float] = []
    codes: Counter = Counter()
    sizes: list[int] = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for index in range(requests):
            doctor = data["doctors"][index % len(data["doctors"])]
            started = time.perf_counter()
            response = client.get(f"/api/doctors/{doctor}/availability/", params=window)
            latencies.append(time.perf_counter() - started)
            codes[response.status_code] += 1
            if response.status_code == 200:
                sizes.append(len(response.json()["slots"]))
    _report(f"(c) {requests} availability reads of one doctor-month", latencies, codes)
    print(f"(c) slots per response: {statistics.median(sizes) if sizes else 0:.0f}; {data['slots']} slots loaded")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="the running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--attempts", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--availability-requests", type=int, default=200)
    args = parser.parse_args()
    base = args.url.rstrip("/")
    data = prepare(patients=args.attempts + 50)
    httpx.get(f"{base}/api/health/", timeout=10).raise_for_status()
    bench_one_slot(base, data, args.attempts)
    bench_distinct_slots(base, data, args.bookings, args.threads)
    bench_availability(base, data, args.availability_requests)


if __name__ == "__main__":
    main()
