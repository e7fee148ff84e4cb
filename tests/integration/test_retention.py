"""Retention: `govbot purge` and the hourly run of `govbot run` delete what is past retention in every store —
Rasa's SQLite tracker store (Rasa's schema), closed tickets, ratings' questions, cached speech — and keep the
rest; a dry run deletes nothing; one broken store does not stop the others."""

import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ratings import Rating, RatingRow, RatingStore
from core.settings import Settings
from govbot.cli import main
from govbot.purge_command import RetentionRun, purge, purge_trackers
from handoff.models import TicketEventRow, TicketMessageRow
from handoff.store import TicketOpening, TicketStore
from testkit.handoff import Clock

NOW = datetime.now(timezone.utc).replace(microsecond=0)  # the retention run purges by the real clock
OLD, RECENT = NOW - timedelta(days=40), NOW - timedelta(days=2)

# Rasa 3.6's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent), as its SQLAlchemy creates it on SQLite
RASA_EVENTS = """
CREATE TABLE events (
    id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, timestamp FLOAT,
    intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT, PRIMARY KEY (id));
CREATE INDEX ix_events_sender_id ON events (sender_id);
"""


def opening(sender: str) -> TicketOpening:
    return TicketOpening(sender_id=sender, channel="web", language="zh", reason="user_request")


def make_trackers(path: Path) -> None:
    """Three conversations: all old, old then recent, all recent."""
    with sqlite3.connect(path) as db:
        db.executescript(RASA_EVENTS)
        for sender, moments in (("web:old", [OLD, OLD + timedelta(minutes=5)]),
                                ("web:came-back", [OLD, RECENT]), ("web:recent", [RECENT])):
            for moment in moments:
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', ?, ?)",
                           (sender, moment.timestamp(), '{"text": "电话*******5678"}'))
    db.close()


def tracker_senders(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        senders = {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}
    db.close()
    return senders


def make_tickets(url: str) -> dict[str, str]:
    """A ticket closed long ago, one closed lately, one opened long ago and still waiting."""
    clock = Clock(OLD - timedelta(hours=1))
    store = TicketStore(url, clock=clock)
    numbers = {}
    for name in ("old", "waiting"):
        numbers[name] = store.open_ticket(opening(f"web:{name}"), [("citizen", "hello", clock())]).number
        store.add_message(numbers[name], "citizen", "电话13812345678")
    store.cancel(numbers["old"])
    clock.now = RECENT - timedelta(hours=1)
    numbers["recent"] = store.open_ticket(opening("web:recent")).number
    store.claim(numbers["recent"], "alice")
    store.close(numbers["recent"], "alice", "answered")
    store.engine.dispose()
    return numbers


def make_ratings(url: str) -> None:
    store = RatingStore(url)
    store.add(Rating(sender_id="telegram:42", level=2, language="zh", question="护照 13812345678", created_at=OLD))
    store.add(Rating(sender_id="web:recent", level=5, language="zh", question="身份证补办", created_at=RECENT))
    store.engine.dispose()


def make_speech(folder: Path) -> None:
    for name, moment in (("ab/old.mp3", OLD), ("cd/recent.mp3", RECENT)):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"ID3 audio")
        os.utime(path, (moment.timestamp(), moment.timestamp()))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(var_dir=tmp_path / "var", retention_days=30)
    settings.var_dir.mkdir(parents=True)
    make_trackers(settings.tracker_db)
    make_speech(settings.tts_cache_dir)
    return settings


def app_url(settings: Settings) -> str:
    return f"sqlite:///{settings.var_dir / 'govbot.db'}"


def ticket_numbers(url: str) -> set[str]:
    store = TicketStore(url)
    try:
        return {ticket.number for ticket in store.tickets_since(datetime(2000, 1, 1, tzinfo=timezone.utc))}
    finally:
        store.engine.dispose()


def counts(steps) -> dict[str, int]:
    assert [step.error for step in steps] == [None] * len(steps)
    return {step.store: step.count for step in steps}


def test_a_dry_run_counts_and_deletes_nothing_then_a_purge_deletes_only_what_is_past_retention(settings):
    url = app_url(settings)
    numbers = make_tickets(url)
    make_ratings(url)
    expected = {"trackers": 1, "tickets": 1, "sessions": 0, "ratings": 1, "speech": 1}

    assert counts(purge(settings, 30, dry_run=True, now=NOW)) == expected
    assert tracker_senders(settings.tracker_db) == {"web:old", "web:came-back", "web:recent"}
    assert ticket_numbers(url) == set(numbers.values())
    assert [r.question for r in RatingStore(url).all()] == ["护照 *******5678", "身份证补办"]
    assert len(list(settings.tts_cache_dir.rglob("*.mp3"))) == 2

    assert counts(purge(settings, 30, now=NOW)) == expected
    assert tracker_senders(settings.tracker_db) == {"web:came-back", "web:recent"}  # by its last event
    assert ticket_numbers(url) == {numbers["recent"], numbers["waiting"]}  # an open ticket is never purged
    store = TicketStore(url)
    with Session(store.engine) as session:  # nothing of the old ticket is left behind
        ticket_ids = {m.ticket_id for m in session.scalars(select(TicketMessageRow))} | \
            {e.ticket_id for e in session.scalars(select(TicketEventRow))}
    assert len(ticket_ids) == 2
    store.engine.dispose()
    ratings = RatingStore(url)
    with Session(ratings.engine) as session:
        rows = session.scalars(select(RatingRow).order_by(RatingRow.id)).all()
        assert [(r.level, r.sender_id, r.question) for r in rows] == [(2, "", None), (5, "web:recent", "身份证补办")]
    ratings.engine.dispose()
    assert [p.name for p in settings.tts_cache_dir.rglob("*.mp3")] == ["recent.mp3"]

    assert counts(purge(settings, 30, now=NOW)) == {"trackers": 0, "tickets": 0, "sessions": 0, "ratings": 0,
                                                 "speech": 0}


