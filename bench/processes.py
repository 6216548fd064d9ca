"""The project's processes for `make bench` (bench/suite.py): the web servers, one per port,
and what runs beside them, and the memory they hold.

No Django at import: suite.py sets it up after making its database.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools import free_port, raise_fd_limit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Profiling:
    """py-spy on every process of a phase (servers, the worker and its children, the relay), written to `directory`.

    A flame graph (SVG) each by default; with `raw`, the collapsed stacks of the threads
    that hold the GIL (`--gil --format raw`, one text line a stack with its sample count),
    which tell where the Python CPU goes rather than where threads wait, and can be summed.
    """

    directory: Path
    raw: bool = False

    def command(self, pid: int, name: str) -> list[str]:
        out = self.directory / f"{name}.{'txt' if self.raw else 'svg'}"
        formats = ["--gil", "--format", "raw"] if self.raw else []
        return [
            str(BIN / "py-spy"), "record", "--pid", str(pid), "--rate", "50", "--subprocesses", *formats,
            "--output", str(out),
        ]  # fmt: skip


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
    # REST only (WSGI has no websockets, and the floors are ASGI apps): `--only bookings`.
    "granian-wsgi": lambda port, app="config.wsgi:application": [
        BIN / "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning", "--no-access-log", "--workers", "1", "--blocking-threads", "8", app,
    ],
}  # fmt: skip
REST_ONLY = {"granian-wsgi"}


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (granian serves from a child of the process it starts)."""
    children: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return [pid, *(descendant for child in children for descendant in _tree(child))]


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in (member for root in pids for member in _tree(root)):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class Platform:
    """The project's processes for one phase: web servers (one per port) and background ones."""

    def __init__(
        self,
        kind: str,
        count: int,
        env: dict[str, str],
        profiling: Profiling | None,
        label: str,
        split: bool = False,
        without: frozenset[str] = frozenset(),
    ) -> None:
        self.kind, self.env, self.profiling, self.label = kind, env, profiling, label
        # Background processes not started (`--without`): what they cost, by their absence.
        self.without = without
        self.ports = [free_port() for _ in range(count)]
        # split: the first half of the processes serve the sockets, the rest REST (as a load
        # balancer routing /ws/ apart would); otherwise every process serves both.
        self.split = split and count > 1
        self.servers: list[subprocess.Popen] = []
        self.background: dict[str, subprocess.Popen] = {}
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

        for name, command in background_commands().items():
            if name in self.without:
                continue
            self.background[name] = subprocess.Popen(command, cwd=ROOT, env=self.env)
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
        if self.profiling:
            named = [(server, self.kind) for server in self.servers]
            named += [(process, name) for name, process in self.background.items()]
            for process, name in named:
                command = self.profiling.command(process.pid, f"{self.label}-{name}-{process.pid}")
                self.profilers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return self

    def __exit__(self, *exc: object) -> None:
        for profiler in self.profilers:
            profiler.send_signal(2)
            profiler.wait(60)
        for process in [*self.servers, *self.background.values()]:
            process.terminate()
        for process in [*self.servers, *self.background.values()]:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    def settle(self, timeout: float = 300.0) -> float:
        """Wait until the worker and the relay have nothing left to do, then until every
        process of the platform is quiet; the seconds the backlog took to drain.

        The worker's notifications and the relay's events of a booking run after its
        response, so a burst of bookings leaves a backlog; and a worker just started is
        still importing Django for a few seconds after the servers answer. A floor measured
        meanwhile would compete with it (and flatter the ratio), and how long the backlog
        takes tells whether the background keeps up with the web. Only the work of the
        background processes that run (`--without` leaves some out) is waited for.
        """
        import redis
        from django.conf import settings

        from realtime.models import Event

        broker = redis.from_url(settings.CELERY_BROKER_URL)
        began = time.monotonic()
        drained: float | None = None
        while time.monotonic() - began < timeout:
            if drained is None:
                # kombu's Redis transport: the queue's list, and the hash of taken, unacked tasks.
                tasks = broker.llen("celery") + broker.hlen("unacked") if "worker" in self.background else 0
                events = Event.objects.filter(sent_at__isnull=True).count() if "relay" in self.background else 0
                if not tasks and not events:
                    drained = time.monotonic() - began
            if drained is not None and self._quiet():
                return drained
            time.sleep(0.1)
        raise RuntimeError(f"the worker or the relay did not settle within {timeout:.0f} s")

    def _quiet(self, window: float = 0.5, share: float = 0.1) -> bool:
        """Whether the platform's processes together used under `share` of a core for `window` seconds."""
        pids = [process.pid for process in [*self.servers, *self.background.values()]]
        before = cpu_seconds(pids)
        time.sleep(window)
        return cpu_seconds(pids) - before < share * window


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time of `pids` and their descendants (/proc), in seconds."""
    ticks = 0
    for pid in (member for root in pids for member in _tree(root)):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a child that just ended
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def background_commands() -> dict[str, list[str]]:
    """What runs beside the web servers in production, started for every phase, by name."""
    from django.conf import settings

    worker = [str(BIN / "celery"), "-A", "config", "worker", "--loglevel", "warning", "--concurrency", "1"]
    commands = {"worker": worker}
    if settings.EVENT_RELAY == "listen":
        commands["relay"] = [sys.executable, "manage.py", "relay_events"]
    return commands
