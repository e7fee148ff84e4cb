"""govbot's tracker store (bot/tracker_store.py) and Rasa patches (bot/rasa_patches.py), inside Rasa's environment.

Each check runs a script with .venv-rasa's Python against Rasa 3.6's own classes: conversations are written turn by
turn the way Rasa's processor does (retrieve, add events, save) into a WindowedSQLTrackerStore and, for comparison,
into Rasa's stock SQLTrackerStore.
"""

from typing import Any

import pytest

from tests.integration.test_sentence_featurizer import run_in_rasa

CONVERSATIONS = """
    import asyncio, json
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet,
                                         UserUttered)
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import WindowedSQLTrackerStore
    from core.query_vector import PARSE_KEY

    domain = Domain.from_yaml('''
    version: "3.1"
    intents: [ask]
    slots:
      language: {type: text, influence_conversation: false, mappings: [{type: custom}]}
      current_item: {type: text, influence_conversation: false, mappings: [{type: custom}]}
      turn: {type: float, influence_conversation: false, mappings: [{type: custom}]}
      once: {type: text, influence_conversation: false, mappings: [{type: custom}]}
    ''')

    def turn_events(number):
        user = UserUttered(f"question {number}", {"name": "ask", "confidence": 1.0},
                           parse_data={PARSE_KEY: {"model": "m", "text": "t", "float32": "AAAA"}})
        events = [user, ActionExecuted("action_answer"), BotUttered(f"answer {number}"),
                  SlotSet("turn", float(number)), SlotSet("current_item", f"item{number % 7}")]
        if number % 5 == 0:
            events.append(SlotSet("language", "en" if number % 10 else "zh"))
        if number == 3:
            events += [SlotSet("once", "set at turn 3"), ActiveLoop("report_form")]
        return events + [ActionExecuted("action_listen")]

    async def talk(store, sender, turns):
        loaded_sizes = []
        for number in range(turns):
            tracker = await store.retrieve(sender)
            if tracker is None:
                tracker = store.init_tracker(sender)
                tracker.update_with_events([ActionExecuted("action_session_start"), SessionStarted(),
                                            ActionExecuted("action_listen")], domain)
            loaded_sizes.append(len(tracker.events))
            tracker.update_with_events(turn_events(number), domain)
            await store.save(tracker)
            if number == turns - 1:
                await store.save(tracker)  # saved twice: nothing is stored twice
        return loaded_sizes

    def stored(store, sender):
        with store.session_scope() as session:
            rows = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).order_by(
                store.SQLEvent.id).all()
            return [json.loads(row.data) for row in rows]

    def comparable(events):
        return [(e["event"], e.get("name"), e.get("value"), e.get("text")) for e in events]

    async def main():
        windowed = WindowedSQLTrackerStore(domain, dialect="sqlite", db="windowed.db", window=20)
        stock = SQLTrackerStore(domain, dialect="sqlite", db="stock.db")
        sizes = await talk(windowed, "citizen", 60)
        await talk(stock, "citizen", 60)
        await talk(windowed, "neighbour", 3)
        recent = await windowed.retrieve("citizen")
        full_windowed = await windowed.retrieve_full_tracker("citizen")
        session_stock = await stock.retrieve("citizen")
        full_stock = await stock.retrieve_full_tracker("citizen")
        kept = stored(windowed, "citizen")
        bad_window = []
        for window in (0, 9, "20", True):
            try:
                WindowedSQLTrackerStore(domain, dialect="sqlite", db="bad.db", window=window)
            except ValueError:
                bad_window.append(window)
        # two servers starting at once: the other one creates the index between this one's check and creation
        import sqlalchemy as sa
        create = sa.Index.create
        def raced(index, bind, checkfirst=False):
            create(index, bind, checkfirst=False)
            create(index, bind, checkfirst=False)  # "index already exists", as when the other server won
        def failing(index, bind, checkfirst=False):
            index.drop(bind, checkfirst=True)  # (made by the table's creation since the index joined its table)
            raise sa.exc.OperationalError("CREATE INDEX", {}, Exception("disk I/O error"))
        race = {}
        for name, replacement in (("raced", raced), ("failing", failing)):
            sa.Index.create = replacement
            try:
                race[name] = WindowedSQLTrackerStore(domain, dialect="sqlite", db=f"{name}.db").has_lookup_index()
            except sa.exc.OperationalError:
                race[name] = "refused"
            finally:
                sa.Index.create = create
        with windowed.engine.connect() as connection:
            journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            indexes = [row[1] for row in connection.exec_driver_sql("PRAGMA index_list(events)")]
        print(json.dumps({
            "loaded_sizes": sizes,
            "recent_events": len(recent.events),
            "recent_slots": recent.current_slot_values(),
            "stock_slots": session_stock.current_slot_values(),
            "recent_loop": recent.active_loop_name, "stock_loop": session_stock.active_loop_name,
            "recent_latest_text": recent.latest_message.text, "stock_latest_text": session_stock.latest_message.text,
            "stored_same_as_stock": comparable(kept) == comparable(stored(stock, "citizen")),
            "full_same_as_stock": comparable([e.as_dict() for e in full_windowed.events])
                                  == comparable([e.as_dict() for e in full_stock.events]),
            "vector_stored": sum(PARSE_KEY in e.get("parse_data", {}) for e in kept),
            "stock_vector_stored": sum(PARSE_KEY in e.get("parse_data", {}) for e in stored(stock, "citizen")),
            "neighbour_events": len(stored(windowed, "neighbour")),
            "bad_window_refused": bad_window,
            "journal": journal, "indexes": indexes, "race": race,
        }, default=str))

    asyncio.run(main())
"""

