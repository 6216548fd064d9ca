"""FHIR facade and series benchmark against a running server (docs/benchmarks.md, "FHIR and series").

    .venv/bin/python bench/fhir_bench.py http://127.0.0.1:8000 [--requests 100]

Uses the demo clinic (`populate_db_master`, default 60-day horizon) and its accounts,
over HTTP with `httpx`, one client, request after request:

  (a) one doctor-month of slots: REST availability (`?from=&to=`, 31 days) beside the FHIR
      Slot search of the same window (the same rows, built as R4 models): p50 / p99;
  (b) one appointment: REST detail beside FHIR read (both audited);
  (c) a 8-week series booked by reception beside the same 8 occurrences booked one by
      one, on two doctors with the same free hours.
There is no floor for these in ../shared/bench/: (a) and (b) print REST beside FHIR, and
(c) a series beside the single bookings it replaces.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

import httpx

PASSWORD = "ClinicDemo-2026!"  # noqa: S105 - the demo clinic's published password (README)


def _token(client: httpx.Client, email: str) -> str:
    response = client.post("/api/auth/login/", json={"email": email, "password": PASSWORD})
    response.raise_for_status()
    return response.json()["token"]


def _timed(requests: int, call: Callable[[], httpx.Response]) -> list[float]:
    latencies = []
    for _ in range(requests):
        started = time.perf_counter()
        response = call()
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 300, response.text[:300]
    return latencies


def _line(name: str, latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{name}: p50={statistics.median(ordered):.1f} ms  p99={p99:.1f} ms  (n={len(ordered)})"


def _free_weekly_starts(client: httpx.Client, doctor: int, first: date) -> list[str]:
    """Starts of 8 weekly occurrences (within the 60-day horizon) at an hour every week has free."""
    days = [first + timedelta(weeks=n) for n in range(8)]
    free: set[str] | None = None
    for day in days:
        slots = client.get(f"/api/doctors/{doctor}/availability/", params={"date": day.isoformat()}).json()["slots"]
        times = {s["start"][11:] for s in slots if s["available"]}
        free = times if free is None else free & times
    wall = sorted(free or [])[0]
    return [f"{day.isoformat()}T{wall}" for day in days]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    with httpx.Client(base_url=args.base, timeout=30) as client:
        staff = {"Authorization": f"Bearer {_token(client, 'reception@clinic.example')}"}
        client.headers.update(staff)
        first = date.today() + timedelta(days=1)
        last = first + timedelta(days=30)
        rest = _timed(
            args.requests,
            lambda: client.get(
                "/api/doctors/1/availability/", params={"from": first.isoformat(), "to": last.isoformat()}
            ),
        )
        fhir = _timed(
            args.requests,
            lambda: client.get(
                "/fhir/R4/Slot", params=[("schedule", "Schedule/1"), ("start", f"ge{first}"), ("start", f"lt{last}")]
            ),
        )
        size = client.get(
            "/api/doctors/1/availability/", params={"from": first.isoformat(), "to": last.isoformat()}
        ).json()["slots"]
        print(f"(a) {len(size)} slots per response")
        print(_line("(a) REST availability, 31 days", rest))
        print(_line("(a) FHIR Slot search, 31 days ", fhir))

        patients = client.get("/api/appointments/list/").json()
        appointment = patients["results"][0]["id"] if patients["results"] else None
        if appointment is not None:
            print(
                _line(
                    "(b) REST appointment detail",
                    _timed(args.requests, lambda: client.get(f"/api/appointments/{appointment}/")),
                )
            )
            print(
                _line(
                    "(b) FHIR Appointment read  ",
                    _timed(args.requests, lambda: client.get(f"/fhir/R4/Appointment/{appointment}")),
                )
            )

        weeks = first + timedelta(days=7 - first.weekday())  # next Monday
        series_starts = _free_weekly_starts(client, 2, weeks)
        single_starts = _free_weekly_starts(client, 3, weeks)
        started = time.perf_counter()
        response = client.post(
            "/api/appointments/series/",
            json={"doctor": 2, "start": series_starts[0], "every": "week", "count": 8, "patient": 5},
        )
        series_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 201, response.text[:300]
        started = time.perf_counter()
        for start in single_starts:
            booked = client.post("/api/appointments/book/", json={"doctor": 3, "start": start, "patient": 6})
            assert booked.status_code == 201, booked.text[:300]
        singles_ms = (time.perf_counter() - started) * 1000
        print(f"(c) 8-occurrence series: {series_ms:.0f} ms in one request; 8 single bookings: {singles_ms:.0f} ms")


if __name__ == "__main__":
    main()
