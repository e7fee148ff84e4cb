"""The application database (ratings now; handoff tickets later): SQLite under var/ unless configured."""

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from govbot.settings import PROJECT_ROOT


def database_url() -> str:
    """GOVBOT_DATABASE_URL, else a SQLite file govbot.db in GOVBOT_VAR_DIR (default var/)."""
    configured = os.environ.get("GOVBOT_DATABASE_URL", "").strip()
    if configured:
        return configured
    var_dir = Path(os.environ.get("GOVBOT_VAR_DIR") or PROJECT_ROOT / "var")
    return f"sqlite:///{var_dir.resolve() / 'govbot.db'}"


def database_url_in(var_dir: Path) -> str:
    """GOVBOT_DATABASE_URL, else the SQLite file govbot.db in the given var folder."""
    return os.environ.get("GOVBOT_DATABASE_URL", "").strip() or f"sqlite:///{Path(var_dir).resolve() / 'govbot.db'}"


def open_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get their folder created, WAL journaling and a busy timeout."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine
