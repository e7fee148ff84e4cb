"""The pure parts of live events across gateways (no server): the hub's relay and catch-up signal, notification
payloads, the database URL, the settings, the Telegram lock's key, and a desk's streams catching up."""

import asyncio
import json

import pytest

from channels.telegram.leader import lock_key
from core.settings import Settings, SettingsError
from handoff.bus import MAX_PAYLOAD_BYTES, deliver, encode, postgres_conninfo
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.hub import Hub, Relayed, SeenIds, resync_event
from handoff.records import TicketOpening
from handoff.store import TicketStore
from testkit.handoff import Clock

EVENT = {"type": "handoff", "id": 5, "author": "agent", "text": "请带上身份证"}


def test_the_hub_relays_what_it_sends_everywhere_but_not_what_is_for_this_gateway_only():
    hub, relayed = Hub(), []
    hub.relay_to(relayed.append)
    with hub.citizen_stream("web-1") as page, hub.agent_stream() as console:
        hub.to_citizen("web-1", EVENT)
        hub.to_agents({"type": "queue", "ticket": "1"})
        hub.here_to_citizen("web-1", {"type": "ticket", "position": 2})  # e.g. the queue place
        hub.here_to_agents({"type": "message", "ticket": "1"})
        assert page.qsize() == 2 and console.qsize() == 2
    assert relayed == [Relayed("citizen", EVENT, "web-1"), Relayed("agents", {"type": "queue", "ticket": "1"})]
    hub.relay_to(None)
    hub.to_agents({"type": "queue", "ticket": "2"})
    assert len(relayed) == 2


def test_a_resync_reaches_one_conversations_pages_or_every_stream():
    hub = Hub()
    with hub.citizen_stream("web-1") as one, hub.citizen_stream("web-2") as two, hub.agent_stream() as console:
        hub.resync("web-1")
        assert (one.qsize(), two.qsize(), console.qsize()) == (1, 0, 0)
        hub.resync()
        assert (one.qsize(), two.qsize(), console.qsize()) == (2, 1, 1)
        assert one.get_nowait() == resync_event()


def test_seen_ids_remember_what_was_sent_and_forget_below_a_replay():
    seen = SeenIds(10)
    assert seen.has(3) and seen.has(10) and not seen.has(11)
    seen.add(14)
    assert seen.has(14) and not seen.has(12)
    seen.caught_up(12)
    assert seen.through == 12 and seen.above == {14}
    seen.caught_up(14)
    assert seen.above == set()
    seen.caught_up(1)
    assert seen.through == 14


# --- notifications ---------------------------------------------------------------------------------------------

def test_a_small_event_travels_whole_and_a_big_one_as_a_pointer():
    small = json.loads(encode(Relayed("citizen", EVENT, "web-1"), "gw1"))
    assert small == {"o": "gw1", "a": "citizen", "s": "web-1", "e": EVENT}
    big_event = {**EVENT, "text": "请" * 4000}  # 12,000 bytes as UTF-8
    payload = encode(Relayed("citizen", big_event, "web-1"), "gw1")
    assert len(payload.encode()) < MAX_PAYLOAD_BYTES
    assert json.loads(payload) == {"o": "gw1", "a": "citizen", "s": "web-1"}
    assert "请" in encode(Relayed("citizen", EVENT, "web-1"), "gw1")  # not \\u-escaped: more fits


def test_a_notification_reaches_this_gateways_streams_unless_it_is_its_own():
    hub = Hub()
    relayed = []
    hub.relay_to(relayed.append)  # what arrives from another gateway is never relayed on
    with hub.citizen_stream("web-1") as page, hub.agent_stream() as console:
        assert not deliver(hub, encode(Relayed("citizen", EVENT, "web-1"), "me"), "me")
        assert page.empty()
        assert deliver(hub, encode(Relayed("citizen", EVENT, "web-1"), "other"), "me")
        assert page.get_nowait() == EVENT
        assert deliver(hub, encode(Relayed("citizen", {**EVENT, "text": "x" * 9000}, "web-1"), "other"), "me")
        assert page.get_nowait() == resync_event()  # too big: catch up from the database
        assert deliver(hub, encode(Relayed("agents", {"type": "queue", "ticket": "1"}), "other"), "me")
        assert console.get_nowait() == {"type": "queue", "ticket": "1"}
        for junk in ("", "[]", "{}", '{"o": "x", "a": "nobody", "s": "web-1", "e": {}}', '{"o": "x", "a": "citizen"}',
                     '{"o": "x", "a": "citizen", "s": "web-1", "e": 3}'):
            assert not deliver(hub, junk, "me")
        assert page.empty() and console.empty()
    assert relayed == []