def test_the_ticket_and_rating_purges_on_both_databases(db_url):
    numbers = make_tickets(db_url)
    make_ratings(db_url)
    store, ratings = TicketStore(db_url), RatingStore(db_url)
    try:
        assert store.purge_closed(NOW - timedelta(days=30), dry_run=True) == 1
        assert store.purge_closed(NOW - timedelta(days=30)) == 1
        assert store.purge_closed(NOW - timedelta(days=30)) == 0
        with pytest.raises(Exception, match="no ticket"):
            store.ticket(numbers["old"])
        assert store.transcript(numbers["waiting"]).messages[-1].text == "电话13812345678"  # still open: clear
        assert store.purge_closed(NOW) == 1  # the recent one, once it is old enough
        assert ratings.forget_text(NOW - timedelta(days=30), dry_run=True) == 1
        assert ratings.forget_text(NOW - timedelta(days=30)) == 1
        assert [(r.level, r.question) for r in ratings.all()] == [(2, None), (5, "身份证补办")]
        assert ratings.counts()[2] == 1  # the statistics keep the level
    finally:
        store.engine.dispose()
        ratings.engine.dispose()


def test_one_broken_store_does_not_stop_the_others(settings):
    make_tickets(app_url(settings))
    settings.tracker_db.write_bytes(b"this is not a database" * 100)
    steps = {step.store: step for step in purge(settings, 30, now=NOW)}
    assert steps["trackers"].error is not None and "DatabaseError" in steps["trackers"].error
    assert (steps["tickets"].count, steps["speech"].count) == (1, 1)


def test_nothing_to_purge_when_the_tracker_store_does_not_exist_yet(tmp_path):
    missing = tmp_path / "tracker.db"
    assert purge_trackers(missing, NOW) == 0
    assert not missing.exists()  # and it is not created
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert purge_trackers(empty, NOW) == 0


def test_the_purge_command(settings, monkeypatch, capsys):
    make_tickets(app_url(settings))
    monkeypatch.setenv("GOVBOT_VAR_DIR", str(settings.var_dir))
    assert main(["purge", "--older-than", "30", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would purge 1 Rasa conversations" in out and "would purge 1 closed tickets" in out
    assert "would purge 1 cached speech files" in out
    assert len(tracker_senders(settings.tracker_db)) == 3
    assert main(["purge", "--older-than", "30"]) == 0
    assert "purged 1 Rasa conversations" in capsys.readouterr().out
    assert tracker_senders(settings.tracker_db) == {"web:recent", "web:came-back"}
    for bad in ("0", "-3", "nan", "inf", "soon"):
        with pytest.raises(SystemExit) as exited:
            main(["purge", "--older-than", bad])
        assert exited.value.code == 2


def test_the_retention_run_purges_at_start_and_stops(settings):
    url = app_url(settings)
    make_tickets(url)  # the old ticket was closed 40 days ago: past the 30 days of retention
    run = RetentionRun(settings, interval=3600).start()
    deadline = time.monotonic() + 60
    while len(ticket_numbers(url)) == 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    run.stop()
    assert len(ticket_numbers(url)) == 2
    assert tracker_senders(settings.tracker_db) == {"web:recent", "web:came-back"}
    assert not run._thread.is_alive()


def test_rasa_conversations_on_postgresql_are_purged_by_their_last_event(tmp_path, postgres_url):
    """The cluster profile keeps Rasa's conversations in PostgreSQL (GOVBOT_TRACKER_URL): the same rule applies."""
    import psycopg

    from govbot.purge_command import purge_tracker_database
    from handoff.bus import postgres_conninfo

    conninfo = postgres_conninfo(postgres_url)
    assert conninfo is not None
    settings = Settings(var_dir=tmp_path / "var", tracker_url=postgres_url)
    assert counts(purge(settings, 30, now=NOW))["trackers"] == 0  # no events table yet: nothing to purge
    with psycopg.connect(conninfo, autocommit=True) as db:
        db.execute("CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name "
                   "VARCHAR(255) NOT NULL, timestamp DOUBLE PRECISION, intent_name VARCHAR(255), action_name "
                   "VARCHAR(255), data TEXT)")
        for sender, moments in (("web:old", [OLD, OLD + timedelta(minutes=5)]),
                                ("web:came-back", [OLD, RECENT]), ("web:recent", [RECENT])):
            for moment in moments:
                db.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (%s, 'user', %s, %s)",
                           (sender, moment.timestamp(), '{"text": "hello"}'))

    def senders() -> set[str]:
        with psycopg.connect(conninfo) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT sender_id FROM events")}

    assert purge_tracker_database(postgres_url, NOW - timedelta(days=30), dry_run=True) == 1
    assert senders() == {"web:old", "web:came-back", "web:recent"}
    assert counts(purge(settings, 30, now=NOW))["trackers"] == 1
    assert senders() == {"web:came-back", "web:recent"}
