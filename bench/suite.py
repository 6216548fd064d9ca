"""`make bench`: the floors and the project's benches back to back, one table.

    make bench [BENCH_DATABASE_URL=...] [BENCH_REDIS_URL=...] [FLOOR_REDIS_URL=...]
               [BENCH_ARGS="--servers daphne uvicorn"]

Makes its own PostgreSQL database (created if missing, migrated, filled by
bench/booking.py's `prepare`) and empties its own Redis database, then, for each server:

- the floors of ../shared/bench (see its README): fan-out of a bare ASGI app to the same
  number of sockets, one event at a time and paced; the booking transaction in bare SQL;
- the project on one server process, then on N (default: the number of cores, one process
  per port, clients spread over them as a load balancer would), with the Celery worker
  running: fan-out from a booking request (POST) to the last of N sockets watching that
  doctor, one at a time and at a booking every `--pace-ms`; the booking's own latency in
  that paced run and with nobody watching; the time to connect, authenticate and
  subscribe every socket (a reconnect storm); server memory per subscribed socket;
  bookings/s on distinct slots; concurrent clients racing for one slot; availability
  reads of a doctor-month;
- with `--split`, the fan-out rows once more on N processes of which half serve only the
  sockets and half only REST (a load balancer routing `/ws/` apart);
- the queries one booking makes (through Django's test client, in this process).

`--only availability` and `--only storm` run just that bench beside its floor (the storm:
the fan-out floor's set-up, then each round's sockets connecting, authenticating and
subscribing, with no bookings), a few minutes instead of six or seven per server.

Prints one Markdown table: every figure beside its floor and the ratio. Speed claims are
ratios to a floor taken in the same run: the machine is shared and noisy.
"""

import argparse
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tools import free_port, percentile, raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FLOORS = Path(os.environ.get("BENCH_FLOORS_DIR", ROOT.parent / "shared" / "bench"))

