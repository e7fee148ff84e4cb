"""The message router (the gateway's one Conversation) in front of a stand-in bot and a real desk on SQLite:
to the bot, into an open ticket, opening a ticket when the bot hands over, cancelling and rating."""

from datetime import datetime, timezone
from typing import Any, Optional

import pytest

from channels.common.routing import MessageRouter, handoff_of, history_of
from core import payloads
from core.messages import BotMessage
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.store import TicketStore
from testkit.handoff import Clock

HANDOFF = {"kind": "handoff", "language": "en", "mode": {"large_text": True, "voice": False},
           "handoff": {"reason": "complaint", "item": "passport-apply", "language": "en"}}


class FakeBot:
    """Answers "echo: ..." or hands over on "a person please"; keeps the tracker events Rasa would have."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, Optional[dict[str, Any]]]] = []
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []
        self.events: list[dict[str, Any]] = [{"event": "session_started"}]

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        self.received.append((sender, text, metadata))
        if text == "a person please":
            replies = [BotMessage(text="I will find a person for you.", custom=HANDOFF)]
        else:
            replies = [BotMessage(text=f"echo: {text}")]
        self.events += [{"event": "user", "text": text, "timestamp": 1_700_000_000},
                        *({"event": "bot", "text": r.text, "timestamp": 1_700_000_001} for r in replies)]
        return replies

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        return self.events

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        self.appended.append((sender, events))


@pytest.fixture
def bot() -> FakeBot:
    return FakeBot()


@pytest.fixture
def store(tmp_path) -> TicketStore:
    store = TicketStore(f"sqlite:///{tmp_path / 'handoff.db'}", clock=Clock())
    yield store
    store.engine.dispose()


@pytest.fixture
def router(store, bot) -> MessageRouter:
    return MessageRouter(Desk(store, HandoffConfig(), bot=bot), bot)


async def test_without_a_ticket_messages_go_to_the_bot_with_their_metadata(router, bot):
    assert [m.text for m in await router.send("web-1", "hello", {"channel": "web"})] == ["echo: hello"]
    assert bot.received == [("web-1", "hello", {"channel": "web"})]


async def test_a_handover_opens_a_ticket_with_the_conversation_so_far(router, bot, store):
    await router.send("telegram:7", "passport", {"channel": "telegram"})
    replies = await router.send("telegram:7", "a person please", {"channel": "telegram"})
    assert replies[0].text == "I will find a person for you."
    opened = replies[-1].custom
    assert opened["kind"] == "handoff_ticket" and opened["ticket"]["position"] == 1
    ticket = store.open_ticket_of("telegram:7")
    assert (ticket.channel, ticket.language, ticket.reason, ticket.item, ticket.elderly) == \
        ("telegram", "en", "complaint", "passport-apply", True)
    assert [(m.author, m.text) for m in store.transcript(ticket.number).messages] == [
        ("citizen", "passport"), ("bot", "echo: passport"), ("citizen", "a person please"),
        ("bot", "I will find a person for you.")]


async def test_while_a_ticket_is_open_messages_go_into_it_and_cancel_gives_the_bot_back(router, bot, store):
    await router.send("web-1", "a person please", {"channel": "web"})
    asked = len(bot.received)
    [waiting] = await router.send("web-1", "are you there?")
    assert waiting.custom["kind"] == "ticket" and len(bot.received) == asked
    number = store.open_ticket_of("web-1").number
    assert store.transcript(number).messages[-1].text == "are you there?"
    [cancelled] = await router.send("web-1", payloads.CANCEL_HANDOFF)
    assert cancelled.custom["kind"] == "handoff_closed" and store.ticket(number).closed_by == "citizen"
    assert [sender for sender, _ in bot.appended] == ["web-1"]
    assert await router.send("web-1", payloads.CANCEL_HANDOFF) == []  # a stale button
    assert len(bot.received) == asked


async def test_only_the_citizen_of_a_closed_ticket_can_rate_it_and_ratings_never_reach_the_bot(router, bot, store):
    await router.send("web-1", "a person please")
    number = store.open_ticket_of("web-1").number
    await router.send("web-1", payloads.CANCEL_HANDOFF)
    asked = len(bot.received)
    assert await router.send("web-2", payloads.rate_ticket(number, 5)) == []
    assert await router.send("web-1", payloads.RATE_TICKET + "{not json") == []
    [rated] = await router.send("web-1", payloads.rate_ticket(number, 4))
    assert rated.custom == {"kind": "handoff_rated", "language": "en",
                            "ticket": {"number": number, "status": "closed", "rating": 4}}
    assert store.ticket(number).citizen_rating == 4 and len(bot.received) == asked


def test_the_handoff_payload_and_the_history_are_read_from_rasas_shapes():
    assert handoff_of([BotMessage(text="hi")]) is None
    assert handoff_of([BotMessage(text="x", custom=HANDOFF)])["mode"] == {"large_text": True, "voice": False}
    events = [{"event": "user", "text": "old"}, {"event": "session_started"},
              {"event": "user", "text": "/ask_person", "timestamp": 0}, {"event": "action", "name": "x"},
              {"event": "bot", "text": "ok", "timestamp": 1}]
    assert history_of(events) == [("citizen", "[button] /ask_person", datetime(1970, 1, 1, tzinfo=timezone.utc)),
                                  ("bot", "ok", datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))]
