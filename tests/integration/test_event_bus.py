"""Live events across gateways through a real PostgreSQL server (LISTEN/NOTIFY): two hubs, desks and buses in
one process stand for two gateways, each with its own connections. Delivered once, own events not twice, queue
places kept local, events too big for a notification rebuilt from the database, and recovery after PostgreSQL
drops the bus's connections."""

import asyncio
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable

import httpx
import psycopg
import pytest

from core.settings import Settings
from handoff.bus import PostgresBus, postgres_conninfo
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.hub import EventQueue, Hub, LiveEvent
from handoff.records import TicketOpening
from handoff.store import TicketStore
from testkit.handoff import EventStream, LiveGateway
from testkit.helpers import FakeRasa, open_conversation

PASSWORD = "violet-harbour-ladder-93"
WAIT = 10.0  # seconds any one thing may take before the test fails
QUIET = 0.3  # seconds to make sure nothing more arrives


@dataclass
class Gateway:
    """What one gateway process has: its hub, its desk (with its own database engine) and its bus."""

    name: str
    hub: Hub
    desk: Desk
    bus: PostgresBus


async def until(condition: Callable[[], object], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def conninfo(url: str) -> str:
    info = postgres_conninfo(url)
    assert info is not None
    return info


@pytest.fixture
async def gateways(postgres_url: str) -> AsyncIterator[tuple[Gateway, Gateway]]:
    made = []
    for name in ("a", "b"):  # one after the other: the first store brings the schema up to date
        store = TicketStore(postgres_url)
        hub = Hub()
        desk = Desk(store, HandoffConfig(heartbeat_seconds=0.2), hub=hub)
        made.append(Gateway(name, hub, desk, PostgresBus(conninfo(postgres_url), hub, backoff=(0.05, 0.5))))
    made[0].desk.store.add_agent("alice", PASSWORD, "Alice Wang")
    for gateway in made:
        await gateway.bus.start()
    await until(lambda: all(g.bus.status == "up" for g in made))
    try:
        yield made[0], made[1]
    finally:
        for gateway in made:
            await gateway.bus.stop()
            gateway.desk.store.engine.dispose()


async def take(queue: EventQueue, timeout: float = WAIT) -> LiveEvent:
    return await asyncio.wait_for(queue.get(), timeout)


async def drained(queue: EventQueue, until_type: str) -> list[LiveEvent]:
    """Every event up to and including the first of type `until_type` (a marker sent last), then none more."""
    events = [await take(queue)]
    while events[-1]["type"] != until_type:
        events.append(await take(queue))
    await asyncio.sleep(QUIET)
    assert queue.empty(), f"more events than expected: {queue.get_nowait()}"
    return events


def handoff_event(message_id: int, text: str = "hello") -> LiveEvent:
    return {"type": "handoff", "id": message_id, "author": "agent", "text": text}


MARKER: LiveEvent = {"type": "marker"}


async def terminate(url: str, application_name: str) -> int:
    """End the server processes of a gateway's bus connections, as an administrator (or a failover) would."""
    async with await psycopg.AsyncConnection.connect(conninfo(url), autocommit=True) as admin:
        rows = await (await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE application_name = %s", (application_name,))).fetchall()
    return len(rows)


def opening(sender: str) -> TicketOpening:
    return TicketOpening(sender_id=sender, channel="web", language="en", reason="user_request")


# --- delivery ---------------------------------------------------------------------------------------------------

async def test_an_event_reaches_the_other_gateway_once_and_its_own_pages_once(gateways):
    a, b = gateways
    with a.hub.citizen_stream("web-1") as page_a, b.hub.citizen_stream("web-1") as page_b, \
            a.hub.agent_stream() as console_a, b.hub.agent_stream() as console_b:
        a.hub.to_citizen("web-1", handoff_event(7))
        a.hub.to_citizen("web-1", MARKER)
        b.hub.to_agents({"type": "queue", "ticket": "20250314-0001"})
        b.hub.to_agents(MARKER)
        expected_page = [handoff_event(7), MARKER]
        assert await drained(page_a, "marker") == expected_page  # delivered locally, its own notification ignored
        assert await drained(page_b, "marker") == expected_page  # relayed once
        expected_console = [{"type": "queue", "ticket": "20250314-0001"}, MARKER]
        assert await drained(console_b, "marker") == expected_console
        assert await drained(console_a, "marker") == expected_console
    with b.hub.citizen_stream("web-2") as other:  # another conversation's page gets nothing
        a.hub.to_citizen("web-1", handoff_event(8))
        b.hub.to_citizen("web-2", MARKER)
        assert await drained(other, "marker") == [MARKER]


async def test_queue_places_stay_on_the_gateway_that_computed_them(gateways):
    a, b = gateways
    await a.desk.open_ticket(opening("web-1"))
    with a.hub.citizen_stream("web-1") as page_a, b.hub.citizen_stream("web-1") as page_b:
        await a.desk.announce_places()
        a.hub.to_citizen("web-1", MARKER)  # relayed after anything the announcement would have relayed
        [place, _] = await drained(page_a, "marker")
        assert (place["type"], place["position"], place["status"]) == ("ticket", 1, "waiting")
        assert await drained(page_b, "marker") == [MARKER]  # b computes places for its own pages itself
        await b.desk.announce_places()
        assert (await take(page_b))["type"] == "ticket"
        await asyncio.sleep(QUIET)
        assert page_a.empty()


async def test_an_agents_reply_on_one_gateway_reaches_the_citizens_stream_on_the_other(gateways):
    a, b = gateways
    await a.desk.open_ticket(opening("web-1"))
    number = a.desk.store.open_ticket_of("web-1").number
    stream = b.desk.citizen_events("web-1")
    state = await asyncio.wait_for(anext(stream), WAIT)
    assert (state["type"], state["status"]) == ("ticket", "waiting")
    alice = a.desk.store.agent("alice")
    await a.desk.claim(number, alice)
    reply = await a.desk.reply(number, alice, "bring your ID card")
    joined = await asyncio.wait_for(anext(stream), WAIT)
    answer = await asyncio.wait_for(anext(stream), WAIT)
    assert (joined["author"], answer["author"], answer["id"], answer["text"], answer["agent"]) == \
        ("system", "agent", reply.id, "bring your ID card", "Alice Wang")
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(stream), QUIET)
    await stream.aclose()


async def test_an_event_too_big_to_notify_is_rebuilt_from_the_database(gateways):
    a, b = gateways
    await a.desk.open_ticket(opening("web-1"))
    number = a.desk.store.open_ticket_of("web-1").number
    alice = a.desk.store.agent("alice")
    await a.desk.claim(number, alice)
    stream = b.desk.citizen_events("web-1", after=a.desk.store.citizen_messages_after("web-1", 0)[-1][1].id)
    assert (await asyncio.wait_for(anext(stream), WAIT))["type"] == "ticket"
    long_text = "请携带身份证原件和复印件到政务服务中心办理。" * 400  # 8,400 characters, about 25 kB as UTF-8
    reply = await a.desk.reply(number, alice, long_text)
    rebuilt = await asyncio.wait_for(anext(stream), WAIT)
    assert (rebuilt["type"], rebuilt["id"], rebuilt["text"], rebuilt["agent"]) == \
        ("handoff", reply.id, long_text, "Alice Wang")
    assert (await asyncio.wait_for(anext(stream), WAIT))["type"] == "ticket"  # and the ticket's state
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(stream), QUIET)
    await stream.aclose()


