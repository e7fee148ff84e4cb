"""Alembic migrations of the application database, on SQLite and on a real PostgreSQL server.

A fresh database gets the schema the models declare; a database from before migrations (made by the models'
`create_all`, with rows in it) is adopted and keeps every row; a current one is left alone in one query.
"""

import logging
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.orm import Session

from core.database import open_engine
from core.ratings import Rating, RatingRow, RatingStore
from core.schema import TABLES, current_revision, head_revision, upgrade_schema
from handoff.models import AgentRow, HandoffBase, TicketEventRow, TicketMessageRow, TicketRow
from handoff.passwords import hash_password
from handoff.store import TicketOpening, TicketStore
from workorders.models import WorkOrderBase

WHEN = datetime(2026, 3, 14, 9, 30, tzinfo=timezone.utc)
WORK_ORDER_TABLES = set(WorkOrderBase.metadata.tables)  # revision 0002
PASSWORD = "correct horse battery"


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def second_db_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Another fresh database of the same kind as db_url."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'second.db'}"
    return str(request.getfixturevalue("postgres_server").create_database())


def the_models() -> MetaData:
    """Every table the application's models declare, in one MetaData."""
    models = MetaData()
    for table in [*HandoffBase.metadata.tables.values(), *RatingRow.metadata.tables.values(),
                  *WorkOrderBase.metadata.tables.values()]:
        table.to_metadata(models)
    return models


def create_the_old_way(engine: Engine) -> None:
    """What the stores did before migrations: create_all of each model's metadata."""
    RatingRow.metadata.create_all(engine)
    HandoffBase.metadata.create_all(engine)


