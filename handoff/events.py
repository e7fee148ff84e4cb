"""The live events of handoff: what a citizen's page and an agent's console are sent."""

from dataclasses import replace
from typing import Optional

from core.messages import Button
from handoff.hub import LiveEvent
from handoff.records import Message, Ticket
from handoff.texts import rating_buttons
from handoff.views import CitizenTicketState, TicketRef


def citizen_event(ticket: Ticket, message: Message, buttons: Optional[list[Button]] = None,
                  agent_name: Optional[str] = None) -> LiveEvent:
    """The event a citizen's page gets for a stored agent or system message (its id resumes a stream)."""
    return {"type": "handoff", "id": message.id, "author": message.author, "agent": message.agent,
            "text": message.text, "language": ticket.language,
            "buttons": [b.model_dump() for b in buttons or []],
            "ticket": TicketRef(number=ticket.number, status=ticket.status, agent=agent_name).model_dump()}


def ticket_state_event(state: CitizenTicketState) -> LiveEvent:
    """The event a citizen's page gets with the ticket's place in the queue and the expected wait."""
    return {"type": "ticket", **state.model_dump()}


def agents_event(kind: str, number: str) -> LiveEvent:
    """The event agents' consoles get when a ticket changed: "queue" (its state) or "message" (its transcript)."""
    return {"type": kind, "ticket": number}


def replay_events(missed: list[tuple[Ticket, Message]], names: dict[str, str]) -> list[LiveEvent]:
    """The events of messages a page missed, as it would have got them live: agents by display name (`names`:
    username -> display name), and the rating buttons with the closing message of an agent-closed, unrated
    ticket (its last system message)."""
    last_system = {t.id: m.id for t, m in missed if m.author == "system"}  # ids ascend: the last one wins
    events = []
    for ticket, message in missed:
        buttons = None
        if message.author == "system" and ticket.status == "closed" and ticket.closed_by == "agent" \
                and ticket.citizen_rating is None and message.id == last_system[ticket.id]:
            buttons = rating_buttons(ticket.language, ticket.number)
        shown = replace(message, agent=names.get(message.agent or "", message.agent))
        events.append(citizen_event(ticket, shown, buttons, names.get(ticket.agent or "")))
    return events