# --- PostgreSQL going away ------------------------------------------------------------------------------------------

async def test_a_gateway_whose_connections_are_terminated_reconnects_and_delivers_locally_meanwhile(
        gateways, postgres_url, caplog):
    a, b = gateways
    caplog.set_level("INFO", "govbot.handoff.bus")
    with a.hub.citizen_stream("web-1") as page_a, b.hub.citizen_stream("web-1") as page_b:
        assert await terminate(postgres_url, b.bus.application_name) == 2  # its listener and its notifier
        await until(lambda: b.bus.status != "up" or b.bus.connections > 1)
        b.hub.to_citizen("web-1", handoff_event(1))  # whatever the bus does, its own pages get it at once
        assert await take(page_b, 1) == handoff_event(1)
        await until(lambda: b.bus.connections == 2 and b.bus.status == "up")
        a.hub.to_citizen("web-1", handoff_event(2))
        a.hub.to_citizen("web-1", MARKER)
        events = await drained(page_b, "marker")
        # the reconnection tells the streams to catch up (what was notified meanwhile is lost to it)
        assert [e for e in events if e["type"] != "resync"] == [handoff_event(2), MARKER]
        # b's own event reached a once: sent when b's notifier was back (or before it was terminated), so
        # before b's next one, in any order with a's own
        b.hub.to_citizen("web-1", {"type": "b-marker"})
        events = await drained(page_a, "b-marker")
        assert sorted((e["type"], e.get("id", 0)) for e in events if e["type"] != "resync") == \
            [("b-marker", 0), ("handoff", 1), ("handoff", 2), ("marker", 0)]
    down = [r for r in caplog.records if r.getMessage() == "event_bus_down"]
    assert down and all(set(r.fields) == {"origin", "error", "retry_in"} for r in down)  # type: ignore[attr-defined]


