"""The handoff desk: every ticket operation, for agents and for citizens; stored first, then announced.

Agents log in, see the queue, claim, take over, release, forward, answer, note and close tickets. Citizens'
messages go into their open ticket; they cancel, rate, learn their place in the queue, and get agents'
messages live (the hub) or pushed to their channel (a registered deliverer), replayed after a reconnect.
When a ticket ends the bot takes the conversation back (a `BotLink`). The desk knows nothing of HTTP or Rasa.
"""

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncGenerator, Optional

from anyio import to_thread

from core.messages import BotMessage, Button
from core.ratings import level_name
from handoff.canned import DEFAULT_CANNED_REPLIES, load_canned_replies
from handoff.config import HandoffConfig
from handoff.events import agents_event, citizen_event, replay_events, ticket_state_event
from handoff.hub import RESYNC, Hub, LiveEvent, SeenIds, next_event
from handoff.login_guard import LoginGuard, login_keys
from handoff.policy import estimated_wait_minutes
from handoff.ports import BotLink, Deliver
from handoff.queue import build_queue, entry_of, metrics
from handoff.records import Agent, HandoffError, Message, Ticket, TicketOpening
from handoff.store import History, TicketStore
from handoff.texts import cancel_button, rating_buttons, text, ticket_message, when
from handoff.views import (
    AgentList,
    AgentView,
    CannedReplies,
    CitizenTicketState,
    MessageRef,
    Metrics,
    QueueView,
    TicketDetail,
    TicketFacts,
    TicketRef,
    TicketSummary,
    TranscriptEvent,
    TranscriptMessage,
)

log = logging.getLogger("govbot.handoff")


