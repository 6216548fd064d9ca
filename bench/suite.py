"""`make bench`: the floors and the project's benches back to back, one table.

    make bench [BENCH_DATABASE_URL=...] [BENCH_REDIS_URL=...] [FLOOR_REDIS_URL=...]
               [BENCH_ARGS="--servers daphne uvicorn"]

Makes its own PostgreSQL database (created if missing, migrated, filled by
bench/booking.py's `prepare`) and empties its own Redis database, then, for each server:

- the floors of ../shared/bench (see its README): fan-out of a bare ASGI app to the same
  number of sockets, one event at a time and paced; the booking transaction in bare SQL
  (run just before each bookings/s row, once the worker and the relay have drained what
  came before, so that each ratio is to a floor of that minute on an idle platform);
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

`--only availability`, `--only storm` and `--only bookings` run just that bench beside its
floor (the storm: the fan-out floor's set-up, then each round's sockets connecting,
authenticating and subscribing, with no bookings; bookings: the queries per booking, then
each round's bare-SQL floor, bookings/s on distinct slots and the racers, on one process
and on N), a few minutes instead of six or seven per server.

`--without worker` (or `relay`, or both) leaves that background process out: the rows then
say what it costs by its absence. A diagnostic, marked so under the table, never a result:
production runs both.

Prints one Markdown table: every figure beside its floor and the ratio. Speed claims are
ratios to a floor taken in the same run: the machine is shared and noisy.
"""

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from floors import FLOOR_SERVERS, floor_availability_server, floor_booking, floor_fanout
from processes import REST_ONLY, ROOT, SERVERS, Platform, Profiling
from project import Bookings, availability, distinct_slots, fanout, paced, queries_per_booking, racers, storm
from tools import percentile, raise_fd_limit

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
        platform = _platform(kind, count, env, args, split)
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
            throughput_rows(platform, args, data, table, label)
            if count == 1:
                availability_row(kind, platform, args, data, table, label)


def _platform(kind: str, count: int, env: dict[str, str], args: argparse.Namespace, split: bool = False) -> Platform:
    """The project's processes for a round of `count` servers, as the command line asks."""
    return Platform(kind, count, env, args.profiling, f"p{count}{'s' if split else ''}", split, args.without)


def throughput_rows(platform: Platform, args: argparse.Namespace, data: dict, table: Table, label: str) -> None:
    """Bookings/s on distinct slots beside the bare-SQL floor run just before it, and the racers.

    This machine's speed drifts by a third within minutes (a shared host), so each row's
    floor is measured next to it, with the platform started and idle, not once at the end.
    """
    platform.settle()
    with _phase("floor booking"):
        floor = floor_booking(args.database_url, 2000, args.threads)
    rate = distinct_slots(data, platform.bases, args.bookings, args.threads)
    drained = platform.settle()
    table.add(
        f"Bookings/s on distinct slots, {args.threads} clients ({label})",
        f"{rate['per_s']:.1f}/s (p50 {rate['p50']:.0f} ms; {_codes(rate['codes'])};"
        f" background done {drained:.1f} s after the last)",
        f"{floor:,.0f}/s (bare SQL, just before)",
        f"{100 * rate['per_s'] / floor:.1f} %",
    )
    table.add(f"{args.racers} clients racing for one slot ({label})", _codes(racers(data, platform.bases, args.racers)))


def bookings_only(kind: str, args: argparse.Namespace, env: dict[str, str], data: dict, table: Table) -> None:
    """Bookings/s (each beside its floor) and the racers of the rounds without sockets."""
    for count, split, label in _rounds(kind, args):
        if split:
            continue
        platform = _platform(kind, count, env, args)
        with _phase(f"bookings, {label}"), platform:
            throughput_rows(platform, args, data, table, label)


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
        platform = _platform(kind, count, env, args, split)
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
    run = bookings_only if args.only == "bookings" else run_server
    for kind in args.servers:
        run(kind, args, env, data, table)


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
    parser.add_argument(
        "--without",
        nargs="+",
        choices=["worker", "relay"],
        default=[],
        help="do not start these background processes: what they cost, by their absence (not a result)",
    )
    parser.add_argument("--profile-dir", type=Path, help="py-spy flame graphs of every server process go here")
    parser.add_argument(
        "--profile-raw",
        action="store_true",
        help="with --profile-dir: collapsed stacks of the threads holding the GIL instead (where the CPU goes)",
    )
    parser.add_argument(
        "--only", choices=["availability", "storm", "bookings"], help="just this bench (and its floor), per server"
    )
    args = parser.parse_args()
    args.without = frozenset(args.without)
    if REST_ONLY & set(args.servers) and args.only != "bookings":
        parser.error(f"{', '.join(sorted(REST_ONLY & set(args.servers)))} serve no sockets: add --only bookings")
    raise_fd_limit()
    args.profiling = None
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        args.profiling = Profiling(args.profile_dir, raw=args.profile_raw)
    elif args.profile_raw:
        parser.error("--profile-raw needs --profile-dir")
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
                _platform(kind, 1, env, args) as platform,
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
        f"{args.subscribers} sockets, {args.processes} processes in the second round"
        + (f"; WITHOUT {', '.join(sorted(args.without))} (a diagnostic, not a result)" if args.without else "")
        + "\n"
    )
    print(table.markdown())


if __name__ == "__main__":
    main()
