"""The handoff desk without HTTP (a SQLite file, no server): replaying what a page missed, the live stream,
delivery to channels, and handing the conversation back to the bot."""

import asyncio
from typing import Any

import pytest

from core.messages import BotMessage
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.events import replay_events
from handoff.records import Message, Ticket, TicketOpening
from handoff.store import TicketStore
from testkit.handoff import START, Clock

PASSWORD = "violet-harbour-ladder-93"


class FakeBot:
    """A BotLink that records what it was told, or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []
        self.fail = fail

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        if self.fail:
            raise RuntimeError("the bot is down")
        self.appended.append((sender, events))


@pytest.fixture
def store(tmp_path) -> TicketStore:
    store = TicketStore(f"sqlite:///{tmp_path / 'handoff.db'}", clock=Clock())
    store.add_agent("alice", PASSWORD, "Alice Wang")
    yield store
    store.engine.dispose()


@pytest.fixture
def bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
def desk(store, bot) -> Desk:
    return Desk(store, HandoffConfig(heartbeat_seconds=0.05), bot=bot)


def opening(sender: str = "web-1", channel: str = "web") -> TicketOpening:
    return TicketOpening(sender_id=sender, channel=channel, language="en", reason="user_request")


async def claimed_ticket(desk: Desk, sender: str = "web-1", channel: str = "web") -> Ticket:
    await desk.open_ticket(opening(sender, channel), [("citizen", "a person please", START)])
    ticket = desk.store.open_ticket_of(sender)
    assert ticket is not None
    await desk.claim(ticket.number, desk.store.agent("alice"))
    return desk.store.ticket(ticket.number)


# --- replaying what a page missed ------------------------------------------------------------------------------

def _ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = dict(id=1, number="20250314-0001", sender_id="web-1", channel="web", language="en",
                                  large_text=False, voice=False, reason="user_request", item=None, status="closed",
                                  agent="alice", created_at=START, claimed_at=START, first_response_at=START,
                                  last_citizen_at=None, last_agent_at=START, closed_at=START, closed_by="agent",
                                  resolution="done", citizen_rating=None)
    return Ticket(**(values | changes))


def _message(id: int, author: str, agent: str | None = None) -> Message:
    return Message(id=id, ticket_id=1, author=author, agent=agent, text=f"message {id}", created_at=START)


def test_replayed_events_show_display_names_and_rating_buttons_only_on_the_last_closing_message():
    ticket = _ticket()
    missed = [(ticket, _message(3, "system")), (ticket, _message(4, "agent", "alice")), (ticket, _message(6, "system"))]
    events = replay_events(missed, {"alice": "Alice Wang"})
    assert [(e["id"], e["author"], e["agent"]) for e in events] == [(3, "system", None), (4, "agent", "Alice Wang"),
                                                                      (6, "system", None)]
    assert [len(e["buttons"]) for e in events] == [0, 0, 5]
    assert all(e["type"] == "handoff" and e["ticket"] == {"number": ticket.number, "status": "closed",
                                                           "agent": "Alice Wang"} for e in events)


@pytest.mark.parametrize("changes", [{"citizen_rating": 4}, {"closed_by": "citizen"}, {"status": "assigned"}])
def test_no_rating_buttons_when_rated_cancelled_or_still_open(changes):
    [event] = replay_events([(_ticket(**changes), _message(6, "system"))], {})
    assert event["buttons"] == []
    assert event["ticket"]["agent"] is None  # an agent who is gone is shown without a name


async def test_the_citizen_stream_replays_after_an_id_then_goes_live_without_repeats(desk):
    ticket = await claimed_ticket(desk)
    joined = desk.store.citizen_messages_after("web-1", 0)[-1][1].id
    first = await desk.reply(ticket.number, desk.store.agent("alice"), "first answer")
    stream = desk.citizen_events("web-1", after=joined)
    replayed = await anext(stream)
    assert (replayed["id"], replayed["text"], replayed["agent"]) == (first.id, "first answer", "Alice Wang")
    state = await anext(stream)
    assert (state["type"], state["number"], state["status"], state["agent"]) == \
        ("ticket", ticket.number, "assigned", "Alice Wang")
    assert desk.hub.watching("web-1")
    desk.hub.to_citizen("web-1", {"type": "handoff", "id": first.id, "text": "sent twice"})  # replayed already
    second = await desk.reply(ticket.number, desk.store.agent("alice"), "second answer")
    live = await asyncio.wait_for(anext(stream), 5)
    assert (live["id"], live["text"]) == (second.id, "second answer")
    await stream.aclose()
    assert not desk.hub.watching("web-1")  # closing the stream unsubscribes


async def test_a_stream_from_the_start_of_a_closed_conversation_has_no_ticket_state(desk):
    ticket = await claimed_ticket(desk)
    await desk.close(ticket.number, desk.store.agent("alice"), "explained")
    stream = desk.citizen_events("web-1")
    events = [await anext(stream), await anext(stream)]
    assert [e["author"] for e in events] == ["system", "system"]
    assert [len(e["buttons"]) for e in events] == [0, 5]
    with pytest.raises(asyncio.TimeoutError):  # nothing more: no "ticket" event, nothing open
        await asyncio.wait_for(anext(stream), 0.2)
    await stream.aclose()


async def test_the_agent_stream_says_hello_and_keeps_the_session_alive(desk, store):
    token = store.log_in("alice", PASSWORD)
    agent = store.session_agent(token)
    stream = desk.agent_events(agent, token)
    assert await anext(stream) == {"type": "hello", "agent": "alice"}
    store.clock.advance(seconds=60)
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.3)  # a few heartbeats of silence
    assert store.agent("alice").last_seen_at == store.clock()
    await desk.open_ticket(opening("web-2"))
    event = await asyncio.wait_for(waiting, 5)
    assert event["type"] == "queue"
    await stream.aclose()


# --- delivery and the bot taking over again --------------------------------------------------------------------

async def test_agent_messages_are_pushed_to_a_registered_channel_and_a_failure_is_only_logged(desk, caplog):
    pushed: list[tuple[str, list[BotMessage]]] = []

    async def push(sender: str, messages: list[BotMessage]) -> None:
        pushed.append((sender, messages))

    desk.register_channel("telegram", push)
    ticket = await claimed_ticket(desk, "telegram:42", "telegram")
    await desk.reply(ticket.number, desk.store.agent("alice"), "hello there")
    assert [m.text for _, [m] in pushed] == ["Agent Alice Wang has joined and is reading your question.",
                                            "Agent Alice Wang: hello there"]
    assert pushed[-1][1][0].custom == {"kind": "handoff_agent", "language": "en",
                                       "ticket": {"number": ticket.number, "status": "assigned",
                                                  "agent": "Alice Wang"}}

    async def broken(sender: str, messages: list[BotMessage]) -> None:
        raise ConnectionError("Telegram is unreachable")

    desk.register_channel("telegram", broken)
    await desk.reply(ticket.number, desk.store.agent("alice"), "still stored")
    assert "handoff_delivery_failed" in caplog.text
    assert desk.store.transcript(ticket.number).messages[-1].text == "still stored"


async def test_closing_hands_the_conversation_back_to_the_bot_with_the_agents_words(desk, bot):
    ticket = await claimed_ticket(desk)
    await desk.reply(ticket.number, desk.store.agent("alice"), "bring your ID card")
    closed = await desk.close(ticket.number, desk.store.agent("alice"), "answered")
    assert (closed.number, closed.status, closed.agent) == (ticket.number, "closed", "alice")
    [(sender, events)] = bot.appended
    assert sender == "web-1"
    assert [(e["event"], e.get("text")) for e in events if e["event"] == "bot"] == [("bot", "bring your ID card")]
    assert {"event": "slot", "name": "failed_turns", "value": 0.0} in events


async def test_a_bot_that_cannot_be_told_does_not_stop_the_close(store, caplog):
    desk = Desk(store, HandoffConfig(), bot=FakeBot(fail=True))
    ticket = await claimed_ticket(desk)
    assert (await desk.close(ticket.number, store.agent("alice"), "answered")).status == "closed"
    assert "handoff_resume_failed" in caplog.text


async def test_metrics_and_the_ticket_detail_are_typed(desk, store):
    ticket = await claimed_ticket(desk)
    store.clock.advance(minutes=3)
    await desk.reply(ticket.number, store.agent("alice"), "done")
    figures = await desk.metrics(days=1)
    assert (figures.days, figures.tickets, figures.answered, figures.answered_within_target) == (1, 1, 1, 0.0)
    detail = await desk.ticket(ticket.number)
    assert detail.ticket.position is None and detail.ticket.sla is not None  # assigned: in the queue, no place
    assert [m.author for m in detail.messages] == ["citizen", "system", "agent"]
    await desk.close(ticket.number, store.agent("alice"), "answered")
    closed = (await desk.ticket(ticket.number)).ticket
    assert closed.resolution == "answered" and "sla" not in closed.model_dump(exclude_unset=True)
