"""`govbot purge --older-than DAYS [--dry-run]`, and the retention run `govbot run` repeats every hour.

What is past retention goes (docs/privacy.md): Rasa's conversations (trackers) whose last event is older,
closed tickets with their messages and audit trails, the question and conversation of ratings (the level
stays, for statistics), and cached speech audio. Voice uploads are never kept on disk. Each store is purged
in its own transaction and reports a count; one store failing does not stop the others.
"""

import argparse
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional

from core.settings import Settings
from govbot.periodic import PeriodicRun

log = logging.getLogger("govbot.purge")

RETENTION_INTERVAL_SECONDS = 3600.0
TRACKER_BUSY_SECONDS = 30.0  # how long to wait for Rasa's write lock on the tracker store


@dataclass(frozen=True)
class PurgeStep:
    """What one store purged (or would purge, in a dry run): a count, or the error that stopped it."""

    store: str
    what: str
    count: int = 0
    error: Optional[str] = None


def purge_trackers(db: Path, before: datetime, dry_run: bool = False) -> int:
    """Delete the Rasa conversations (SQL tracker store, table events) whose last event is before `before`;
    how many conversations. A missing file or table is nothing to purge."""
    if not db.is_file():
        return 0
    connection = sqlite3.connect(f"{db.resolve().as_uri()}?mode=rw", uri=True, timeout=TRACKER_BUSY_SECONDS,
                                 isolation_level=None)  # transactions by hand: BEGIN IMMEDIATE ... COMMIT
    try:
        if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").fetchone() \
                is None:
            return 0
        connection.execute("BEGIN IMMEDIATE")
        old = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < ?"
        cutoff = (before.timestamp(),)
        count = int(connection.execute(f"SELECT COUNT(*) FROM ({old})", cutoff).fetchone()[0])
        if count and not dry_run:
            connection.execute(f"DELETE FROM events WHERE sender_id IN ({old})", cutoff)
        connection.execute("COMMIT")
        return count
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()


def purge_tracker_database(url: str, before: datetime, dry_run: bool = False) -> int:
    """`purge_trackers` for a tracker store on a database server (SQLAlchemy URL): the same conversations go, in
    one transaction; a database without the events table is nothing to purge."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            old = "SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"
            cutoff = {"cutoff": before.timestamp()}
            count = int(connection.execute(text(f"SELECT COUNT(*) FROM ({old}) AS old"), cutoff).scalar_one())
            if count and not dry_run:
                connection.execute(text(f"DELETE FROM events WHERE sender_id IN ({old})"), cutoff)
            return count
    finally:
        engine.dispose()


def _purge_conversations(settings: Settings, before: datetime, dry_run: bool) -> int:
    """Rasa's conversations: on the tracker database server (GOVBOT_TRACKER_URL), else in the SQLite file."""
    if settings.tracker_url:
        return purge_tracker_database(settings.tracker_url, before, dry_run)
    return purge_trackers(settings.tracker_db, before, dry_run)


def purge_speech_cache(folder: Path, before: datetime, dry_run: bool = False) -> int:
    """Delete the cached speech audio files last written before `before` (channels.voice.tts does it); how many."""
    from channels.voice.tts import purge_cached_audio

    cutoff = before.timestamp()
    if not dry_run:
        return purge_cached_audio(folder, 0, now=cutoff)
    count = 0
    for path in folder.glob("*/*"):  # the same files purge_cached_audio looks at
        try:
            count += path.is_file() and path.stat().st_mtime < cutoff
        except OSError:  # gone meanwhile
            continue
    return count


def _purge_tickets(settings: Settings, before: datetime, dry_run: bool) -> int:
    from core.database import database_url
    from handoff.store import TicketStore

    store = TicketStore(database_url(settings))
    try:
        return store.purge_closed(before, dry_run)
    finally:
        store.engine.dispose()