def test_the_sqlalchemy_url_becomes_a_libpq_one():
    assert postgres_conninfo("postgresql+psycopg://govbot:p%40ss@db.example:5433/govbot?sslmode=require") == \
        "postgresql://govbot:p%40ss@db.example:5433/govbot?sslmode=require"
    assert postgres_conninfo("postgresql://postgres@127.0.0.1/x") == "postgresql://postgres@127.0.0.1/x"
    assert postgres_conninfo("sqlite:///var/govbot.db") is None


# --- settings ----------------------------------------------------------------------------------------------------

def test_the_postgres_bus_needs_a_postgresql_database(monkeypatch):
    assert Settings().event_bus == "local"
    with pytest.raises(SettingsError, match="GOVBOT_EVENT_BUS=postgres needs GOVBOT_DATABASE_URL"):
        Settings(event_bus="postgres")
    with pytest.raises(SettingsError, match="PostgreSQL URL"):
        Settings(event_bus="postgres", database_url="sqlite:///x.db")
    with pytest.raises(SettingsError, match="GOVBOT_EVENT_BUS must be local or postgres"):
        Settings(event_bus="redis")
    monkeypatch.setenv("GOVBOT_EVENT_BUS", "Postgres")
    monkeypatch.setenv("GOVBOT_DATABASE_URL", "postgresql+psycopg://govbot@db.example/govbot")
    monkeypatch.setenv("GOVBOT_TELEGRAM_LEADER_RETRY", "2.5")
    settings = Settings.from_env()
    assert (settings.event_bus, settings.telegram_leader_retry) == ("postgres", 2.5)
    monkeypatch.setenv("GOVBOT_TELEGRAM_LEADER_RETRY", "0")
    with pytest.raises(SettingsError, match="GOVBOT_TELEGRAM_LEADER_RETRY must be positive"):
        Settings.from_env()


def test_the_polling_locks_key_is_the_same_everywhere_and_differs_per_bot():
    key = lock_key("123456")
    assert key == lock_key("123456") != lock_key("654321")
    assert -2**63 <= key < 2**63


# --- a desk's streams catching up ----------------------------------------------------------------------------------

@pytest.fixture
def desk(tmp_path):
    store = TicketStore(f"sqlite:///{tmp_path / 'handoff.db'}", clock=Clock())
    store.add_agent("alice", "violet-harbour-ladder-93", "Alice Wang")
    yield Desk(store, HandoffConfig(heartbeat_seconds=0.05))
    store.engine.dispose()


async def test_a_citizens_stream_catches_up_after_a_resync_without_repeats(desk):
    store = desk.store
    await desk.open_ticket(TicketOpening(sender_id="web-1", channel="web", language="en", reason="user_request"))
    number = store.open_ticket_of("web-1").number
    stream = desk.citizen_events("web-1")
    assert (await anext(stream))["type"] == "ticket"
    store.claim(number, "alice")
    missed = store.add_message(number, "agent", "stored on another gateway", "alice")  # its event never came
    desk.hub.here_to_citizen("web-1", {"type": "handoff", "id": missed.id + 1, "text": "came live"})
    desk.hub.resync("web-1")
    assert (await anext(stream))["id"] == missed.id + 1
    caught_up = await anext(stream)
    assert (caught_up["id"], caught_up["text"], caught_up["agent"]) == (missed.id, "stored on another gateway",
                                                                         "Alice Wang")
    assert (await anext(stream))["status"] == "assigned"  # then the ticket's state
    desk.hub.here_to_citizen("web-1", {"type": "handoff", "id": missed.id, "text": "relayed late"})
    desk.hub.resync("web-1")
    assert (await anext(stream))["type"] == "ticket"  # nothing sent twice
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(stream), 0.2)
    await stream.aclose()


async def test_a_console_refreshes_every_open_ticket_after_a_resync(desk):
    store = desk.store
    token = store.log_in("alice", "violet-harbour-ladder-93")
    stream = desk.agent_events(store.agent("alice"), token)
    assert (await anext(stream))["type"] == "hello"
    desk.hub.resync()
    assert await anext(stream) == {"type": "queue", "ticket": ""}  # nothing open: the queue
    await desk.open_ticket(TicketOpening(sender_id="web-1", channel="web", language="en", reason="user_request"))
    assert (await anext(stream))["type"] == "queue"
    desk.hub.resync()
    assert await anext(stream) == {"type": "message", "ticket": store.open_ticket_of("web-1").number}
    await stream.aclose()