# How each server serves an ASGI app (config.asgi:application, or a floor's) on a port (one process each).
PROJECT_APP = "config.asgi:application"
SERVERS = {
    "daphne": lambda port, app=PROJECT_APP: [BIN / "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), app],
    "uvicorn": lambda port, app=PROJECT_APP: [
        BIN / "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--ws", "websockets", "--lifespan", "off", app,
    ],
    "uvicorn-wsproto": lambda port, app=PROJECT_APP: [
        BIN / "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log", "--ws", "wsproto", "--lifespan", "off", app,
    ],
    "granian": lambda port, app=PROJECT_APP: [
        BIN / "granian", "--interface", "asginl", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--workers", "1", app,
    ],
}  # fmt: skip
# The floor's fan-out app runs under these (fanout_floor.py --server); it has no granian
# mode, so granian is set beside the uvicorn floor.
FLOOR_SERVERS = {"daphne": "daphne", "uvicorn": "uvicorn", "uvicorn-wsproto": "uvicorn", "granian": "uvicorn"}


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (granian serves from a child of the process it starts)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [pid, *(descendant for child in children for descendant in _tree(child))]


def _rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in (member for root in pids for member in _tree(root)):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


# --- processes -----------------------------------------------------------------------------


class Platform:
    """The project's processes for one phase: web servers (one per port) and background ones."""

    def __init__(
        self, kind: str, count: int, env: dict[str, str], profile_dir: Path | None, label: str, split: bool = False
    ) -> None:
        self.kind, self.env, self.profile_dir, self.label = kind, env, profile_dir, label
        self.ports = [free_port() for _ in range(count)]
        # split: the first half of the processes serve the sockets, the rest REST (as a load
        # balancer routing /ws/ apart would); otherwise every process serves both.
        self.split = split and count > 1
        self.servers: list[subprocess.Popen] = []
        self.background: list[subprocess.Popen] = []
        self.profilers: list[subprocess.Popen] = []

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    @property
    def socket_bases(self) -> list[str]:
        return self.bases[: len(self.bases) // 2] if self.split else self.bases

    @property
    def rest_bases(self) -> list[str]:
        return self.bases[len(self.bases) // 2 :] if self.split else self.bases

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    def __enter__(self) -> "Platform":
        try:
            return self._start()
        except BaseException:
            self.__exit__()  # what did start must not outlive the run
            raise

    def _start(self) -> "Platform":
        import httpx

        for command in background_commands():
            self.background.append(subprocess.Popen(command, cwd=ROOT, env=self.env))
        for port in self.ports:
            command = [str(part) for part in SERVERS[self.kind](port) if part]
            self.servers.append(subprocess.Popen(command, cwd=ROOT, env=self.env, preexec_fn=raise_fd_limit))
        deadline = time.time() + 60
        for base in self.bases:
            while True:
                try:
                    if httpx.get(f"{base}/api/health/", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    raise RuntimeError(f"{self.kind} did not answer at {base}")
                time.sleep(0.2)
        if self.profile_dir:
            for server in self.servers:
                out = self.profile_dir / f"{self.label}-{self.kind}-{server.pid}.svg"
                self.profilers.append(
                    subprocess.Popen(
                        [BIN / "py-spy", "record", "--pid", str(server.pid), "--rate", "50", "--output", out],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        return self

    def __exit__(self, *exc: object) -> None:
        for profiler in self.profilers:
            profiler.send_signal(2)
            profiler.wait(60)
        for process in self.servers + self.background:
            process.terminate()
        for process in self.servers + self.background:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def background_commands() -> list[list[str]]:
    """What runs beside the web servers in production, started for every phase."""
    from django.conf import settings

    commands = [[str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "warning", "--concurrency", "1"]]
    if settings.EVENT_RELAY == "listen":
        commands.append([sys.executable, "manage.py", "relay_events"])
    return commands


# --- the project's benches --------------------------------------------------------------------


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
    rss_before = _rss_kib(platform.pids)
    urls = [base.replace("http", "ws", 1) + "/ws/" for base in platform.socket_bases]
    client = subprocess.Popen(
        [sys.executable, ROOT / "bench/ws_client.py", "--urls", *urls,
         "--token", data["staff_token"], "--topic", f"doctor.{doctor}.availability", "--n", str(n)],
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
        "kib_per_socket": (_rss_kib(platform.pids) - rss_before) / max(subscribed, 1),
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
    start = bookings.starts[0]
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/appointments/book/",
            {"doctor": bookings.doctor, "start": start, "patient": bookings.patients[0]},
            content_type="application/json",
        )
    assert response.status_code == 201, response.content
    return len(captured.captured_queries)


# --- the floors -------------------------------------------------------------------------------

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


# --- set-up and the table -----------------------------------------------------------------------


def prepare_database(database_url: str) -> None:
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(*urls: str) -> None:
    import redis

    for url in urls:
        redis.from_url(url).flushdb()


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, project: str, floor: str = "-", ratio: str = "-") -> None:
        self.rows.append((what, project, floor, ratio))
        print(f"  {what}: {project} | floor {floor} | {ratio}", flush=True)

    def markdown(self) -> str:
        lines = ["| What | Project | Floor | Ratio |", "| --- | --- | --- | --- |"]
        lines += [f"| {what} | {project} | {floor} | {ratio} |" for what, project, floor, ratio in self.rows]
        return "\n".join(lines)


def _ms(values: list[float]) -> str:
    return f"{percentile(values, 0.5):,.0f} / {percentile(values, 0.95):,.0f} ms" if values else "none delivered"


def _codes(codes: Counter) -> str:
    return ", ".join(f"{n} x {code}" for code, n in sorted(codes.items(), key=lambda item: str(item[0])))


@contextmanager
def _phase(name: str):
    began = time.time()
    print(f"# {name}", flush=True)
    yield
    print(f"  ({time.time() - began:.0f} s)", flush=True)


def run_server(kind: str, args: argparse.Namespace, env: dict[str, str], data: dict, table: Table) -> None:
    import booking

    floor_env = {**os.environ, "FLOOR_REDIS_URL": args.floor_redis_url}
    floor_server = FLOOR_SERVERS.get(kind)
    n = args.subscribers
    one_floor = paced_floor = None
    if floor_server:
        with _phase(f"floor fan-out, {floor_server}, {n} sockets"):
            one_floor = floor_fanout(floor_server, n, args.events, 0, floor_env)
            paced_floor = floor_fanout(floor_server, n, args.paced_events, args.pace_ms, floor_env)
    watchers = data["doctors"][60:]
    for count, split, label in _rounds(kind, args):
        platform = Platform(kind, count, env, args.profile_dir, f"p{count}{'s' if split else ''}", split)
        with _phase(f"project, {label}"), platform:
            doctor = max(watchers, key=lambda d: len(booking._free_starts(d, 400)))
            bookings = Bookings(data, doctor, data["patient_ids"][100:150])
            alone = paced(bookings, platform.rest_bases, args.paced_events, args.pace_ms)
            alone_ms = [took * 1000 for *_rest, took, _code in alone]
            fan = fanout(platform, data, bookings, args)
            if one_floor and paced_floor:
                table.add(
                    f"Fan-out, {n} sockets, one booking at a time: POST → last socket, p50 / p95 ({label})",
                    _ms(fan["one"]),
                    f"{one_floor['p50']:,.0f} / {one_floor['p95']:,.0f} ms",
                    f"{percentile(fan['one'], 0.95) / one_floor['p95']:.1f}x (p95)",
                )
                table.add(
                    f"Fan-out, {n} sockets, a booking every {args.pace_ms} ms, p50 / p95 ({label})",
                    _ms(fan["paced"]),
                    f"{paced_floor['p50']:,.0f} / {paced_floor['p95']:,.0f} ms",
                    f"{percentile(fan['paced'], 0.95) / paced_floor['p95']:.1f}x (p95)",
                )
                storm_rows(table, fan, one_floor, n, label)
            table.add(
                f"The booking's own latency in the paced run, p50 / p95 ({label})",
                _ms(fan["paced_booking_ms"]),
                f"{_ms(alone_ms)} with nobody watching",
                f"{percentile(fan['paced_booking_ms'], 0.5) / max(percentile(alone_ms, 0.5), 0.1):.1f}x (p50)",
            )
            table.add(
                f"Fan-out delivery ({label})",
                f"{fan['subscribed']} sockets, {fan['delivered']} events to all, {fan['duplicates']} duplicates, "
                f"{fan['out_of_order']} out of order; bookings {_codes(fan['codes'])}",
            )
            if fan["errors"]:
                print(f"  client errors: {fan['errors']}", flush=True)
            if split:
                continue  # throughput and races: the rounds above
            rate = distinct_slots(data, platform.bases, args.bookings, args.threads)
            table.add(
                f"Bookings/s on distinct slots, {args.threads} clients ({label})",
                f"{rate['per_s']:.1f}/s (p50 {rate['p50']:.0f} ms; {_codes(rate['codes'])})",
                "floor_booking",
                "",
            )
            table.add(
                f"{args.racers} clients racing for one slot ({label})",
                _codes(racers(data, platform.bases, args.racers)),
            )
            if count == 1:
                availability_row(kind, platform, args, data, table, label)


def _rounds(kind: str, args: argparse.Namespace) -> list[tuple[int, bool, str]]:
    """(processes, sockets apart from REST, label) of each round of the project."""
    rounds = [(1, False)] + ([(args.processes, False)] if args.processes > 1 else [])
    if args.split and args.processes > 1:
        rounds.append((args.processes, True))
    return [
        (count, split, f"{kind} x {count}" + (", sockets apart from REST" if split else "")) for count, split in rounds
    ]


def storm_rows(table: Table, fan: dict[str, Any], floor: dict[str, float], n: int, label: str) -> None:
    table.add(
        f"Connect, authenticate, subscribe {n} sockets ({label})",
        f"{fan['setup_s']:.1f} s",
        f"{floor['setup']:.1f} s",
        f"{fan['setup_s'] / max(floor['setup'], 0.1):.1f}x",
    )
    table.add(
        f"Server memory per subscribed socket ({label})",
        f"{fan['kib_per_socket']:.0f} KiB",
        f"{floor['kib']:.0f} KiB",
        f"{fan['kib_per_socket'] / max(floor['kib'], 0.1):.2f}x",
    )


def storm_only(kind: str, args: argparse.Namespace, env: dict[str, str], data: dict, table: Table) -> None:
    """The reconnect storm of every round beside its floor, and nothing else (a few minutes, not
    `make bench`'s six or seven per server)."""
    floor_env = {**os.environ, "FLOOR_REDIS_URL": args.floor_redis_url}
    floor_server = FLOOR_SERVERS[kind]
    with _phase(f"floor fan-out, {floor_server}, {args.subscribers} sockets"):
        floor = floor_fanout(floor_server, args.subscribers, args.events, 0, floor_env)
    for count, split, label in _rounds(kind, args):
        platform = Platform(kind, count, env, args.profile_dir, f"p{count}{'s' if split else ''}", split)
        with _phase(f"storm, {label}"), platform:
            fan = storm(platform, data, data["doctors"][60], args)
            storm_rows(table, fan, floor, args.subscribers, label)
            if fan["errors"]:
                print(f"  client errors: {fan['errors']}", flush=True)


def availability_row(
    kind: str, platform: Platform, args: argparse.Namespace, data: dict, table: Table, label: str
) -> None:
    with floor_availability_server(kind, args.database_url) as floor_base:
        read = availability(data, platform.bases[0], floor_base, args.availability_requests)
    project, floor = read["project"], read["floor"]
    table.add(
        f"Availability, one doctor-month, p50 / p99 ({label})",
        f"{percentile(project, 0.5):.1f} / {percentile(project, 0.99):.1f} ms",
        f"{percentile(floor, 0.5):.1f} / {percentile(floor, 0.99):.1f} ms (same SQL and body, no framework)",
        f"{percentile(project, 0.99) / percentile(floor, 0.99):.1f}x (p99)",
    )


def run_all(args: argparse.Namespace, env: dict[str, str], data: dict, table: Table) -> None:
    with _phase("queries per booking"):
        table.add("Queries per booking request", str(queries_per_booking(data)))
    for kind in args.servers:
        run_server(kind, args, env, data, table)
    with _phase("floor booking"):
        floor = floor_booking(args.database_url, 2000, args.threads)
    for index, (what, project, mark, _ratio) in enumerate(table.rows):
        if mark == "floor_booking":
            rate = float(project.split("/s")[0])
            table.rows[index] = (what, project, f"{floor:,.0f}/s (bare SQL)", f"{100 * rate / floor:.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/clinic_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"))
    parser.add_argument("--floor-redis-url", default=os.environ.get("FLOOR_REDIS_URL", "redis://127.0.0.1:6379/11"))
    parser.add_argument("--servers", nargs="+", default=["daphne"], choices=sorted(SERVERS))
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1, help="web processes of the second round")
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--events", type=int, default=20, help="bookings one at a time while the sockets watch")
    parser.add_argument("--paced-events", type=int, default=50, help="bookings of the paced run")
    parser.add_argument("--pace-ms", type=int, default=100)
    parser.add_argument("--bookings", type=int, default=500)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--racers", type=int, default=200)
    parser.add_argument("--availability-requests", type=int, default=200)
    parser.add_argument(
        "--split", action="store_true", help="a third round: half the processes serve sockets, half REST"
    )
    parser.add_argument("--profile-dir", type=Path, help="py-spy flame graphs of every server process go here")
    parser.add_argument("--only", choices=["availability", "storm"], help="just this bench (and its floor), per server")
    args = parser.parse_args()
    raise_fd_limit()
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key",
        "THROTTLE_ENABLED": "false",
        "LOG_LEVEL": "ERROR",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    os.environ.update(env)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    prepare_database(args.database_url)
    flush_redis(args.redis_url, args.floor_redis_url)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import booking

    with _phase("prepare"):
        data = booking.prepare(patients=400)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    table = Table()
    if args.only == "availability":
        for kind in args.servers:
            with (
                _phase(f"availability beside its floor, {kind}"),
                Platform(kind, 1, env, args.profile_dir, "p1") as platform,
            ):
                availability_row(kind, platform, args, data, table, f"{kind} x 1")
    elif args.only == "storm":
        for kind in args.servers:
            storm_only(kind, args, env, data, table)
    else:
        run_all(args, env, data, table)
    load = os.getloadavg()
    print(
        f"\ncommit {commit.strip()}, {os.cpu_count()} cores, "
        f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}, "
        f"{args.subscribers} sockets, {args.processes} processes in the second round\n"
    )
    print(table.markdown())


if __name__ == "__main__":
    main()
