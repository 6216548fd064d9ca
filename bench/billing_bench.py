"""Billing under contention: invoice numbers and idempotent charges. Prints numbers; asserts nothing timed.

Run against a scratch PostgreSQL database (it migrates it and adds rows):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/clinic_bench SECRET_KEY=x \\
        .venv/bin/python bench/billing_bench.py --appointments 200 --threads 8
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from billing import services  # noqa: E402
from billing.models import Invoice, Payment  # noqa: E402
from tests import factories  # noqa: E402


def timed_in_threads(work: list, threads: int) -> tuple[list[float], float]:
    """Run the callables in `work` on `threads` threads; per-call latencies and wall time."""
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(work)

    def worker() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    call = queue.pop()
                started = time.perf_counter()
                call()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
        finally:
            connection.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return latencies, time.perf_counter() - started


def report(name: str, latencies: list[float], wall: float) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name}: {len(ordered)} calls in {wall:.2f}s = {len(ordered) / wall:.0f}/s; "
        f"p50 {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:8]
    staff = factories.StaffFactory(email=f"bench-staff-{run}@example.test")
    doctor = factories.DoctorFactory(email=f"bench-doctor-{run}@example.test")
    patient = factories.PatientFactory(email=f"bench-patient-{run}@example.test")
    base = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=int(run, 16) % 5000)
    appointments = [
        factories.appointment_at(doctor=doctor, patient=patient, start=base + timedelta(hours=i), status="completed")
        for i in range(args.appointments)
    ]

    generate = [
        lambda a=appointment: services.invoice_generate(actor=staff, appointment_id=a.pk)
        for appointment in appointments
    ]
    latencies, wall = timed_in_threads(generate, args.threads)
    report(f"invoice_generate, {args.threads} threads", latencies, wall)
    numbers = sorted(
        Invoice.objects.filter(appointment__in=appointments).values_list("year", "sequence").order_by("sequence")
    )
    sequences = [sequence for _, sequence in numbers]
    gapless = sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    print(f"  {len(sequences)} invoices, numbers {sequences[0]}..{sequences[-1]}, consecutive: {gapless}")

    # Every appointment is charged by `threads` racing requests with one key each.
    charges = [
        lambda a=appointment: services.payment_charge(
            actor=staff, appointment_id=a.pk, method="cash", idempotency_key=f"bench-{run}-{a.pk}"
        )
        for appointment in appointments
        for _ in range(args.threads)
    ]
    latencies, wall = timed_in_threads(charges, args.threads)
    report(f"payment_charge, {args.threads} racing per key", latencies, wall)
    payments = Payment.objects.filter(appointment__in=appointments).count()
    print(f"  {len(charges)} requests, {payments} payments for {len(appointments)} appointments")


if __name__ == "__main__":
    main()