def _purge_sessions(settings: Settings, dry_run: bool) -> int:
    from core.database import database_url
    from handoff.store import TicketStore

    store = TicketStore(database_url(settings))
    try:
        return store.purge_expired_sessions(dry_run)
    finally:
        store.engine.dispose()


def _forget_ratings(settings: Settings, before: datetime, dry_run: bool) -> int:
    from core.database import database_url
    from core.ratings import RatingStore

    store = RatingStore(database_url(settings))
    try:
        return store.forget_text(before, dry_run)
    finally:
        store.engine.dispose()


def purge(settings: Settings, older_than_days: float, dry_run: bool = False,
          now: Optional[datetime] = None) -> list[PurgeStep]:
    """Purge every store of what is older than `older_than_days` days (count only, with dry_run)."""
    try:
        before = (now or datetime.now(timezone.utc)) - timedelta(days=older_than_days)
    except OverflowError:  # longer ago than the calendar goes: nothing is that old
        before = datetime.min.replace(tzinfo=timezone.utc)
    steps: list[tuple[str, str, Callable[[], int]]] = [
        ("trackers", "Rasa conversations", lambda: _purge_conversations(settings, before, dry_run)),
        ("tickets", "closed tickets", lambda: _purge_tickets(settings, before, dry_run)),
        ("sessions", "ended agent sessions", lambda: _purge_sessions(settings, dry_run)),
        ("ratings", "ratings' questions", lambda: _forget_ratings(settings, before, dry_run)),
        ("speech", "cached speech files", lambda: purge_speech_cache(settings.tts_cache_dir, before, dry_run)),
    ]
    done = []
    for store, what, step in steps:
        try:
            done.append(PurgeStep(store, what, step()))
        except Exception as error:  # one store's failure must not keep the others' data
            done.append(PurgeStep(store, what, error=f"{type(error).__name__}: {error}"))
    fields = {step.store: step.count if step.error is None else "failed" for step in done}
    log.info("purge_dry_run" if dry_run else "purged", extra={"fields": {"older_than_days": older_than_days,
                                                                        **fields}})
    return done


class RetentionRun(PeriodicRun):
    """Purges what is older than settings.retention_days at once and then every hour, in a daemon thread."""

    def __init__(self, settings: Settings, interval: float = RETENTION_INTERVAL_SECONDS) -> None:
        super().__init__(interval, "govbot-retention")
        self.settings = settings

    def run_once(self) -> list[PurgeStep]:
        """One purge; each store's failure logged."""
        steps = purge(self.settings, self.settings.retention_days)
        for step in steps:
            if step.error:
                log.warning("purge_failed", extra={"fields": {"store": step.store, "error": step.error}})
        return steps


def _days(value: str) -> float:
    """A number of days above 0 (an argparse type)."""
    try:
        days = float(value)
    except ValueError:
        days = float("nan")
    if not 0 < days < float("inf"):
        raise argparse.ArgumentTypeError(f"a number of days above 0 is needed, not {value!r}")
    return days


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    """Delete conversations, closed tickets, ratings' questions and cached speech older than DAYS days."""
    verb = "would purge" if args.dry_run else "purged"
    failed = False
    for step in purge(settings, args.older_than, args.dry_run):
        if step.error is None:
            print(f"govbot: {verb} {step.count} {step.what}")
        else:
            failed = True
            print(f"govbot: purging {step.what} failed: {step.error}")
    return 1 if failed else 0


def add_purge_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register `govbot purge --older-than DAYS [--dry-run]`."""
    command = commands.add_parser("purge", help="delete personal data past retention (docs/privacy.md)",
                                  description=cmd_purge.__doc__)
    command.add_argument("--older-than", type=_days, required=True, metavar="DAYS",
                         help="purge what is older than this many days (GOVBOT_RETENTION_DAYS is what "
                              "`govbot run` uses)")
    command.add_argument("--dry-run", action="store_true", help="count what would be purged; delete nothing")
    command.set_defaults(handler=cmd_purge)