def schema_of(engine: Engine) -> set[tuple[str, ...]]:
    """The database's tables, columns, constraints and indexes as the server describes them (DDL included)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.execute(text("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master "
                                           "WHERE tbl_name != 'alembic_version'"))
            # a table copied anew by a migration (SQLite's way to alter it) is stored with its name quoted
            return {(*map(str, row[:3]), str(row[3]).replace('"', "")) for row in rows}
        columns = connection.execute(text(
            "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, is_nullable, "
            "column_default FROM information_schema.columns WHERE table_schema = 'public'"))
        indexes = connection.execute(text("SELECT tablename, indexname, indexdef FROM pg_indexes "
                                          "WHERE schemaname = 'public'"))
        constraints = connection.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace"))
        described = {("column", *map(str, row)) for row in columns} | {("index", *map(str, row)) for row in indexes}
        described |= {("constraint", *map(str, row)) for row in constraints}
        return {row for row in described if row[1] != "alembic_version"}


def differences_from_the_models(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), the_models()))


def tables_of(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def add_old_rows(engine: Engine, open_tickets_of_one_sender: int = 1) -> None:
    """Rows as the stores wrote them before migrations: an agent, tickets with messages and events, a rating."""
    with Session(engine) as session, session.begin():
        session.add(AgentRow(username="alice", display_name="Alice Wang", password_hash=hash_password(PASSWORD),
                             created_at=WHEN))
        session.add(RatingRow(created_at=WHEN, sender_id="web-1", channel="web", language="zh", question="护照怎么办",
                              item="passport-apply", decision="answer", level=4))
        for n in range(1, open_tickets_of_one_sender + 1):
            ticket = TicketRow(number=f"20260314-000{n}", sender_id="web-1", channel="web", language="zh",
                               large_text=True, voice=False, reason="user_request", item="passport-apply",
                               status="assigned" if n == 1 else "waiting", agent="alice" if n == 1 else None,
                               created_at=WHEN, claimed_at=WHEN + timedelta(minutes=1))
            session.add(ticket)
            session.flush()
            session.add_all([
                TicketMessageRow(ticket_id=ticket.id, author="citizen", text="我想办护照", created_at=WHEN),
                TicketMessageRow(ticket_id=ticket.id, author="agent", agent="alice", text="您好，请讲",
                                 created_at=WHEN + timedelta(minutes=2)),
                TicketEventRow(ticket_id=ticket.id, at=WHEN, actor="system", action="opened", detail="user_request"),
                TicketEventRow(ticket_id=ticket.id, at=WHEN + timedelta(minutes=1), actor="alice", action="claimed"),
            ])


# --- a fresh database -------------------------------------------------------------------------------------------

def test_a_fresh_database_gets_every_table_of_the_models_at_the_newest_revision(engine):
    assert current_revision(engine) is None
    applied = upgrade_schema(engine)
    assert applied[0] == "0001" and applied[-1] == head_revision()
    assert current_revision(engine) == head_revision()
    assert tables_of(engine) == TABLES | WORK_ORDER_TABLES | {"alembic_version"}
    assert differences_from_the_models(engine) == []


def test_migrations_make_exactly_the_schema_create_all_made(engine, second_db_url):
    upgrade_schema(engine)
    old = open_engine(second_db_url)
    try:
        create_the_old_way(old)
        WorkOrderBase.metadata.create_all(old)  # the work-order tables came after migrations (0002)
        migrated, created = schema_of(engine), schema_of(old)
    finally:
        old.dispose()
    assert any("uq_tickets_one_open_per_sender" in " ".join(row) for row in migrated)  # the partial index too
    assert migrated == created


def test_a_model_change_without_a_migration_shows_as_a_difference(engine):
    """The comparison above can fail: a column the migrations lack is found."""
    upgrade_schema(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_tickets_status"))
        connection.execute(text("ALTER TABLE ratings DROP COLUMN decision"))
    found = sorted((diff[0], diff[-1].name) for diff in differences_from_the_models(engine))
    assert found == [("add_column", "decision"), ("add_index", "ix_tickets_status")]


# --- a database from before migrations --------------------------------------------------------------------------

def test_a_database_from_before_migrations_keeps_every_row_and_is_at_the_newest_revision(engine, db_url):
    create_the_old_way(engine)
    add_old_rows(engine)
    assert current_revision(engine) is None and "alembic_version" not in tables_of(engine)

    assert upgrade_schema(db_url)[-1] == head_revision()
    assert current_revision(engine) == head_revision()
    assert differences_from_the_models(engine) == []

    store = TicketStore(db_url, clock=lambda: WHEN + timedelta(hours=1))
    ratings = RatingStore(db_url)
    try:
        assert [(a.username, a.display_name) for a in store.agents()] == [("alice", "Alice Wang")]
        assert store.log_in("alice", PASSWORD)  # the stored password hash still works
        ticket = store.open_ticket_of("web-1")
        assert ticket is not None and (ticket.number, ticket.status, ticket.agent) == ("20260314-0001", "assigned",
                                                                                       "alice")
        assert ticket.large_text and ticket.created_at == WHEN and ticket.claimed_at == WHEN + timedelta(minutes=1)
        transcript = store.transcript("20260314-0001")
        assert [(m.author, m.agent, m.text) for m in transcript.messages] == [("citizen", None, "我想办护照"),
                                                                             ("agent", "alice", "您好，请讲")]
        assert [(e.actor, e.action, e.detail) for e in transcript.events] == [("system", "opened", "user_request"),
                                                                            ("alice", "claimed", None)]
        [rating] = ratings.all()
        assert (rating.sender_id, rating.level, rating.question, rating.item, rating.decision) == \
            ("web-1", 4, "护照怎么办", "passport-apply", "answer")
        # and new rows go on after the old ones (PostgreSQL's sequences were kept)
        assert store.add_message("20260314-0001", "agent", "还在吗？", agent="alice").id == 3
        assert store.open_ticket(TicketOpening("web-2", "web", "en", "user_request")).id == 2
        assert ratings.add(Rating(sender_id="web-2", level=5, language="en")) == 2
    finally:
        store.engine.dispose()
        ratings.engine.dispose()


def test_a_database_that_only_ever_stored_ratings_gets_the_handoff_tables(engine, db_url):
    RatingRow.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(RatingRow(created_at=WHEN, sender_id="u1", language="en", level=2))
    applied = upgrade_schema(db_url)
    assert applied[0] == "0001" and applied[-1] == head_revision()
    assert tables_of(engine) == TABLES | WORK_ORDER_TABLES | {"alembic_version"}
    assert differences_from_the_models(engine) == []
    assert [r.level for r in RatingStore(db_url).all()] == [2]


def test_tickets_from_before_the_one_open_ticket_index_get_it(engine, db_url):
    create_the_old_way(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_tickets_one_open_per_sender"))
    add_old_rows(engine)
    upgrade_schema(db_url)
    assert "uq_tickets_one_open_per_sender" in {i["name"] for i in inspect(engine).get_indexes("tickets")}
    assert differences_from_the_models(engine) == []


def test_two_open_tickets_of_one_conversation_do_not_stop_the_upgrade(engine, db_url, caplog):
    """As before migrations: the index cannot be made then, which is logged, and everything else goes on."""
    create_the_old_way(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_tickets_one_open_per_sender"))
    add_old_rows(engine, open_tickets_of_one_sender=2)
    with caplog.at_level(logging.WARNING, logger="govbot.schema"):
        assert upgrade_schema(db_url)[-1] == head_revision()
    assert [r.getMessage() for r in caplog.records if r.name == "govbot.schema"] == ["handoff_index_missing"]
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tickets WHERE status != 'closed'")).scalar() == 2


# --- a current database -----------------------------------------------------------------------------------------

def test_upgrading_a_current_database_changes_nothing_and_costs_one_query(engine):
    upgrade_schema(engine)
    before = schema_of(engine)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert upgrade_schema(engine) == []
    assert statements == ["SELECT version_num FROM alembic_version"]
    assert schema_of(engine) == before and current_revision(engine) == head_revision()


def test_stores_made_in_turn_share_the_schema(db_url):
    tickets, ratings, again = TicketStore(db_url), RatingStore(db_url), TicketStore(db_url)
    try:
        again.add_agent("bob", PASSWORD)
        assert [a.username for a in tickets.agents()] == ["bob"] and ratings.all() == []
        assert current_revision(db_url) == head_revision()
    finally:
        for store in (tickets, ratings, again):
            store.engine.dispose()


def test_processes_upgrading_at_once_migrate_one_after_the_other(db_url):
    create_engine(db_url).dispose()
    start, results, errors = threading.Barrier(3), [], []

    def upgrade() -> None:
        start.wait()
        try:
            results.append(upgrade_schema(db_url))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=upgrade) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    first, *others = sorted(results, key=len, reverse=True)
    assert first[0] == "0001" and first[-1] == head_revision() and others == [[], []]
    assert current_revision(db_url) == head_revision()


# --- govbot db upgrade / current --------------------------------------------------------------------------------

def govbot_db(db_url: str, *args: str) -> subprocess.CompletedProcess:
    """`govbot db …` in a child process, on the configured database."""
    return subprocess.run([sys.executable, "-m", "govbot.cli", "db", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "GOVBOT_DATABASE_URL": db_url})


def test_govbot_db_upgrade_and_current(db_url, engine):
    create_the_old_way(engine)
    add_old_rows(engine)
    before = govbot_db(db_url, "current")
    assert before.returncode == 0, before.stderr
    assert before.stdout.startswith("none (no revision: empty or from before migrations")
    upgraded = govbot_db(db_url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied 0001" in upgraded.stdout and upgraded.stdout.rstrip().endswith(f"now at {head_revision()}")
    again = govbot_db(db_url, "upgrade")
    assert again.returncode == 0 and again.stdout.rstrip().endswith(f"up to date ({head_revision()})")
    after = govbot_db(db_url, "current")
    assert after.returncode == 0 and after.stdout.startswith(f"{head_revision()} (the newest)")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ticket_messages")).scalar() == 2


def test_govbot_db_upgrade_fails_plainly_when_the_database_cannot_be_reached():
    result = govbot_db("postgresql+psycopg://govbot:secret-pw@127.0.0.1:1/govbot", "upgrade")
    assert result.returncode == 1
    assert "upgrading postgresql+psycopg://govbot:***@127.0.0.1:1/govbot failed: OperationalError" in result.stdout
    assert "secret-pw" not in result.stdout + result.stderr
