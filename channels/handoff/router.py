"""Routing a citizen's messages: to Rasa normally; into a ticket while a person is handling the conversation.

`Conversations.send` has the shape of `RasaClient.send`, so every channel (web API, Telegram) goes through it.
"""

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Optional

from starlette.concurrency import run_in_threadpool

from channels.handoff.config import HandoffConfig
from channels.handoff.hub import Hub
from channels.handoff.queue import build_queue, position_in
from channels.handoff.policy import estimated_wait_minutes
from channels.handoff.store import HandoffError, Message, Ticket, TicketOpening, TicketStore
from channels.handoff.texts import cancel_button, rating_buttons, text, ticket_message, when
from channels.models import BotMessage, Button
from channels.rasa_client import RasaClient, RasaUnavailable
from govbot.ratings import level_name

log = logging.getLogger("govbot.handoff")

HISTORY_LIMIT = 60  # bot-conversation turns copied into a new ticket
Deliver = Callable[[str, list[BotMessage]], Awaitable[None]]


def handoff_of(replies: list[BotMessage]) -> Optional[dict[str, Any]]:
    """The bot's handoff payload in these replies, if it handed the conversation over."""
    for reply in replies:
        handoff = (reply.custom or {}).get("handoff")
        if isinstance(handoff, dict):
            return {**handoff, "mode": (reply.custom or {}).get("mode") or {}}
    return None


def history_of(events: list[dict[str, Any]]) -> list[tuple[str, str, datetime]]:
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


def parse_rating(payload: str) -> Optional[tuple[str, int]]:
    """(ticket number, rating) from '/rate_ticket{"ticket": "...", "rating": "4"}', else None."""
    try:
        body = json.loads(payload.removeprefix("/rate_ticket"))
        return str(body["ticket"]), int(body["rating"])
    except (ValueError, KeyError, TypeError):
        return None