PATCHES = """
    import json
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from bot import rasa_patches

    rasa_patches.install()
    rasa_patches.install()  # twice: still one patch
    action = RemoteAction("action_answer", None)
    good = {"events": [{"event": "slot", "name": "language", "value": "zh"}],
            "responses": [{"text": "hello", "buttons": []}]}
    refused = {}
    for name, bad in {"slot without a name": {"events": [{"event": "slot", "value": 1}], "responses": []},
                      "unknown event": {"events": [{"event": "no_such_event"}], "responses": []},
                      "responses not a list": {"events": [], "responses": {"text": "x"}},
                      "not an object": []}.items():
        try:
            action._validate_action_result(bad)
            refused[name] = None
        except ValidationError as error:
            refused[name] = error.message

    # the lock store failing around a turn: before it (nothing handled) or only when releasing the lock after it
    import asyncio
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.core.lock_store import InMemoryLockStore

    class Processor:
        handled = 0
        async def handle_message(self, message):
            Processor.handled += 1
            return [{"recipient_id": message.sender_id, "text": "answer"}]

    class AcquireFails(InMemoryLockStore):
        def get_lock(self, conversation_id):
            raise ConnectionError("lock store down")

    class ReleaseFails(InMemoryLockStore):
        def cleanup(self, conversation_id, ticket_number):
            raise ConnectionError("lock store down")

    async def turn(lock_store):
        agent = Agent(lock_store=lock_store)
        agent.tracker_store, agent.processor = object(), Processor()
        rasa_patches._turn_failed.set(False)
        replies = await agent.handle_message(UserMessage("question", sender_id="citizen"))
        return {"replies": replies, "failed": rasa_patches._turn_failed.get(), "handled": Processor.handled}

    lock_failures = {"acquire": asyncio.run(turn(AcquireFails())), "release": asyncio.run(turn(ReleaseFails()))}
    print(json.dumps({"good": action._validate_action_result(good), "refused": refused,
                      "patched": RemoteAction._validate_action_result.__module__, "lock_failures": lock_failures}))
"""


@pytest.fixture(scope="module")
def conversations(tmp_path_factory) -> dict[str, Any]:
    return run_in_rasa(CONVERSATIONS, tmp_path_factory.mktemp("trackers"))


def test_a_turn_loads_the_same_number_of_events_however_long_the_conversation(conversations):
    sizes = conversations["loaded_sizes"]
    assert sizes[0] < sizes[1] < sizes[2] < sizes[3]  # the conversation grows until the window is full...
    # ...then a turn loads the window (20 events), the latest value of the 4 slots and the form set before it
    assert max(sizes) <= 20 + 4 + 1 and sizes[-1] == sizes[30]
    assert conversations["recent_events"] <= 25


def test_the_loaded_tracker_has_the_state_of_the_whole_conversation(conversations):
    """Slots set long before the window (`once` at turn 3), the latest of each slot, the active form and the latest
    message are those of the whole conversation as Rasa's own store loads it."""
    assert conversations["recent_slots"] == conversations["stock_slots"]
    assert conversations["recent_slots"]["once"] == "set at turn 3"
    assert conversations["recent_slots"]["language"] == "en"  # set at turn 55
    assert conversations["recent_loop"] == conversations["stock_loop"] == "report_form"
    assert conversations["recent_latest_text"] == conversations["stock_latest_text"] == "question 59"


def test_every_event_is_stored_once_and_in_order_as_rasa_stores_it(conversations):
    assert conversations["stored_same_as_stock"]
    assert conversations["full_same_as_stock"]  # the API's full tracker (the agent console's transcript)
    assert conversations["neighbour_events"] == 3 + 7 + 6 + 6  # another conversation in the same table


def test_the_query_vector_is_not_stored(conversations):
    assert conversations["vector_stored"] == 0
    assert conversations["stock_vector_stored"] == 60  # Rasa's own store would keep it in every user event


def test_sqlite_tracker_database_uses_a_write_ahead_log_and_a_lookup_index(conversations):
    assert conversations["journal"] == "wal"
    assert "govbot_events_sender_type_name" in conversations["indexes"]


def test_a_lookup_index_made_by_another_server_starting_at_once_is_fine_a_failed_one_is_not(conversations):
    assert conversations["race"] == {"raced": True, "failing": "refused"}


def test_a_window_too_small_or_not_a_number_is_refused(conversations):
    assert conversations["bad_window_refused"] == [0, 9, "20", True]


@pytest.fixture(scope="module")
def patches(tmp_path_factory) -> dict[str, Any]:
    return run_in_rasa(PATCHES, tmp_path_factory.mktemp("patches"))


def test_action_results_are_still_validated_after_the_patch(patches):
    assert patches["patched"] == "bot.rasa_patches"
    assert patches["good"] is True
    for name, message in patches["refused"].items():
        assert message and "Failed to validate Action server response" in message, name


def test_a_lock_store_failing_before_the_turn_fails_it_and_after_the_saved_turn_keeps_the_answer(patches):
    failures = patches["lock_failures"]
    assert failures["acquire"] == {"replies": None, "failed": True, "handled": 0}
    assert failures["release"] == {"replies": [{"recipient_id": "citizen", "text": "answer"}], "failed": False,
                                   "handled": 1}
