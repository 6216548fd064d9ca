"""The project's benches of `make bench` (bench/suite.py), each against the platform's
processes (bench/processes.py): fan-out to watching sockets, the reconnect storm, paced and
distinct-slot bookings, racers for one slot, availability reads, queries per booking.
"""

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from processes import ROOT, Platform, rss_kib
from tools import percentile, raise_fd_limit


class Bookings:
    """Distinct free slots of one doctor, booked by reception for rotating patients."""

    def __init__(self, data: dict[str, Any], doctor: int, patients: list[int]) -> None:
        import booking

        from scheduling.models import ACTIVE_STATUSES, Appointment

        self.data, self.doctor, self.patients = data, doctor, patients
        self.starts = booking._free_starts(doctor, 400)
        # Earlier runs on this database booked these patients with other doctors at the same
        # times: a patient already busy then would be a 409, not a booking.
        self.busy = set(
            Appointment.objects.filter(patient_id__in=patients, status__in=ACTIVE_STATUSES).values_list(
                "patient_id", "start"
            )
        )
        self.used = 0
        self.lock = threading.Lock()
        self.clients = threading.local()

    def _free_patient(self, start: str) -> int:
        instant = datetime.fromisoformat(start)
        for offset in range(len(self.patients)):
            patient = self.patients[(self.used + offset) % len(self.patients)]
            if (patient, instant) not in self.busy:
                self.busy.add((patient, instant))
                return patient
        raise RuntimeError(f"every bench patient is busy at {start}: use a new bench database")

    def post(self, base: str) -> tuple[str, float, float, Any]:
        """Book the next slot: (start, when the POST began, its latency, status code)."""
        import httpx

        with self.lock:
            start = self.starts[self.used]
            patient = self._free_patient(start)
            self.used += 1
        # One kept-alive client per thread and server, as a reception desk's browser keeps
        # its connection: `httpx.post` builds a client (and its TLS context) per call, ~20 ms
        # of the bench's own CPU that the floor's PUBLISH does not pay.
        clients = self.clients.__dict__.setdefault("by_base", {})
        if base not in clients:
            clients[base] = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {self.data['staff_token']}"}, timeout=120
            )
        began = time.time()
        try:
            code: Any = (
                clients[base]
                .post("/api/appointments/book/", json={"doctor": self.doctor, "start": start, "patient": patient})
                .status_code
            )
        except httpx.HTTPError as error:
            code = type(error).__name__
        return start, began, time.time() - began, code