class Conversations:
    """The citizen side of handoff, in front of Rasa."""

    def __init__(self, rasa: Optional[RasaClient], store: TicketStore, hub: Hub, config: HandoffConfig) -> None:
        self.rasa, self.store, self.hub, self.config = rasa, store, hub, config
        self.deliverers: dict[str, Deliver] = {}

    def register_channel(self, channel: str, deliver: Deliver) -> None:
        """How to push a message to a user of a channel that is not the web page (e.g. Telegram)."""
        self.deliverers[channel] = deliver

    async def send(self, sender: str, text_in: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Handle one citizen message; the replies to show at once."""
        ticket = await run_in_threadpool(self.store.open_ticket_of, sender)
        if ticket is not None:
            return await self._to_ticket(ticket, text_in)
        if text_in.startswith("/rate_ticket"):
            return await self._rate(sender, text_in)
        if text_in == "/cancel_handoff":  # a stale button: nothing is open any more
            return []
        replies = await self.rasa.send(sender, text_in, metadata)
        handoff = handoff_of(replies)
        if handoff is None:
            return replies
        channel = str((metadata or {}).get("channel") or "web")
        opened = await self._open(sender, channel, handoff)
        return replies + [opened]

    # --- opening and waiting ---------------------------------------------------------------------------

    async def _open(self, sender: str, channel: str, handoff: dict[str, Any]) -> BotMessage:
        language = "en" if handoff.get("language") == "en" else "zh"
        mode = handoff.get("mode") or {}
        history = history_of(await self.rasa.conversation_events(sender))
        opening = TicketOpening(sender_id=sender, channel=channel, language=language,
                                reason=str(handoff.get("reason") or "user_request"), item=handoff.get("item"),
                                large_text=bool(mode.get("large_text")), voice=bool(mode.get("voice")))
        ticket = await run_in_threadpool(self.store.open_ticket, opening, history)
        log.info("ticket_opened", extra={"fields": {"ticket": ticket.number, "channel": channel,
                                                    "reason": ticket.reason}})
        self.hub.to_agents({"type": "queue", "ticket": ticket.number})
        state = await self.state_of(ticket)
        key = "opened" if state["agents_online"] and state["open_now"] else "opened_offline"
        words = text(language, key, number=ticket.number, ahead=max(0, (state["position"] or 1) - 1),
                     minutes=state["minutes"], when=state["when"])
        return ticket_message(words, language, state, [cancel_button(language)], kind="handoff_ticket")

    async def state_of(self, ticket: Ticket) -> dict[str, Any]:
        """What the citizen sees of their ticket: number, status, place in the queue, estimated wait."""
        now = self.store.clock()
        tickets = await run_in_threadpool(self.store.open_tickets)
        online = await run_in_threadpool(self.store.agents_online)
        position = position_in(build_queue(tickets, self.config.sla, now), ticket.number)
        open_now = self.config.hours.is_open(now)
        if open_now and online:
            expected = ""
        else:
            expected = when(ticket.language, None if open_now else self.config.hours.next_opening(now))
        return {"number": ticket.number, "status": ticket.status, "position": position,
                "minutes": estimated_wait_minutes(position or 1, online, self.config.minutes_per_ticket),
                "agents_online": online, "open_now": open_now, "agent": await self.agent_name(ticket),
                "when": expected}

    async def agent_name(self, ticket: Ticket) -> Optional[str]:
        """The name the citizen sees for the ticket's agent."""
        agent = await run_in_threadpool(self.store.agent, ticket.agent) if ticket.agent else None
        return agent.display_name if agent else None

    async def _to_ticket(self, ticket: Ticket, text_in: str) -> list[BotMessage]:
        if text_in == "/cancel_handoff":
            return [await self.cancel(ticket)]
        await run_in_threadpool(self.store.add_message, ticket.number, "citizen", text_in)
        self.hub.to_agents({"type": "message", "ticket": ticket.number})
        if ticket.status == "assigned":
            return []
        state = await self.state_of(ticket)
        key = "waiting" if state["agents_online"] and state["open_now"] else "waiting_offline"
        words = text(ticket.language, key, number=ticket.number, position=state["position"] or 1,
                     minutes=state["minutes"], when=state["when"])
        return [ticket_message(words, ticket.language, state, [cancel_button(ticket.language)])]

    async def cancel(self, ticket: Ticket) -> BotMessage:
        closed = await run_in_threadpool(self.store.cancel, ticket.number)
        self.hub.to_agents({"type": "queue", "ticket": ticket.number})
        await self.resume_bot(closed)
        return ticket_message(text(ticket.language, "cancelled", number=ticket.number), ticket.language,
                              {"number": ticket.number, "status": "closed"}, kind="handoff_closed")

    async def _rate(self, sender: str, payload: str) -> list[BotMessage]:
        parsed = parse_rating(payload)
        if parsed is None:
            return []
        number, rating = parsed
        try:
            ticket = await run_in_threadpool(self.store.ticket, number)
            if ticket.sender_id != sender:
                return []
            await run_in_threadpool(self.store.rate, number, rating)
        except HandoffError:
            return []
        self.hub.to_agents({"type": "queue", "ticket": number})
        language = ticket.language
        return [ticket_message(text(language, "rated", level=level_name(rating, language)), language,
                               {"number": number, "status": "closed", "rating": rating}, kind="handoff_rated")]

    async def announce_places(self) -> None:
        """Tell each waiting citizen whose page is open their current place and estimated wait."""
        for ticket in await run_in_threadpool(self.store.open_tickets):
            if ticket.status == "waiting" and self.hub.watching(ticket.sender_id):
                self.hub.to_citizen(ticket.sender_id, {"type": "ticket", **await self.state_of(ticket)})

    async def announce_places_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.update_seconds)
            try:
                await self.announce_places()
            except Exception as error:  # a database hiccup must not end the updates
                log.warning("queue_update_failed", extra={"fields": {"error": type(error).__name__}})

    # --- agent messages to the citizen, and giving the conversation back to the bot --------------------------

    async def deliver(self, ticket: Ticket, message: Message, buttons: Optional[list[Button]] = None) -> None:
        """Send a stored agent or system message to the citizen on their channel (web: live; others: pushed)."""
        shown_agent = await self.agent_name(ticket)
        state = {"number": ticket.number, "status": ticket.status, "agent": shown_agent}
        self.hub.to_citizen(ticket.sender_id, citizen_event(ticket, message, buttons, shown_agent))
        push = self.deliverers.get(ticket.channel)
        if push is None:
            return
        shown = message.text
        if message.author == "agent":
            shown = text(ticket.language, "agent_prefix", agent=message.agent) + message.text
        reply = ticket_message(shown, ticket.language, state, buttons, kind=f"handoff_{message.author}")
        try:
            await push(ticket.sender_id, [reply])
        except Exception as error:  # a channel failure must not undo the stored message
            log.warning("handoff_delivery_failed", extra={"fields": {"ticket": ticket.number,
                                                                     "channel": ticket.channel,
                                                                     "error": type(error).__name__}})

    async def resume_bot(self, ticket: Ticket) -> None:
        """Tell Rasa what the agent said and that the bot is back in charge."""
        transcript = await run_in_threadpool(self.store.transcript, ticket.number)
        events: list[dict[str, Any]] = [
            {"event": "bot", "text": m.text, "timestamp": m.created_at.timestamp(),
             "metadata": {"handoff_ticket": ticket.number, "agent": m.agent}}
            for m in transcript.messages if m.author == "agent"]
        events += [{"event": "slot", "name": "failed_turns", "value": 0.0},
                   {"event": "slot", "name": "pending_offer", "value": None}]
        try:
            await self.rasa.append_events(ticket.sender_id, events)
        except RasaUnavailable as error:
            log.warning("handoff_resume_failed", extra={"fields": {"ticket": ticket.number, "reason": str(error)}})

    async def closing(self, ticket: Ticket) -> None:
        """After an agent closed the ticket: the bot resumes and the citizen is asked to rate the help."""
        message = await run_in_threadpool(self.store.add_message, ticket.number, "system",
                                          text(ticket.language, "closed", number=ticket.number))
        await self.deliver(ticket, message, rating_buttons(ticket.language, ticket.number))
        await self.resume_bot(ticket)


def citizen_event(ticket: Ticket, message: Message, buttons: Optional[list[Button]] = None,
                  agent_name: Optional[str] = None) -> dict[str, Any]:
    """The live event a citizen's page gets for a stored agent or system message."""
    return {"type": "handoff", "id": message.id, "author": message.author, "agent": message.agent,
            "text": message.text, "language": ticket.language,
            "buttons": [b.model_dump() for b in buttons or []],
            "ticket": {"number": ticket.number, "status": ticket.status, "agent": agent_name}}
