"""A real run for the dashboard's picture: processes, load, Prometheus, then the panels.

    DATABASE_URL=postgres://.../clinic_dashboard REDIS_URL=redis://127.0.0.1:6379/N SECRET_KEY=x \\
        .venv/bin/python bench/dashboard_run.py --seconds 240 --out docs/dashboard.png

Starts, on free ports of this machine: two daphne web processes behind Debian's nginx
(deploy/nginx/clinic.conf), a Celery worker and a beat (tests/observability/cluster.py, the
harness of the deployment test), and Debian's Prometheus scraping /metrics every 2 s. Then
it drives traffic through the proxy: bookings on free slots, bookings of taken slots (409),
cancellations, availability reads, websockets that come and go; halfway through it kills one
web process. At the end every panel of deploy/grafana/dashboards/clinic.json is evaluated by
that Prometheus (query_range, the panel's own PromQL) and drawn with matplotlib in the
dashboard's layout. Grafana itself is not packaged for Debian or PyPI, so this is the
dashboard's data, not Grafana's rendering of it.

The database named by DATABASE_URL is migrated and filled with a small clinic (idempotent).
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402
from websockets.sync.client import connect  # noqa: E402
from websockets.typing import Origin  # noqa: E402

from accounts import services as accounts  # noqa: E402
from accounts.models import Role, User  # noqa: E402
from clinic.services import clinic_setting_set  # noqa: E402
from realtime import topics  # noqa: E402
from scheduling.models import Slot, SlotStatus  # noqa: E402
from tests.observability.cluster import METRICS_TOKEN, Cluster, free_port  # noqa: E402
from tests.scheduling.conftest import give_hours  # noqa: E402

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "clinic.json"


def prepare(doctors: int, patients: int) -> tuple[list[int], list[str]]:
    call_command("migrate", "--noinput", verbosity=0)
    clinic_setting_set(actor=None, key="booking_horizon_days", value=14)
    clinic_setting_set(actor=None, key="min_notice_minutes", value=0)
    # Keep patients bookable for the whole run (the default cap of 5 would turn bookings into 400s).
    clinic_setting_set(actor=None, key="max_open_appointments_per_patient", value=100)
    admin = User.objects.filter(email="dash-admin@example.test").first() or accounts.user_create(
        actor=None, email="dash-admin@example.test", password=None, role=Role.ADMIN, first_name="Dash"
    )
    doctor_ids = []
    for index in range(doctors):
        email = f"dash-doctor{index}@example.test"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = accounts.user_create(actor=None, email=email, password=None, role=Role.DOCTOR, first_name="Dash")
            user.doctor.is_approved = True
            user.doctor.save(update_fields=["is_approved"])
            give_hours(user, admin)
        doctor_ids.append(user.doctor.pk)
    tokens = []
    for index in range(patients):
        email = f"dash-patient{index}@example.test"
        user = User.objects.filter(email=email).first() or accounts.user_create(
            actor=None, email=email, password=None, role=Role.PATIENT, first_name="Dash"
        )
        tokens.append(accounts.token_issue(user=user).token)
    return doctor_ids, tokens


def start_prometheus(tmp: Path, target: str) -> tuple[subprocess.Popen, str]:
    """Debian's Prometheus, scraping one web process: with one PROMETHEUS_MULTIPROC_DIR per
    machine, any process answers for all of that machine's processes."""
    (tmp / "token").write_text(METRICS_TOKEN)
    config = {
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "scrape_configs": [
            {
                "job_name": "clinic-web",
                "authorization": {"type": "Bearer", "credentials_file": str(tmp / "token")},
                "static_configs": [{"targets": [target]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(json.dumps(config))
    address = f"127.0.0.1:{free_port()}"
    log = (tmp / "prometheus.log").open("w")
    process = subprocess.Popen(
        [shutil.which("prometheus") or "/usr/bin/prometheus", f"--config.file={tmp / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address={address}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    for _ in range(100):
        try:
            if httpx.get(f"http://{address}/-/ready", timeout=1).status_code == 200:
                return process, address
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"Prometheus did not start: {(tmp / 'prometheus.log').read_text()}")


class Load:
    """Traffic through the proxy until `stop` is set; counts what it got."""

    def __init__(self, proxy: str, doctor_ids: list[int], tokens: list[str]) -> None:
        self.proxy, self.doctor_ids, self.tokens = proxy, doctor_ids, tokens
        self.stop = threading.Event()
        self.answers: dict[int, int] = {}
        self.lock = threading.Lock()

    def _count(self, status: int) -> None:
        with self.lock:
            self.answers[status] = self.answers.get(status, 0) + 1

    def bookings(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=f"http://{self.proxy}", timeout=15) as client:
            while not self.stop.is_set():
                doctor = rng.choice(self.doctor_ids)
                free = list(
                    Slot.objects.filter(doctor_id=doctor, status=SlotStatus.FREE, start__gt=datetime.now(UTC))
                    .order_by("start")
                    .values_list("start", flat=True)[:20]
                )
                if not free:
                    continue
                start = rng.choice(free).isoformat()
                token = rng.choice(self.tokens)
                auth = {"Authorization": f"Bearer {token}"}
                booked = client.post("/api/appointments/book/", json={"doctor": doctor, "start": start}, headers=auth)
                self._count(booked.status_code)
                if booked.status_code == 201 and rng.random() < 0.3:
                    # Someone else tries the same slot a moment later: 409.
                    other = {"Authorization": f"Bearer {rng.choice(self.tokens)}"}
                    taken = client.post(
                        "/api/appointments/book/", json={"doctor": doctor, "start": start}, headers=other
                    )
                    self._count(taken.status_code)
                if booked.status_code == 201 and rng.random() < 0.4:
                    cancelled = client.delete(f"/api/appointments/{booked.json()['id']}/cancel/", headers=auth)
                    self._count(cancelled.status_code)
                day = free[0].date().isoformat()
                self._count(client.get(f"/api/doctors/{doctor}/availability/?date={day}", headers=auth).status_code)
                time.sleep(rng.uniform(0.05, 0.3))

    def wave(self, count: int, hold: float, delay: float) -> None:
        """After `delay` seconds, `count` subscribers for `hold` seconds (one thread per wave)."""
        time.sleep(delay)
        self.sockets(count, hold)

    def sockets(self, count: int, hold: float) -> None:
        """`count` subscribers that stay `hold` seconds, reading events, then leave."""
        opened = []
        for index in range(count):
            try:
                ws = connect(f"ws://{self.proxy}/ws/", origin=Origin(f"http://{self.proxy}"), open_timeout=10)
                ws.send(json.dumps({"action": "auth", "token": self.tokens[index % len(self.tokens)]}))
                ws.recv(timeout=10)
                for doctor in self.doctor_ids[: 1 + index % len(self.doctor_ids)]:
                    ws.send(json.dumps({"action": "subscribe", "topic": topics.doctor_availability(doctor)}))
                opened.append(ws)
            except Exception as exc:  # a socket of the killed process: the load goes on
                print(f"socket {index}: {exc.__class__.__name__}")
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline and not self.stop.is_set():
            for ws in opened:
                _drain(ws)
            time.sleep(0.2)
        for ws in opened:
            ws.close()


def _drain(ws) -> None:
    """Read whatever events wait on `ws` (a socket of the killed process is simply closed)."""
    try:
        while True:
            ws.recv(timeout=0)
    except (TimeoutError, ConnectionClosed):
        return


def render(prometheus: str, start: float, end: float, out: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    rows = max(p["gridPos"]["y"] // 8 for p in panels) + 1
    plt.style.use("dark_background")
    figure, axes = plt.subplots(rows, 2, figsize=(18, 3.1 * rows), squeeze=False)
    figure.patch.set_facecolor("#111217")
    for panel in panels:
        axis = axes[panel["gridPos"]["y"] // 8][panel["gridPos"]["x"] // 12]
        axis.set_facecolor("#181b1f")
        axis.set_title(panel["title"], loc="left", fontsize=10, color="#d8d9da")
        for target in panel["targets"]:
            # Grafana's $__rate_interval, for a 2 s scrape interval: a short window for a short run.
            query = target["expr"].replace("$__rate_interval", "30s")
            answer = httpx.get(
                f"http://{prometheus}/api/v1/query_range",
                params={"query": query, "start": start, "end": end, "step": "2"},
                timeout=30,
            ).json()
            if answer["status"] != "success":
                raise SystemExit(f"{panel['title']}: {target['expr']}: {answer}")
            for series in answer["data"]["result"]:
                legend = target["legendFormat"]
                for key, label in series["metric"].items():
                    legend = legend.replace("{{" + key + "}}", label)
                legend = legend.replace("{{", "").replace("}}", "")
                points = [(datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in series["values"]]
                points = [(t, v) for t, v in points if v == v]  # NaN: a quantile with no samples
                if points:
                    axis.plot(*zip(*points, strict=True), linewidth=1.2, label=legend[:48])
        axis.set_ylim(bottom=0)
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=UTC))
        axis.tick_params(labelsize=8, colors="#9fa7b3")
        axis.grid(color="#2c3235", linewidth=0.5)
        axis.set_ylabel(panel["fieldConfig"]["defaults"]["unit"], fontsize=8, color="#9fa7b3")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7, loc="upper left", framealpha=0.3, ncol=2)
    figure.suptitle(f"{dashboard['title']} — {note}", fontsize=12, color="#d8d9da", x=0.01, ha="left")
    figure.tight_layout(rect=(0, 0, 1, 0.985))
    figure.savefig(out, dpi=80, facecolor=figure.get_facecolor())
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=240)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    args = parser.parse_args()

    doctor_ids, tokens = prepare(doctors=4, patients=60)
    tmp = Path(tempfile.mkdtemp(prefix="dashboard-run-"))
    cluster = Cluster(tmp)
    cluster.env["LOG_LEVEL"] = "WARNING"
    prometheus = None
    try:
        first, second = cluster.web("web-1"), cluster.web("web-2")
        cluster.worker()
        cluster.beat()
        proxy = cluster.proxy([first, second])
        prometheus, address = start_prometheus(tmp, first)
        started = time.time()
        load = Load(proxy, doctor_ids, tokens)
        threads = [threading.Thread(target=load.bookings, args=(seed,)) for seed in range(4)]
        waves = [(10, args.seconds * 0.8), (30, args.seconds * 0.4), (20, args.seconds * 0.25)]
        for index, (count, hold) in enumerate(waves):
            threads.append(threading.Thread(target=load.wave, args=(count, hold, index * args.seconds / 6)))
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 2)
        print("killing web-2 (SIGKILL)")
        cluster.kill("web-2")
        time.sleep(args.seconds / 2)
        load.stop.set()
        for thread in threads:
            thread.join(60)
        time.sleep(6)  # two more scrapes
        print(f"answers by status: {dict(sorted(load.answers.items()))}")
        note = (
            f"a {args.seconds} s run on this machine, 2 web processes (one killed halfway), 1 worker, 1 beat, nginx; "
            "panels evaluated by Prometheus, drawn with matplotlib"
        )
        render(address, started, time.time(), args.out, note)
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(15)
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
