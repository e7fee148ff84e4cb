"""Routing a citizen's message: to the bot normally; into the ticket while a person handles the conversation.

`MessageRouter` is the gateway's `Conversation`: the web chat API, voice and Telegram all send through it.
It asks the handoff desk whether a ticket is open, passes the message to Rasa otherwise, and opens a ticket
when the bot hands the conversation over (with the bot conversation so far, read from Rasa's tracker).

Rasa never sees a personal number: what goes to the bot is masked (core.privacy), so its tracker store, its
logs and its slots hold only masked text. A person on an open ticket sees what the citizen typed: messages go
into the ticket unmasked, and the bot turns copied into a new ticket get back their clear text from a short
memory of this process (never written anywhere). The store masks the ticket when it closes.

Work orders (channels/common/workorder_intake.py): the bot's work-order payloads are done here, like its handoff:
a draft is filed (the phone the citizen gave restored from the same memory), a status question answered; the
citizen's return-visit buttons never go to the bot.
"""

import re
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Callable, Optional, Protocol

from cachetools import TTLCache

from channels.common.conversation import Conversation
from core.messages import BotMessage
from channels.common.workorder_intake import DRAFT_KIND, STATUS_KIND, WorkOrderIntake
from core.payloads import CANCEL_HANDOFF, RATE_TICKET, VISIT_WORKORDER, parse_rate_ticket
from core.privacy import mask
from handoff.desk import Desk
from handoff.records import TicketOpening

HISTORY_LIMIT = 60  # bot-conversation turns copied into a new ticket
CLEAR_TEXT_SECONDS = 30 * 60  # how long the clear text of a masked message is remembered after the last one
CLEAR_TEXT_CONVERSATIONS = 10_000  # conversations remembered at once (the least recently used go first)
History = list[tuple[str, str, datetime]]
NUMBER = re.compile(r"\+?\d[\d -]{5,22}\d")  # a number as typed (spaces and dashes inside), to unmask


class Bot(Conversation, Protocol):
    """The bot behind the router (the gateway's RasaClient): it answers and can tell the conversation so far."""

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (empty when they cannot be had)."""
        ...


def handoff_of(replies: list[BotMessage]) -> Optional[dict[str, Any]]:
    """The bot's handoff payload in these replies (with the user's modes), if it handed the conversation over."""
    for reply in replies:
        handoff = (reply.custom or {}).get("handoff")
        if isinstance(handoff, dict):
            return {**handoff, "mode": (reply.custom or {}).get("mode") or {}}
    return None


def opening_of(sender: str, channel: str, handoff: dict[str, Any]) -> TicketOpening:
    """What a new ticket records, from the bot's handoff payload."""
    mode = handoff.get("mode") or {}
    return TicketOpening(sender_id=sender, channel=channel, language="en" if handoff.get("language") == "en" else "zh",
                         reason=str(handoff.get("reason") or "user_request"), item=handoff.get("item"),
                         large_text=bool(mode.get("large_text")), voice=bool(mode.get("voice")))


def history_of(events: list[dict[str, Any]]) -> History:
    """The citizen's and the bot's messages since the conversation's last session start."""
    start = max((i for i, e in enumerate(events) if e.get("event") == "session_started"), default=-1)
    turns = []
    for event in events[start + 1:]:
        if event.get("event") in ("user", "bot") and event.get("text"):
            at = datetime.fromtimestamp(float(event.get("timestamp") or 0), timezone.utc)
            words = str(event["text"])
            if event["event"] == "user" and words.startswith("/"):
                words = f"[button] {words}"  # a pressed button's payload, shown as such to the agent
            turns.append(("citizen" if event["event"] == "user" else "bot", words, at))
    return turns[-HISTORY_LIMIT:]


