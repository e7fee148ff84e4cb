"""Fixtures shared by all test layers, and the time each layer took (printed at the end of a run).

The layers: tests/unit (no model, no database server, no network), tests/integration (the real embedding
model, a real PostgreSQL, live servers on loopback), tests/e2e (the whole stack, Chromium).
"""

from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import pytest

from testkit.postgres import PostgresServer, PostgresUnavailable, running_postgres

TESTS = Path(__file__).resolve().parent
_layer_seconds: dict[str, float] = defaultdict(float)
_layer_counts: dict[str, int] = defaultdict(int)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole run (Debian's package; a failure, not a skip, if missing)."""
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the test server (so tests never see each other's rows)."""
    return postgres_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh application database: a SQLite file, or a new database on the tests' PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'handoff.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def _layer_of(nodeid: str) -> str:
    parts = Path(nodeid.split("::", 1)[0]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "tests" else "other"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each test's set-up, call and tear-down time to its layer."""
    layer = _layer_of(report.nodeid)
    _layer_seconds[layer] += report.duration
    if report.when == "call":
        _layer_counts[layer] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line: how many tests each layer ran and how long it took."""
    if _layer_counts:
        parts = [f"{layer} {_layer_counts[layer]} tests in {_layer_seconds[layer]:.0f} s"
                 for layer in ("unit", "integration", "e2e", "other") if _layer_counts.get(layer)]
        terminalreporter.write_line("time per layer: " + ", ".join(parts))
