"""A real PostgreSQL server for the tests, from Debian's `postgresql` package (locks/apt.txt).

`running_postgres()` runs initdb and pg_ctl in a temporary folder: trust authentication, TCP on a free
loopback port, the unix socket in that folder. PostgreSQL refuses to run as root, so as root the server runs
as the `postgres` system user. The fixtures (tests/conftest.py) give each test its own fresh database.
Missing binaries are a failure, not a skip: CI must run these tests.
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from testkit.helpers import free_port

PG_BIN = Path(os.environ.get("GOVBOT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))  # tests' own knob, not govbot's


class PostgresUnavailable(RuntimeError):
    """The test server could not be started (not installed, or it failed)."""


@dataclass(frozen=True)
class PostgresServer:
    port: int
    socket_dir: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free loopback port for as long as the block runs."""
    missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (PG_BIN / name).is_file()]
    if missing:
        raise PostgresUnavailable(f"PostgreSQL is not installed: {', '.join(missing)} missing in {PG_BIN}. Install "
                                  "Debian's `postgresql` package (locks/apt.txt; `bash scripts/setup` does it) or set "
                                  "GOVBOT_TEST_PG_BIN.")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root, PostgreSQL needs `runuser` to start as the postgres user")
    root = Path(tempfile.mkdtemp(prefix="govbot-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"
    port = free_port()
    _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
          "--locale=C.UTF-8", "--no-sync"], "initdb")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    try:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
             "pg_ctl start")
    except RuntimeError as error:
        details = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"PostgreSQL did not start: {error}\n{details}") from None
    try:
        yield PostgresServer(port, root)
    finally:
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
                       capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)