class ClearTexts:
    """For a while, in memory only: the clear text of each conversation's recent masked messages."""

    def __init__(self, seconds: float = CLEAR_TEXT_SECONDS, conversations: int = CLEAR_TEXT_CONVERSATIONS,
                 per_conversation: int = HISTORY_LIMIT, timer: Callable[[], float] = time.monotonic) -> None:
        self._texts: TTLCache[str, OrderedDict[str, str]] = TTLCache(conversations, seconds, timer=timer)
        self.per_conversation = per_conversation

    def remember(self, sender: str, masked: str, clear: str) -> None:
        """Keep what the citizen typed (clear) under what the bot was sent (masked)."""
        texts: OrderedDict[str, str] = self._texts.get(sender) or OrderedDict()
        texts.pop(masked, None)
        texts[masked] = clear
        while len(texts) > self.per_conversation:
            texts.popitem(last=False)
        self._texts[sender] = texts  # set again: the conversation's time starts anew

    def restore(self, sender: str, history: History) -> History:
        """The history with the citizen's masked turns given back their clear text, where it is remembered."""
        texts: dict[str, str] = self._texts.get(sender) or {}
        return [(author, texts.get(words, words) if author == "citizen" else words, at)
                for author, words, at in history]

    def unmask(self, sender: str, masked: str) -> Optional[str]:
        """The number the citizen typed whose masked form `masked` holds (e.g. the phone they gave, or the message
        giving it), if it is still remembered."""
        for clear in reversed((self._texts.get(sender) or {}).values()):
            for found in NUMBER.finditer(clear):
                hidden = mask(found.group())
                if hidden != found.group() and hidden in masked:
                    return found.group()
        return None

    def forget(self, sender: str) -> None:
        """Drop what is remembered of the conversation."""
        self._texts.pop(sender, None)


class MessageRouter:
    """Sends each citizen message to whoever has the conversation: the bot, or the person on its open ticket."""

    def __init__(self, desk: Desk, bot: Bot, clear_texts: Optional[ClearTexts] = None,
                 workorders: Optional[WorkOrderIntake] = None) -> None:
        self.desk, self.bot = desk, bot
        self.clear_texts = clear_texts or ClearTexts()
        self.workorders = workorders

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Handle one citizen message; the replies to show at once (RasaUnavailable when the bot cannot answer).
        The metadata (channel, input, the message's request id) goes to the bot as it is."""
        ticket = await self.desk.open_ticket_of(sender)
        if ticket is not None:
            if text == CANCEL_HANDOFF:
                return [await self.desk.cancel(ticket)]
            return await self.desk.citizen_message(ticket, text)
        if text.startswith(RATE_TICKET):
            rating = parse_rate_ticket(text)
            return await self.desk.rate(sender, *rating) if rating else []
        if text == CANCEL_HANDOFF:  # a stale button: nothing is open any more
            return []
        if text.startswith(VISIT_WORKORDER):  # the return visit of a work order: answered here, not by the bot
            return await self.workorders.visit(sender, text) if self.workorders else []
        masked = mask(text)  # buttons' payloads (/choose_item{...}) hold no such numbers and pass unchanged
        if masked != text:
            self.clear_texts.remember(sender, masked, text)
        replies = await self.bot.send(sender, masked, metadata)
        channel = str((metadata or {}).get("channel") or "web")
        if self.workorders is not None:
            replies = await self._work_orders(sender, channel, metadata or {}, replies)
        handoff = handoff_of(replies)
        if handoff is None:
            return replies
        history = self.clear_texts.restore(sender, history_of(await self.bot.conversation_events(sender)))
        self.clear_texts.forget(sender)  # now in the ticket, which masks it when it closes
        return replies + [await self.desk.open_ticket(opening_of(sender, channel, handoff), history)]

    async def _work_orders(self, sender: str, channel: str, metadata: dict[str, Any],
                           replies: list[BotMessage]) -> list[BotMessage]:
        """The replies with the bot's work-order payloads done: a draft filed (the reply says its number), a
        status question answered."""
        assert self.workorders is not None
        done = []
        for reply in replies:
            kind = (reply.custom or {}).get("kind")
            if kind == DRAFT_KIND:
                request_id = metadata.get("request_id")
                done.append(await self.workorders.file(
                    sender, channel, str(request_id) if request_id else None, reply.custom or {},
                    lambda masked: self.clear_texts.unmask(sender, masked)))
            elif kind == STATUS_KIND:
                done.append(await self.workorders.status(sender, reply.custom or {}))
            else:
                done.append(reply)
        return done
