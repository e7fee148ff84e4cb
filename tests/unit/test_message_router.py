"""The message router (the gateway's one Conversation) in front of a stand-in bot and a real desk on SQLite:
to the bot, into an open ticket, opening a ticket when the bot hands over, cancelling and rating."""

from datetime import datetime, timezone
from typing import Any, Optional

import pytest

from channels.common.routing import ClearTexts, MessageRouter, handoff_of, history_of
from core import payloads
from core.messages import BotMessage
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.store import TicketStore
from testkit.handoff import START, Clock

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


# --- privacy: Rasa gets masked text, the person on an open ticket the clear one ------------------------------

PHONE, ID_CARD = "13812345678", "11010519491231002X"


async def test_the_bot_gets_personal_numbers_masked_and_button_payloads_unchanged(router, bot):
    await router.send("web-1", f"my phone is {PHONE}, ID {ID_CARD}, mail li@example.org")
    buttons = [payloads.choose_item("passport-apply"), payloads.mode("large_text", True),
               payloads.switch_language("en"), payloads.ASK_PERSON, payloads.AFFIRM]
    for payload in buttons:
        await router.send("web-1", payload)
    await router.send("web-1", f"/affirm{{\"n\": \"{PHONE}\"}}")  # a made-up payload gets no way round
    assert [text for _, text, _ in bot.received] == [
        "my phone is *******5678, ID **************002X, mail ***@example.org", *buttons,
        '/affirm{"n": "*******5678"}']
    assert PHONE not in repr(bot.events) and ID_CARD not in repr(bot.events)


async def test_a_new_ticket_gets_the_clear_text_of_the_bot_conversation_and_open_tickets_keep_it(router, bot, store):
    await router.send("web-1", f"我的护照过期了，电话{PHONE}")
    await router.send("web-1", "a person please")
    number = store.open_ticket_of("web-1").number
    await router.send("web-1", f"身份证 {ID_CARD}")  # while the ticket is open: to the desk, unmasked
    said = [(m.author, m.text) for m in store.transcript(number).messages]
    assert said == [("citizen", f"我的护照过期了，电话{PHONE}"), ("bot", "echo: 我的护照过期了，电话*******5678"),
                    ("citizen", "a person please"), ("bot", "I will find a person for you."),
                    ("citizen", f"身份证 {ID_CARD}")]
    assert all(PHONE not in text and ID_CARD not in text for _, text, _ in bot.received)
    masked = [("citizen", "我的护照过期了，电话*******5678", START)]
    assert router.clear_texts.restore("web-1", masked) == masked  # in the ticket now: forgotten by the router


async def test_a_closed_or_cancelled_ticket_keeps_only_masked_numbers(router, bot, store):
    await router.send("web-1", f"call me on {PHONE}")
    await router.send("web-1", "a person please")
    number = store.open_ticket_of("web-1").number
    await router.send("web-1", f"ID {ID_CARD}")
    store.claim(number, "alice")
    store.add_message(number, "agent", f"I will call {PHONE}", "alice")
    store.add_message(number, "note", f"citizen's ID {ID_CARD}", "alice")
    store.close(number, "alice", f"called back on {PHONE}")
    transcript = store.transcript(number)
    stored = repr(transcript)
    assert PHONE not in stored and ID_CARD not in stored
    assert [m.text for m in transcript.messages if m.author != "bot"] == [
        "call me on *******5678", "a person please", "ID **************002X", "I will call *******5678",
        "citizen's ID **************002X"]
    assert transcript.ticket.resolution == "called back on *******5678"
    assert transcript.events[-1].detail == "called back on *******5678"

    await router.send("web-2", "a person please")
    cancelled = store.open_ticket_of("web-2").number
    await router.send("web-2", f"my phone {PHONE}")
    assert store.transcript(cancelled).messages[-1].text == f"my phone {PHONE}"
    await router.send("web-2", payloads.CANCEL_HANDOFF)
    assert store.transcript(cancelled).messages[-1].text == "my phone *******5678"


def test_the_clear_texts_are_remembered_for_a_while_and_a_bounded_number():
    now = [0.0]
    texts = ClearTexts(seconds=60, conversations=2, per_conversation=2, timer=lambda: now[0])
    history = [("citizen", "a ***1", START), ("citizen", "b ***2", START), ("citizen", "c ***3", START),
               ("bot", "a ***1", START)]
    for masked, clear in (("a ***1", "a 0001"), ("b ***2", "b 0002"), ("c ***3", "c 0003")):
        texts.remember("web-1", masked, clear)
    assert [words for _, words, _ in texts.restore("web-1", history)] == ["a ***1", "b 0002", "c 0003", "a ***1"]
    texts.remember("web-2", "x", "y")
    texts.remember("web-3", "x", "y")  # three conversations: the least recently used one is dropped
    assert texts.restore("web-1", history) == history
    now[0] = 61.0
    assert texts.restore("web-3", [("citizen", "x", START)]) == [("citizen", "x", START)]
