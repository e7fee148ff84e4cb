"""Rasa's SQL tracker store at a cost per turn that does not grow with the conversation.

Rasa 3.6's SQLTrackerStore loads every event of the conversation's session at every message, replays them, sends
them all to the action server with every action call, and finds which events are new by counting the stored rows:
a conversation's 200th message cost 3.4 times its first (docs/performance.md). `WindowedSQLTrackerStore` stores
the same rows in the same table, and:

- `retrieve` loads the session's latest `window` events, preceded by what the events before them left behind: the
  latest value of each slot and the latest active loop. Every slot, the current form and the last turns (all the
  rules and the actions look at) are as with the whole session; the events themselves stay stored, and
  `retrieve_full_tracker` (Rasa's API, the agent console's transcript) still returns them all.
- `save` stores the events added since the tracker was loaded, known from what was loaded instead of from a count
  of rows; a tracker it did not load (Rasa's API replacing events) is saved as Rasa does.
- the NLU's one-turn query vector (core.query_vector) is dropped from the parse data before an event is stored.

endpoints.yml selects it with `type: bot.tracker_store.WindowedSQLTrackerStore`, with SQLTrackerStore's settings
(dialect, url, db, username, password...) and `window` (default 30 events, three or four turns).
"""

import itertools
import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActiveLoop, Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from core.query_vector import PARSE_KEY

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 30
LOOKUP_INDEX = "govbot_events_sender_type_name"
_LOADED = "_govbot_events_in_store"  # on a tracker this store loaded: how many of its events are stored


class WindowedSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that loads the latest `window` events of a session (plus the state before them) and saves the
    events added since."""

    def __init__(self, *args: Any, window: int = DEFAULT_WINDOW, **kwargs: Any) -> None:
        if not isinstance(window, int) or isinstance(window, bool) or window < 10:
            raise ValueError(f"WindowedSQLTrackerStore: window must be an integer of at least 10, not {window!r}")
        super().__init__(*args, **kwargs)
        self.window = window
        engine: Any = self.__dict__["engine"]  # made by SQLTrackerStore.__init__ (untyped here)
        if engine.dialect.name == "sqlite":
            unpooled, self.engine = engine, pooled_sqlite_engine(engine.url)
            unpooled.dispose()
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        self.add_lookup_index()

    def add_lookup_index(self) -> None:
        """An index on (sender, event type, slot or action name), so that the session start and the latest value of
        each slot are found without reading every stored event of the conversation. Created once (if missing)."""
        index = sa.Index(LOOKUP_INDEX, self.SQLEvent.sender_id, self.SQLEvent.type_name, self.SQLEvent.action_name)
        try:
            index.create(self.engine, checkfirst=True)
        except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as error:
            # several Rasa servers starting at once: another one created it between the check and the creation
            # (PostgreSQL says so with a unique violation in its catalogue)
            if not self.has_lookup_index():
                raise
            log.info("tracker store lookup index created by another server: %s", type(error).__name__)

    def has_lookup_index(self) -> bool:
        """Whether the events table has the lookup index."""
        indexes = sa.inspect(self.engine).get_indexes(self.SQLEvent.__tablename__)
        return any(index["name"] == LOOKUP_INDEX for index in indexes)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The tracker of the latest session, from its latest events and the state before them."""
        with self.session_scope() as session:
            rows = self.recent_rows(session, sender_id)
            if not rows or not self.domain:
                return None
            events = [json.loads(row.data) for row in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        setattr(tracker, _LOADED, len(tracker.events))
        return tracker

    def recent_rows(self, session: Any, sender_id: Text) -> List[Any]:
        """The rows to build the tracker from, in the order they were stored."""
        event = self.SQLEvent
        in_session = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).order_by(None)
        window = list(reversed(in_session.order_by(event.id.desc()).limit(self.window).all()))
        if not window:
            return []
        before = in_session.filter(event.id < window[0].id)
        latest_slots = before.filter(event.type_name == SlotSet.type_name).with_entities(
            sa.func.max(event.id)).group_by(event.action_name)
        latest_loop = before.filter(event.type_name == ActiveLoop.type_name).with_entities(sa.func.max(event.id))
        ids = [row_id for (row_id,) in [*latest_slots.all(), *latest_loop.all()] if row_id is not None]
        state = session.query(event).filter(event.id.in_(ids)).order_by(event.id).all() if ids else []
        return [*state, *window]

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events (without the NLU's one-turn query vector)."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = getattr(tracker, _LOADED, None)
            new_events: Iterable[Event] = (itertools.islice(tracker.events, stored, None) if stored is not None
                                           else self._additional_events(session, tracker))
            for event in new_events:
                data = storable(event.as_dict())
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"), data=json.dumps(data)))
            session.commit()
        setattr(tracker, _LOADED, len(tracker.events))


def pooled_sqlite_engine(url: Any) -> Any:
    """An engine for a SQLite tracker database that keeps its connections open (SQLAlchemy 1.4 opens and closes one
    per session for SQLite files, and closing the last connection checkpoints the log: 20 % of Rasa's time), writes
    through a write-ahead log synced at checkpoints, and waits for a busy database up to 5 s. So a commit does not
    wait for the disk, readers do not block the writer, and several Rasa processes can share the file. A committed
    turn survives a crash of the process; a power cut can lose the last turns, never corrupt the file."""
    engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=4,
                              connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def storable(data: Dict[Text, Any]) -> Dict[Text, Any]:
    """An event's dictionary as it is stored: a user event's parse data without the query vector."""
    parse_data = data.get("parse_data")
    if isinstance(parse_data, dict) and PARSE_KEY in parse_data:
        data = {**data, "parse_data": {key: value for key, value in parse_data.items() if key != PARSE_KEY}}
    return data
