"""The application database (ratings, handoff tickets and agents): SQLite under var/ unless configured."""

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

from core.settings import Settings


def database_url(settings: Settings) -> str:
    """The effective database URL: GOVBOT_DATABASE_URL, else the SQLite file govbot.db in the var folder."""
    return settings.database_url or f"sqlite:///{settings.var_dir / 'govbot.db'}"


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


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A write transaction whose reads already hold the write lock (with SELECT ... FOR UPDATE on PostgreSQL)."""
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "sqlite":
            # pysqlite starts its transaction only at the first write: reads before it could be stale
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session
