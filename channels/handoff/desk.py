"""The agents' side of handoff: the queue, and claiming, answering, forwarding and closing tickets."""

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool

from channels.handoff.queue import build_queue, metrics
from channels.handoff.router import Conversations
from channels.handoff.store import HandoffError, Ticket
from channels.handoff.texts import text

log = logging.getLogger("govbot.handoff")


class Desk:
    """What a logged-in agent can do; every change is stored first, then announced to consoles and citizens."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations
        self.store, self.hub, self.config = conversations.store, conversations.hub, conversations.config

    def _changed(self, ticket: Ticket, kind: str = "queue") -> None:
        self.hub.to_agents({"type": kind, "ticket": ticket.number})

    async def queue(self) -> list[dict[str, Any]]:
        tickets = await run_in_threadpool(self.store.open_tickets)
        return [entry.as_dict() for entry in build_queue(tickets, self.config.sla, self.store.clock())]

    async def ticket(self, number: str) -> dict[str, Any]:
        transcript = await run_in_threadpool(self.store.transcript, number)
        tickets = await run_in_threadpool(self.store.open_tickets)
        entry = next((e for e in build_queue(tickets, self.config.sla, self.store.clock())
                      if e.ticket.number == number), None)
        ticket = transcript.ticket
        summary = entry.as_dict() if entry else {"number": ticket.number, "status": ticket.status,
                                                  "agent": ticket.agent, "channel": ticket.channel,
                                                  "language": ticket.language, "elderly": ticket.elderly,
                                                  "reason": ticket.reason, "item": ticket.item,
                                                  "created_at": ticket.created_at.isoformat()}
        summary |= {"resolution": ticket.resolution, "citizen_rating": ticket.citizen_rating,
                    "closed_by": ticket.closed_by}
        return {"ticket": summary,
                "messages": [{"id": m.id, "author": m.author, "agent": m.agent, "text": m.text,
                              "at": m.created_at.isoformat()} for m in transcript.messages],
                "events": [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                           for e in transcript.events]}

    async def claim(self, number: str, agent: str, display_name: str) -> Ticket:
        ticket = await run_in_threadpool(self.store.claim, number, agent)
        self._changed(ticket)
        await self._announce_agent(ticket, display_name)
        return ticket

    async def take_over(self, number: str, agent: str, display_name: str) -> Ticket:
        ticket = await run_in_threadpool(self.store.take_over, number, agent)
        self._changed(ticket)
        await self._announce_agent(ticket, display_name)
        return ticket

    async def _announce_agent(self, ticket: Ticket, display_name: str) -> None:
        message = await run_in_threadpool(self.store.add_message, ticket.number, "system",
                                          text(ticket.language, "claimed", agent=display_name))
        await self.conversations.deliver(ticket, message)

    async def release(self, number: str, agent: str) -> Ticket:
        ticket = await run_in_threadpool(self.store.release, number, agent)
        self._changed(ticket)
        return ticket

    async def forward(self, number: str, agent: str, to: str) -> Ticket:
        ticket = await run_in_threadpool(self.store.forward, number, agent, to)
        self._changed(ticket)
        return ticket

    async def reply(self, number: str, agent: str, display_name: str, words: str) -> int:
        """Store the agent's reply, then send it to the citizen; the stored message's id."""
        words = words.strip()
        if not words:
            raise HandoffError("empty_text", "the reply is empty")
        message = await run_in_threadpool(self.store.add_message, number, "agent", words, agent)
        ticket = await run_in_threadpool(self.store.ticket, number)
        self._changed(ticket, "message")
        await self.conversations.deliver(ticket, replace(message, agent=display_name))
        return message.id

    async def note(self, number: str, agent: str, words: str) -> int:
        """An internal note: in the transcript for agents, never sent to the citizen."""
        if not words.strip():
            raise HandoffError("empty_text", "the note is empty")
        ticket = await run_in_threadpool(self.store.ticket, number)
        if ticket.status == "closed":
            raise HandoffError("ticket_closed", f"ticket {number} is closed")
        if ticket.status != "assigned" or ticket.agent != agent:  # like any other action: claim or take over first
            raise HandoffError("not_your_ticket", f"ticket {number} is not yours; claim or take it over first")
        message = await run_in_threadpool(self.store.add_message, number, "note", words.strip(), agent)
        self._changed(ticket, "message")
        return message.id

    async def close(self, number: str, agent: str, resolution: str) -> Ticket:
        ticket = await run_in_threadpool(self.store.close, number, agent, resolution.strip())
        self._changed(ticket)
        await self.conversations.closing(ticket)
        return ticket

    async def metrics(self, days: int = 7) -> dict[str, Any]:
        since = self.store.clock() - timedelta(days=days)
        tickets = await run_in_threadpool(self.store.tickets_since, since)
        return {"days": days, **metrics(tickets, self.config.sla, self.store.clock())}
