"""The application database's schema, kept by Alembic: bring a database to the newest revision, or tell where it is.

The revisions live in core/migrations/versions (0001 is the schema from before migrations). A database from
before migrations (our tables present, no alembic_version) is adopted: revision 0001 creates only what it lacks
and records itself, then the later revisions run. Upgrading holds a lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: a
transaction-level advisory lock; in one process also a thread lock), so processes starting at once migrate one
after the other; a database already at the newest revision costs one query.
"""

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Optional, Union

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from core.database import open_engine

log = logging.getLogger("govbot.schema")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# the tables revision 0001 makes: any of them without an alembic_version means a database from before migrations
TABLES = frozenset({"ratings", "agents", "agent_sessions", "tickets", "ticket_messages", "ticket_events"})
_PG_LOCK_KEY = 0x676F76626F74  # "govbot": the advisory lock upgrades take on PostgreSQL
# Alembic keeps its running migration context in module globals: one upgrade at a time in this process
_IN_PROCESS = threading.Lock()


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision in core/migrations/versions."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts in {MIGRATIONS / 'versions'}")
    return head


def _stamped_revision(engine: Engine) -> Optional[str]:
    """alembic_version's revision in one query; None when the table is missing or empty."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None
    return str(found) if found is not None else None


def _engine(target: Union[Engine, str]) -> Engine:
    return open_engine(target) if isinstance(target, str) else target


def current_revision(target: Union[Engine, str]) -> Optional[str]:
    """The database's revision; None for an empty database or one from before migrations."""
    engine = _engine(target)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if isinstance(target, str):
            engine.dispose()


def _lock(connection: Connection) -> None:
    """Hold the migration lock until the connection's transaction ends."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite would begin only at the first write
    elif connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _upgrade(connection: Connection) -> tuple[Optional[str], list[str]]:
    """Under the lock: the revision found and the revisions applied (none if another process was first)."""
    found = MigrationContext.configure(connection).get_current_revision()
    if found == head_revision():
        return found, []
    if found is None:
        present = sorted(TABLES & set(inspect(connection).get_table_names()))
        if present:
            log.info("schema_adopting", extra={"fields": {"tables": present, "revision": "0001"}})
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    applied: list[str] = config.attributes.get("applied", [])
    return found, applied


def upgrade_schema(target: Union[Engine, str]) -> list[str]:
    """Bring the database (an engine or a URL) to the newest revision; the revisions applied, oldest first."""
    engine = _engine(target)
    try:
        if _stamped_revision(engine) == head_revision():
            return []
        with _IN_PROCESS, engine.begin() as connection:
            _lock(connection)
            found, applied = _upgrade(connection)
    finally:
        if isinstance(target, str):
            engine.dispose()
    for revision in applied:
        log.info("schema_revision_applied", extra={"fields": {"revision": revision}})
    if applied:
        log.info("schema_upgraded", extra={"fields": {"from": found, "to": applied[-1], "applied": applied}})
    return applied
