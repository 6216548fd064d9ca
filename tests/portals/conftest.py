"""The reference clients against live servers: daphne processes on free ports, on the test
database and Redis, and headless Chromium driven by Playwright (Debian's /usr/bin/chromium;
scripts/ensure-browser.sh installs it)."""

import os
import socket as sockets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from accounts import services as accounts_services
from accounts.models import User
from tests.clock import in_test_clock
from tests.scheduling.helpers import set_policy
from tests.servers import database_url, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "portal-test-password"


class LiveServer:
    """One daphne process on a fixed free port: `kill()` stops it hard, `start()` brings it
    back on the same port, as a crashed and restarted server would come back."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "LiveServer":
        from django.conf import settings

        log = (self.log_dir / f"daphne-{self.port}.log").open("a")
        self.process = subprocess.Popen(
            in_test_clock([str(Path(sys.executable).parent / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p",
                           str(self.port), "config.asgi:application"]),
            cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.log_dir / f"daphne-{self.port}.log").read_text()
            with sockets.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        raise AssertionError(f"daphne did not listen on {self.port} within 60 s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def api(self, user: User, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = accounts_services.token_issue(user=user).token
        return httpx.request(
            method, self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs
        )


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Collected static files (the pages' ES modules), served by WhiteNoise as in production."""
    var_dir = tmp_path_factory.mktemp("portal-var")
    env = {**os.environ, "VAR_DIR": str(var_dir), "DEBUG": "false", "SECRET_KEY": "test-only-secret-key"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=Path(__file__).resolve().parents[2], env=env, check=True,
    )  # fmt: skip
    return var_dir


@pytest.fixture
def live_servers(static_root: Path, tmp_path: Path) -> Iterator[Callable[[], LiveServer]]:
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "test-only-secret-key",
        "THROTTLE_ENABLED": "false",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        # No relay process here: each server sends the events of its own commits.
        "EVENT_RELAY": "inline",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": str(static_root),
    }
    servers: list[LiveServer] = []

    def start() -> LiveServer:
        servers.append(LiveServer(env, tmp_path).start())
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            if server.process is not None and server.process.poll() is None:
                server.process.terminate()
                try:
                    server.process.wait(10)
                except subprocess.TimeoutExpired:
                    server.kill()


@pytest.fixture
def chromium(transactional_db: None) -> Iterator[Any]:
    """A browser per test, started after the database is set up and closed before it is
    flushed: the database's teardown must not run while Playwright's event loop does."""
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (scripts/ensure-browser.sh installs it)")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        # The test's ORM calls ran while Playwright's loop was set, so Django gave them their
        # own connection (it keeps one per context): close it here, in that context, or the
        # test database cannot be dropped at the end of the run.
        connections.close_all()
        browser.close()


@pytest.fixture
def browser_page(chromium: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], Any]]:
    """`browser_page()`: a page in a fresh browser context (its own session storage), as a
    separate person's browser would be. Page errors fail the test."""
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # plain synchronous code between its calls, which Django's guard cannot tell apart.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    contexts = []
    errors: list[str] = []

    def open_page() -> Any:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        if time_machine.escape_hatch.is_travelling():
            # The pages read the time too (today's date, what is past): the test's clock.
            context.clock.install(time=datetime.now(UTC))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


def sign_in(page: Any, server: LiveServer, path: str, user: User) -> None:
    page.goto(server.url + path)
    page.fill("#signin-form input[name=email]", user.email)
    page.fill("#signin-form input[name=password]", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#live-status[data-state=live]", timeout=15000)


@pytest.fixture
def midday_clinic(db: None) -> str:
    """A clinic whose time zone puts now near midday, so that today has slots both behind
    and ahead at whatever hour the suite runs. Returns the zone's name."""
    hour = datetime.now(UTC).hour
    offset = 12 - hour  # hours east of UTC that make it about noon there (-11 .. +12)
    # Etc/GMT zones are named with the sign reversed (Etc/GMT-5 is UTC+5).
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    set_policy("timezone", zone)
    set_policy("booking_horizon_days", 7)
    return zone


@pytest.fixture
def carol_week(midday_clinic: str, carol: User, ada: User) -> str:
    """carol works every day, 09:00-17:00 clinic time; set up before any browser starts (the
    events it stores are sent from this process, which Playwright's loop must not yet run in)."""
    from tests.scheduling.helpers import give_hours

    give_hours(carol, ada)
    return midday_clinic


def clinic_day(zone: str, days: int = 0) -> str:
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo(zone)) + timedelta(days=days)).date().isoformat()


def with_password(user: User) -> User:
    """The user, given a password the live servers verify (they keep the production
    hashers; the test process hashes with MD5 for speed)."""
    from django.contrib.auth.hashers import make_password

    User.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="argon2"))
    return user