def _same_instant(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def paced(bookings: Bookings, bases: list[str], count: int, pace_ms: int) -> list[tuple[str, float, float, Any]]:
    """`count` bookings, one every `pace_ms` whatever the answers (sustained load)."""
    with ThreadPoolExecutor(max_workers=64) as pool:
        futures = []
        for index in range(count):
            futures.append(pool.submit(bookings.post, bases[index % len(bases)]))
            time.sleep(pace_ms / 1000)
        return [future.result() for future in futures]


def _ws_client(
    platform: Platform, data: dict[str, Any], doctor: int, n: int
) -> tuple[subprocess.Popen, "queue.Queue[str]", dict[str, Any]]:
    """bench/ws_client.py connecting, authenticating and subscribing `n` sockets (spread over
    the socket processes) to `doctor`'s availability: the process, its output lines, and once
    they are all subscribed, the time that took and the servers' memory per socket."""
    rss_before = rss_kib(platform.pids)
    urls = [base.replace("http", "ws", 1) + "/ws/" for base in platform.socket_bases]
    client = subprocess.Popen(
        [sys.executable, ROOT / "bench/ws_client.py", "--urls", *urls,
         f"--token={data['staff_token']}", "--topic", f"doctor.{doctor}.availability", "--n", str(n)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    assert client.stdout is not None
    output = client.stdout

    def read() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    try:
        ready = lines.get(timeout=900).split()
        assert ready[0] == "READY", ready
        subscribed = int(ready[1])
        time.sleep(1)
    except BaseException:
        client.kill()
        raise
    result = {
        "setup_s": float(ready[2]),
        "kib_per_socket": (rss_kib(platform.pids) - rss_before) / max(subscribed, 1),
        "subscribed": f"{subscribed}/{n}",
    }
    return client, lines, result


def _client_report(client: subprocess.Popen, lines: "queue.Queue[str]", done: list[dict]) -> dict:
    """Ends the client's run: its REPORT (duplicates, out of order, errors); DONE lines still
    arriving go to `done`."""
    assert client.stdin is not None
    client.stdin.write("STOP\n")
    client.stdin.flush()
    deadline = time.time() + 60
    while time.time() < deadline:
        line = lines.get(timeout=60)
        if line.startswith("REPORT "):
            return json.loads(line[7:])
        if line.startswith("DONE "):
            done.append(json.loads(line[5:]))
    return {}


def storm(platform: Platform, data: dict[str, Any], doctor: int, args: argparse.Namespace) -> dict[str, Any]:
    """Only the reconnect storm: N sockets connect, authenticate and subscribe, then leave."""
    client, lines, result = _ws_client(platform, data, doctor, args.subscribers)
    try:
        result["errors"] = _client_report(client, lines, []).get("errors")
    finally:
        client.kill()
    return result


def fanout(platform: Platform, data: dict[str, Any], bookings: Bookings, args: argparse.Namespace) -> dict[str, Any]:
    """N sockets (spread over the servers) watch one doctor while bookings of it are made."""
    client, lines, result = _ws_client(platform, data, bookings.doctor, args.subscribers)
    try:
        done: list[dict] = []

        def wait_for(count: int, timeout: float) -> None:
            deadline = time.time() + timeout
            while len(done) < count and time.time() < deadline:
                try:
                    line = lines.get(timeout=max(0.01, deadline - time.time()))
                except queue.Empty:
                    break
                if line.startswith("DONE "):
                    done.append(json.loads(line[5:]))

        one: list[tuple[str, float, float, Any]] = []
        for index in range(args.events):
            one.append(bookings.post(platform.rest_bases[index % len(platform.rest_bases)]))
            wait_for(len(one), 60)
            time.sleep(0.1)
        steady = paced(bookings, platform.rest_bases, args.paced_events, args.pace_ms)
        wait_for(len(one) + len(steady), 120)
        report = _client_report(client, lines, done)
    finally:
        client.kill()

    def latencies(posted: list[tuple[str, float, float, Any]]) -> list[float]:
        out = []
        for start, began, _took, _code in posted:
            last = next((d["last"] for d in done if d["start"] and _same_instant(d["start"], start)), None)
            if last is not None:
                out.append((last - began) * 1000)
        return out

    result["one"] = latencies(one)
    result["paced"] = latencies(steady)
    result["paced_booking_ms"] = [took * 1000 for _s, _b, took, _c in steady]
    result["delivered"] = f"{len(result['one']) + len(result['paced'])}/{len(one) + len(steady)}"
    result["codes"] = Counter(code for *_rest, code in one + steady)
    result["duplicates"], result["out_of_order"] = report.get("duplicates"), report.get("out_of_order")
    result["errors"] = report.get("errors")
    return result


def distinct_slots(data: dict[str, Any], bases: list[str], bookings: int, threads: int) -> dict[str, Any]:
    """Reception books `bookings` distinct slots across 50 doctors from `threads` clients."""
    import booking
    import httpx

    doctors = data["doctors"][:50]
    patients = data["patient_ids"][-len(doctors) :]
    per_doctor = -(-bookings // len(doctors))
    jobs = [
        {"doctor": doctor, "start": start, "patient": patients[column]}
        for column, doctor in enumerate(doctors)
        for start in booking._free_starts(doctor, per_doctor)
    ][:bookings]
    local = threading.local()
    counter = iter(range(10**9))

    def book(body: dict[str, Any]) -> tuple[Any, float]:
        if not hasattr(local, "client"):
            base = bases[next(counter) % len(bases)]
            local.client = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {data['staff_token']}"}, timeout=120
            )
        return booking._timed(lambda: local.client.post("/api/appointments/book/", json=body))

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(book, jobs))
    took = time.perf_counter() - began
    codes = Counter(code for code, _ in results)
    return {"per_s": codes.get(201, 0) / took, "codes": codes, "p50": percentile([t * 1000 for _, t in results], 0.5)}


def racers(data: dict[str, Any], bases: list[str], count: int) -> Counter:
    """`count` patients, each on their own connection, released together on one free slot."""
    import booking
    import httpx

    doctor = data["doctors"][0]
    start = booking._free_starts(doctor, 1)[0]
    # Patients of their own: the fan-out books for 100..149 and the distinct-slot bench for
    # the last 50, and a patient at the open-appointment cap would answer 400, not race.
    tokens = data["patient_tokens"][150 : 150 + count]
    barrier = threading.Barrier(len(tokens))
    codes: list[Any] = [None] * len(tokens)

    def attempt(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        with httpx.Client(base_url=bases[index % len(bases)], headers=headers, timeout=120) as client:
            barrier.wait()
            codes[index] = booking._timed(
                lambda: client.post("/api/appointments/book/", json={"doctor": doctor, "start": start})
            )[0]

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(codes)


def availability_sql_check(data: dict[str, Any], path: str, window: dict[str, str]) -> None:
    """The floor runs the statements the project runs for this read (captured through
    Django's test client, in this process), else the comparison would mean nothing."""
    import availability_floor
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {data['patient_tokens'][0]}")
    client.get(path, window)  # the clinic settings cached, as in the timed reads
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, window).status_code == 200
    project = [availability_floor.shape(query["sql"]) for query in captured.captured_queries]
    floor = [availability_floor.shape(sql) for sql in availability_floor.PATIENT_READ]
    if project != floor:
        raise RuntimeError(f"the availability floor's SQL is not the project's; the project ran:\n{project}")


def availability(data: dict[str, Any], project_base: str, floor_base: str, requests: int) -> dict[str, list[float]]:
    """One doctor-month of availability (~500 slots), doctor after doctor, one client per
    server, the project and its floor (bench/availability_floor.py) in alternating blocks
    so that both see the same machine load. Checks first that both run the same SQL and
    answer the same body."""
    from datetime import timedelta

    import httpx
    from django.utils import timezone

    first = (timezone.now() + timedelta(days=1)).date()
    window = {"from": first.isoformat(), "to": (first + timedelta(days=30)).isoformat()}
    headers = {"Authorization": f"Bearer {data['patient_tokens'][0]}"}
    took: dict[str, list[float]] = {"project": [], "floor": []}
    with (
        httpx.Client(base_url=project_base, headers=headers, timeout=60) as project,
        httpx.Client(base_url=floor_base, headers=headers, timeout=60) as floor,
    ):
        clients = {"project": project, "floor": floor}
        path = f"/api/doctors/{data['doctors'][0]}/availability/"
        availability_sql_check(data, path, window)
        bodies = {name: client.get(path, params=window).raise_for_status().json() for name, client in clients.items()}
        if bodies["project"] != bodies["floor"] or not bodies["project"]["slots"]:
            raise RuntimeError(f"the availability floor answers another body than the project for {path}")
        block = max(1, requests // 10)
        for start in range(0, requests, block):
            # Alternate who goes first, so neither always follows the other's warm caches.
            order = ("floor", "project") if start // block % 2 == 0 else ("project", "floor")
            for name in order:
                for index in range(start, min(start + block, requests)):
                    doctor = data["doctors"][index % 100]
                    began = time.perf_counter()
                    clients[name].get(f"/api/doctors/{doctor}/availability/", params=window).raise_for_status()
                    took[name].append((time.perf_counter() - began) * 1000)
    return took


def queries_per_booking(data: dict[str, Any]) -> int:
    """The queries of one booking request, counted through Django's test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    bookings = Bookings(data, data["doctors"][60], data["patient_ids"][100:150])
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {data['staff_token']}")
    # The second of two bookings: the first fills the process's clinic-settings cache, as
    # every booking but a process's first finds it (tests/scheduling/test_booking_api.py).
    counts = []
    for start in bookings.starts[:2]:
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                "/api/appointments/book/",
                {"doctor": bookings.doctor, "start": start, "patient": bookings._free_patient(start)},
                content_type="application/json",
            )
        assert response.status_code == 201, response.content
        counts.append(len(captured.captured_queries))
    return counts[-1]