class Desk:
    """Every ticket operation; the HTTP layer and the message routing talk only to this."""

    def __init__(self, store: TicketStore, config: HandoffConfig, hub: Optional[Hub] = None,
                 bot: Optional[BotLink] = None, canned_replies: Path = DEFAULT_CANNED_REPLIES) -> None:
        self.store, self.config = store, config
        self.hub = hub or Hub()
        self.bot = bot
        self.canned_replies_path = canned_replies
        self._deliverers: dict[str, Deliver] = {}
        self.login_guard = LoginGuard(config.user_backoff, config.address_backoff, store.clock)

    def register_channel(self, channel: str, deliver: Deliver) -> None:
        """How to push a message to a user of a channel that is not the web page (e.g. Telegram)."""
        self._deliverers[channel] = deliver

    def _changed(self, number: str, kind: str = "queue") -> None:
        self.hub.to_agents(agents_event(kind, number))

    # --- agents: sessions -------------------------------------------------------------------------------------

    async def log_in(self, username: str, password: str, address: str = "") -> Optional[tuple[str, AgentView]]:
        """A new session token and the agent, for right credentials; else None. After repeated failures for the
        username or from the client address, TooManyAttempts (the password is then not even checked)."""
        keys = login_keys(username, address)
        self.login_guard.admit(keys)
        token: Optional[str] = None
        try:
            token = await to_thread.run_sync(self.store.log_in, username, password, self.config.session_lifetime,
                                             self.config.session_idle)
        finally:
            locked = self.login_guard.settle(keys, succeeded=token is not None)
        if token is None:
            log.info("agent_login_failed", extra={"fields": {"locked_seconds": locked}})
            return None
        agent = await to_thread.run_sync(self.store.agent, username)
        return (token, AgentView.of(agent)) if agent else None

    async def log_out(self, token: str) -> None:
        """End the agent's session (its row is deleted)."""
        await to_thread.run_sync(self.store.log_out, token)

    async def session_agent(self, token: str, active: bool = True) -> Optional[Agent]:
        """The agent of a live session (now marked as seen), else None. An active request (the agent did
        something) restarts the idle timer; a background one (the console refreshing itself) does not."""
        return await to_thread.run_sync(self.store.session_agent, token, self.config.session_lifetime,
                                        self.config.session_idle, active)

    async def purge_expired_sessions(self) -> int:
        """Delete the agents' sessions that have ended (lifetime or idle timeout); how many. Run it now and then."""
        return await to_thread.run_sync(self.store.purge_expired_sessions)

    async def agents(self) -> AgentList:
        """Every agent."""
        listed = await to_thread.run_sync(self.store.agents)
        return AgentList(agents=[AgentView.of(agent) for agent in listed])

    async def canned_replies(self) -> CannedReplies:
        """The ready-made answers per language (read from the file each time, so edits show at once)."""
        return CannedReplies(**await to_thread.run_sync(load_canned_replies, self.canned_replies_path))

    # --- agents: the queue and the tickets ------------------------------------------------------------------

    async def queue(self) -> QueueView:
        """Open tickets with their SLA timers, how many agents are online, and whether it is working hours."""
        tickets = await to_thread.run_sync(self.store.open_tickets)
        online = await to_thread.run_sync(self.store.agents_online)
        now = self.store.clock()
        return QueueView(tickets=[entry.summary() for entry in build_queue(tickets, self.config.sla, now)],
                         agents_online=online, open_now=self.config.hours.is_open(now))

    async def ticket(self, number: str) -> TicketDetail:
        """The ticket with its whole transcript and audit trail; HandoffError("no_such_ticket")."""
        transcript = await to_thread.run_sync(self.store.transcript, number)
        tickets = await to_thread.run_sync(self.store.open_tickets)
        entry = entry_of(build_queue(tickets, self.config.sla, self.store.clock()), number)
        ticket = transcript.ticket
        summary = entry.summary() if entry else TicketSummary.of_ticket(ticket)  # closed: no queue fields set
        facts = TicketFacts(**summary.model_dump(exclude_unset=True), resolution=ticket.resolution,
                            citizen_rating=ticket.citizen_rating, closed_by=ticket.closed_by)
        return TicketDetail(ticket=facts, messages=[TranscriptMessage.of(m) for m in transcript.messages],
                            events=[TranscriptEvent.of(e) for e in transcript.events])

    async def metrics(self, days: int = 7) -> Metrics:
        """Answered within the first-response target, abandonment, median and p90 wait, over `days` days."""
        now = self.store.clock()
        tickets = await to_thread.run_sync(self.store.tickets_since, now - timedelta(days=days))
        return Metrics(days=days, **metrics(tickets, self.config.sla, now))

    async def claim(self, number: str, agent: Agent) -> TicketRef:
        """Take a waiting ticket; the citizen is told who joined."""
        ticket = await to_thread.run_sync(self.store.claim, number, agent.username)
        self._changed(number)
        await self._announce_agent(ticket, agent.display_name)
        return TicketRef.of(ticket)

    async def take_over(self, number: str, agent: Agent) -> TicketRef:
        """Take a ticket another agent has, on purpose; the citizen is told who joined."""
        ticket = await to_thread.run_sync(self.store.take_over, number, agent.username)
        self._changed(number)
        await self._announce_agent(ticket, agent.display_name)
        return TicketRef.of(ticket)

    async def _announce_agent(self, ticket: Ticket, display_name: str) -> None:
        message = await to_thread.run_sync(self.store.add_message, ticket.number, "system",
                                           text(ticket.language, "claimed", agent=display_name))
        await self.deliver(ticket, message)

    async def release(self, number: str, agent: Agent) -> TicketRef:
        """Put one's ticket back in the queue."""
        ticket = await to_thread.run_sync(self.store.release, number, agent.username)
        self._changed(number)
        return TicketRef.of(ticket)

    async def forward(self, number: str, agent: Agent, to: str) -> TicketRef:
        """Hand one's ticket to another agent."""
        ticket = await to_thread.run_sync(self.store.forward, number, agent.username, to)
        self._changed(number)
        return TicketRef.of(ticket)

    async def reply(self, number: str, agent: Agent, words: str) -> MessageRef:
        """Store the agent's reply, then send it to the citizen (who sees the agent's display name)."""
        words = words.strip()
        if not words:
            raise HandoffError("empty_text", "the reply is empty")
        message = await to_thread.run_sync(self.store.add_message, number, "agent", words, agent.username)
        ticket = await to_thread.run_sync(self.store.ticket, number)
        self._changed(number, "message")
        await self.deliver(ticket, replace(message, agent=agent.display_name))
        return MessageRef(id=message.id)

    async def note(self, number: str, agent: Agent, words: str) -> MessageRef:
        """An internal note: in the transcript for agents, never sent to the citizen."""
        if not words.strip():
            raise HandoffError("empty_text", "the note is empty")
        ticket = await to_thread.run_sync(self.store.ticket, number)
        if ticket.status == "closed":
            raise HandoffError("ticket_closed", f"ticket {number} is closed")
        if ticket.status != "assigned" or ticket.agent != agent.username:  # like any other action
            raise HandoffError("not_your_ticket", f"ticket {number} is not yours; claim or take it over first")
        message = await to_thread.run_sync(self.store.add_message, number, "note", words.strip(), agent.username)
        self._changed(number, "message")
        return MessageRef(id=message.id)

    async def close(self, number: str, agent: Agent, resolution: str) -> TicketRef:
        """Close one's ticket: the citizen is asked to rate the help, and the bot takes the conversation back."""
        ticket = await to_thread.run_sync(self.store.close, number, agent.username, resolution.strip())
        self._changed(number)
        message = await to_thread.run_sync(self.store.add_message, number, "system",
                                           text(ticket.language, "closed", number=number))
        await self.deliver(ticket, message, rating_buttons(ticket.language, number))
        await self.resume_bot(ticket)
        return TicketRef.of(ticket)

    async def agent_events(self, agent: Agent, token: str) -> AsyncGenerator[LiveEvent, None]:
        """A console's live events: "hello", then "queue" and "message" naming the ticket that changed.

        While the console listens, the agent is marked as seen every heartbeat, so they count as online (without
        restarting the idle timer); the stream ends when the session does.
        """
        with self.hub.agent_stream() as queue:
            yield {"type": "hello", "agent": agent.username}
            while True:
                event = await next_event(queue, self.config.heartbeat_seconds)
                if event is None:
                    if await self.session_agent(token, active=False) is None:
                        return
                elif event.get("type") == RESYNC:
                    for refresh in await self._agents_refresh():
                        yield refresh
                else:
                    yield event

    async def _agents_refresh(self) -> list[LiveEvent]:
        """What a console gets after events may have been missed: each open ticket changed (or the queue did)."""
        tickets = await to_thread.run_sync(self.store.open_tickets)
        return [agents_event("message", t.number) for t in tickets] or [agents_event("queue", "")]

    # --- citizens ----------------------------------------------------------------------------------------------

    async def open_ticket_of(self, sender: str) -> Optional[Ticket]:
        """The conversation's open ticket, if a person is handling (or about to handle) it."""
        return await to_thread.run_sync(self.store.open_ticket_of, sender)

    async def open_ticket(self, opening: TicketOpening, history: History = ()) -> BotMessage:
        """Open a ticket (or find the open one) with the bot conversation so far; the message telling the
        citizen its number, their place and the expected wait."""
        ticket = await to_thread.run_sync(self.store.open_ticket, opening, history)
        log.info("ticket_opened", extra={"fields": {"ticket": ticket.number, "channel": ticket.channel,
                                                    "reason": ticket.reason}})
        self._changed(ticket.number)
        state = await self.citizen_state(ticket)
        key = "opened" if state.agents_online and state.open_now else "opened_offline"
        words = text(ticket.language, key, number=ticket.number, ahead=max(0, (state.position or 1) - 1),
                     minutes=state.minutes, when=state.when)
        return ticket_message(words, ticket.language, state.model_dump(), [cancel_button(ticket.language)],
                              kind="handoff_ticket")

    async def citizen_state(self, ticket: Ticket) -> CitizenTicketState:
        """What the citizen sees of their ticket: number, status, place in the queue, estimated wait."""
        now = self.store.clock()
        tickets = await to_thread.run_sync(self.store.open_tickets)
        online = await to_thread.run_sync(self.store.agents_online)
        entry = entry_of(build_queue(tickets, self.config.sla, now), ticket.number)
        position = entry.position if entry else None
        open_now = self.config.hours.is_open(now)
        expected = "" if open_now and online else when(ticket.language,
                                                         None if open_now else self.config.hours.next_opening(now))
        return CitizenTicketState(number=ticket.number, status=ticket.status, position=position,
                                  minutes=estimated_wait_minutes(position or 1, online, self.config.minutes_per_ticket),
                                  agents_online=online, open_now=open_now, agent=await self._agent_name(ticket),
                                  when=expected)

    async def _agent_name(self, ticket: Ticket) -> Optional[str]:
        agent = await to_thread.run_sync(self.store.agent, ticket.agent) if ticket.agent else None
        return agent.display_name if agent else None

    async def citizen_message(self, ticket: Ticket, words: str) -> list[BotMessage]:
        """Store the citizen's message in their open ticket; while it waits, the reply says their place."""
        await to_thread.run_sync(self.store.add_message, ticket.number, "citizen", words)
        self._changed(ticket.number, "message")
        if ticket.status == "assigned":
            return []
        state = await self.citizen_state(ticket)
        key = "waiting" if state.agents_online and state.open_now else "waiting_offline"
        reply = text(ticket.language, key, number=ticket.number, position=state.position or 1,
                     minutes=state.minutes, when=state.when)
        return [ticket_message(reply, ticket.language, state.model_dump(), [cancel_button(ticket.language)])]

    async def cancel(self, ticket: Ticket) -> BotMessage:
        """The citizen no longer wants a person: the ticket closes and the bot carries on."""
        closed = await to_thread.run_sync(self.store.cancel, ticket.number)
        self._changed(ticket.number)
        await self.resume_bot(closed)
        return ticket_message(text(ticket.language, "cancelled", number=ticket.number), ticket.language,
                              {"number": ticket.number, "status": "closed"}, kind="handoff_closed")

    async def rate(self, sender: str, number: str, level: int) -> list[BotMessage]:
        """The citizen rates the help on their closed ticket (1-5); nothing for someone else's or a bad rating."""
        try:
            ticket = await to_thread.run_sync(self.store.ticket, number)
            if ticket.sender_id != sender:
                return []
            await to_thread.run_sync(self.store.rate, number, level)
        except HandoffError:
            return []
        self._changed(number)
        language = ticket.language
        return [ticket_message(text(language, "rated", level=level_name(level, language)), language,
                               {"number": number, "status": "closed", "rating": level}, kind="handoff_rated")]

    async def announce_places(self) -> None:
        """Tell each waiting citizen whose page is open on this gateway their current place and estimated wait
        (every gateway does so for its own pages: never relayed)."""
        for ticket in await to_thread.run_sync(self.store.open_tickets):
            if ticket.status == "waiting" and self.hub.watching(ticket.sender_id):
                self.hub.here_to_citizen(ticket.sender_id, ticket_state_event(await self.citizen_state(ticket)))

    async def announce_places_forever(self) -> None:
        """Announce places every `update_seconds` until cancelled."""
        while True:
            await asyncio.sleep(self.config.update_seconds)
            try:
                await self.announce_places()
            except Exception as error:  # a database hiccup must not end the updates
                log.warning("queue_update_failed", extra={"fields": {"error": type(error).__name__}})

    async def deliver(self, ticket: Ticket, message: Message, buttons: Optional[list[Button]] = None) -> None:
        """Send a stored agent or system message to the citizen on their channel (web: live; others: pushed)."""
        shown_agent = await self._agent_name(ticket)
        self.hub.to_citizen(ticket.sender_id, citizen_event(ticket, message, buttons, shown_agent))
        push = self._deliverers.get(ticket.channel)
        if push is None:
            return
        shown = message.text
        if message.author == "agent":
            shown = text(ticket.language, "agent_prefix", agent=message.agent) + message.text
        state = TicketRef(number=ticket.number, status=ticket.status, agent=shown_agent).model_dump()
        reply = ticket_message(shown, ticket.language, state, buttons, kind=f"handoff_{message.author}")
        try:
            await push(ticket.sender_id, [reply])
        except Exception as error:  # a channel failure must not undo the stored message
            log.warning("handoff_delivery_failed", extra={"fields": {"ticket": ticket.number,
                                                                     "channel": ticket.channel,
                                                                     "error": type(error).__name__}})

    async def resume_bot(self, ticket: Ticket) -> None:
        """Tell the bot what the agent said and that it is back in charge (a failure is only logged)."""
        transcript = await to_thread.run_sync(self.store.transcript, ticket.number)
        events: list[dict[str, Any]] = [
            {"event": "bot", "text": m.text, "timestamp": m.created_at.timestamp(),
             "metadata": {"handoff_ticket": ticket.number, "agent": m.agent}}
            for m in transcript.messages if m.author == "agent"]
        events += [{"event": "slot", "name": "failed_turns", "value": 0.0},
                   {"event": "slot", "name": "pending_offer", "value": None}]
        try:
            if self.bot is None:
                raise RuntimeError("no bot is attached to the desk")
            await self.bot.append_events(ticket.sender_id, events)
        except Exception as error:  # the conversation goes on; the bot only misses the agent's words
            log.warning("handoff_resume_failed", extra={"fields": {"ticket": ticket.number, "reason": str(error)}})

    async def missed_events(self, sender: str, after: int) -> list[LiveEvent]:
        """The conversation's agent and system messages stored after message id `after`, as live events."""
        missed = await to_thread.run_sync(self.store.citizen_messages_after, sender, after)
        if not missed:
            return []
        names = {agent.username: agent.display_name for agent in await to_thread.run_sync(self.store.agents)}
        return replay_events(missed, names)

    async def citizen_events(self, sender: str, after: int = 0) -> AsyncGenerator[LiveEvent, None]:
        """A conversation's live handoff events: first what was missed after message id `after` and the open
        ticket's state, then agent and system messages and queue places as they happen (none twice). After a
        "resync" (events may have been lost between gateways) what was missed is replayed from the database."""
        with self.hub.citizen_stream(sender) as queue:  # listening before the replay: nothing falls between
            seen = SeenIds(after)
            for event in await self._catch_up(sender, seen):
                yield event
            while True:
                event = await queue.get()
                if event.get("type") == RESYNC:
                    for missed in await self._catch_up(sender, seen):
                        yield missed
                    continue
                message_id = event.get("id")
                if isinstance(message_id, int):
                    if seen.has(message_id):
                        continue  # stored while we were replaying, or relayed twice: already sent
                    seen.add(message_id)
                yield event

    async def _catch_up(self, sender: str, seen: SeenIds) -> list[LiveEvent]:
        """The stored messages a stream has not sent yet, then the open ticket's state."""
        missed = await self.missed_events(sender, seen.through)
        events = [event for event in missed if not seen.has(int(event["id"]))]
        seen.caught_up(max([seen.through, *(int(event["id"]) for event in missed)]))
        ticket = await self.open_ticket_of(sender)
        if ticket is not None:
            events.append(ticket_state_event(await self.citizen_state(ticket)))
        return events