async def test_events_published_while_the_notifier_is_gone_are_sent_after_the_reconnection(gateways, postgres_url):
    a, b = gateways
    with b.hub.citizen_stream("web-1") as page_b:
        await terminate(postgres_url, a.bus.application_name)
        a.hub.to_citizen("web-1", handoff_event(3))  # queued: a's notifier is gone or about to be
        a.hub.to_citizen("web-1", MARKER)
        events = await drained(page_b, "marker")
    assert [e for e in events if e["type"] != "resync"] == [handoff_event(3), MARKER]
    assert a.bus.connections == 2


async def test_a_citizens_stream_catches_up_on_what_its_gateway_missed_while_the_bus_was_down(gateways):
    a, b = gateways
    await a.desk.open_ticket(opening("web-1"))
    number = a.desk.store.open_ticket_of("web-1").number
    alice = a.desk.store.agent("alice")
    stream = b.desk.citizen_events("web-1")
    assert (await asyncio.wait_for(anext(stream), WAIT))["type"] == "ticket"
    await b.bus.stop()  # b hears nothing now
    await a.desk.claim(number, alice)
    missed = await a.desk.reply(number, alice, "sent while b was not listening")
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(QUIET)
    assert not pending.done()
    await b.bus.start()  # listening again: every stream on b catches up from the database
    events = [await asyncio.wait_for(pending, WAIT)]
    while events[-1]["type"] != "ticket":
        events.append(await asyncio.wait_for(anext(stream), WAIT))
    assert [(e["type"], e.get("author")) for e in events] == [("handoff", "system"), ("handoff", "agent"),
                                                               ("ticket", None)]
    assert events[1]["id"] == missed.id and events[-1]["status"] == "assigned"
    later = await a.desk.reply(number, alice, "and live again")
    assert (await asyncio.wait_for(anext(stream), WAIT))["id"] == later.id  # once: nothing repeated
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(anext(stream), QUIET)
    await stream.aclose()


async def test_a_console_is_told_to_refresh_the_open_tickets_after_a_reconnection(gateways, postgres_url):
    a, b = gateways
    await a.desk.open_ticket(opening("web-1"))
    number = a.desk.store.open_ticket_of("web-1").number
    token = b.desk.store.log_in("alice", PASSWORD)
    stream = b.desk.agent_events(b.desk.store.agent("alice"), token)
    assert (await anext(stream))["type"] == "hello"
    await terminate(postgres_url, b.bus.application_name)
    assert await asyncio.wait_for(anext(stream), WAIT) == {"type": "message", "ticket": number}
    await stream.aclose()


# --- two real gateways ------------------------------------------------------------------------------------------

def test_two_gateways_behind_a_load_balancer_share_live_events(postgres_url, tmp_path):
    with FakeRasa(reply=lambda sender, message: [{"recipient_id": sender, "text": "ok"}]).serving() as rasa_url:
        store = TicketStore(postgres_url)
        store.add_agent("alice", PASSWORD, "Alice")
        settings = Settings(rasa_url=rasa_url, var_dir=tmp_path / "var", tts_gtts=False, database_url=postgres_url,
                            event_bus="postgres", handoff_heartbeat_seconds=0.3,
                            conversation_secret="bus-tests-conversation-secret")
        with LiveGateway(settings) as first, LiveGateway(settings) as second:
            for gateway in (first, second):
                deadline = time.monotonic() + WAIT
                while gateway.app.state.event_bus.status != "up":
                    assert time.monotonic() < deadline, "the bus did not come up"
                    time.sleep(0.02)
            citizen = open_conversation(first.url)
            store.open_ticket(TicketOpening(sender_id=citizen.sender, channel="web", language="en",
                                            reason="user_request"))
            number = store.open_ticket_of(citizen.sender).number
            with httpx.Client(base_url=first.url, timeout=20, headers={"Origin": first.url}) as agent, \
                    EventStream(f"{second.url}/api/events?sender={citizen.sender}&token={citizen.token}") as page:
                assert page.status == 200
                page.next(lambda e: e.get("event") == "ticket")
                assert agent.post("/api/agent/login", json={"username": "alice", "password": PASSWORD}).is_success
                with EventStream(f"{second.url}/api/agent/events", cookies=dict(agent.cookies)) as console:
                    console.next(lambda e: e.get("event") == "hello")
                    assert agent.post(f"/api/agent/tickets/{number}/claim", json={}).is_success
                    assert console.next(lambda e: e.get("event") == "queue")["data"]["ticket"] == number
                sent = agent.post(f"/api/agent/tickets/{number}/reply", json={"text": "hello from the first"})
                assert sent.is_success, sent.text
                event = page.next(lambda e: e.get("event") == "handoff" and e["data"]["author"] == "agent")
                assert event["data"]["text"] == "hello from the first" and event["id"] == str(sent.json()["id"])
        store.engine.dispose()
