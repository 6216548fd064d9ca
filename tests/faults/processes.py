"""A throwaway PostgreSQL cluster for fault injection: initdb in a temporary directory, run
as the postgres user on a free port of 127.0.0.1, stopped and started by the test. The
machine's shared PostgreSQL is never touched. Web, relay and Redis processes are the
whole-stack fixtures of tests/servers.py."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.clock import in_test_clock
from tests.servers import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = (
    next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    if Path("/usr/lib/postgresql").exists()
    else None
)


@dataclass
class Postgres:
    """A PostgreSQL cluster of the test's own, restartable on the same port."""

    directory: Path
    port: int = field(default_factory=free_port)

    @staticmethod
    def available() -> str:
        """Why a cluster cannot be made here, or "" if it can."""
        if PG_BIN is None:
            return "no PostgreSQL server binaries under /usr/lib/postgresql"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser to start PostgreSQL as another user"
        return ""

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        assert PG_BIN is not None, self.available()
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=check)

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/clinic_faults"

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "clinic_faults")

    def start(self) -> None:
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "server.log"), "-w",
            "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """As a crash would: `immediate` drops every connection without a goodbye."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """`manage.py args` on this cluster, in the test's clock."""
        manage = str(ROOT / "manage.py")
        command = in_test_clock([sys.executable, manage, *args])
        return subprocess.run(
            command, cwd=ROOT, env=server_env(DATABASE_URL=self.url, **env), capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
