"""What the desk gives back: tickets, transcripts, the queue, metrics and a citizen's view of their ticket.

These are the one mapping from the store's records to what agents' consoles and citizens' pages are shown;
the gateway uses them as its response models, so the API schema documents them.
"""

from typing import Any, Optional

from pydantic import BaseModel, Field

from handoff.records import AccountRole, Agent, Event, Message, Ticket


class AgentView(BaseModel):
    """An agent (a console account) as the consoles show them."""

    username: str
    display_name: str
    role: AccountRole = Field(AccountRole.AGENT, description="agent, department, supervisor or admin")
    department: Optional[str] = Field(None, description="a department account's department (catalogue id)")

    @classmethod
    def of(cls, agent: Agent) -> "AgentView":
        """The view of a stored agent."""
        return cls(username=agent.username, display_name=agent.display_name, role=agent.role,
                   department=agent.department)


class AgentList(BaseModel):
    """Every agent (to forward a ticket to)."""

    agents: list[AgentView]


class CannedReplies(BaseModel):
    """Ready-made replies agents can pick, per language."""

    zh: list[str]
    en: list[str]


class SlaTimer(BaseModel):
    """One SLA timer of a ticket."""

    state: str = Field(description="ok, warning or breached while running; met or missed once done")
    elapsed: int = Field(description="seconds so far")
    target: float = Field(description="seconds allowed")


class TicketRef(BaseModel):
    """A ticket's number, status and agent: what an action on it answers."""

    number: str
    status: str = Field(description="waiting, assigned or closed")
    agent: Optional[str] = Field(description="the agent who has it (username; citizens see the display name)")

    @classmethod
    def of(cls, ticket: Ticket) -> "TicketRef":
        """The ticket's reference, naming its agent by username."""
        return cls(number=ticket.number, status=ticket.status, agent=ticket.agent)


class TicketSummary(TicketRef):
    """A ticket in the agents' queue; the queue fields are null for a closed ticket."""

    channel: str
    language: str
    elderly: bool
    reason: str
    item: Optional[str]
    created_at: str = Field(description="ISO 8601")
    waited: Optional[int] = Field(default=None, description="seconds since the ticket was opened")
    priority: Optional[int] = None
    position: Optional[int] = Field(default=None, description="1 = next to be picked up; null once an agent has it")
    sla: Optional[dict[str, SlaTimer]] = Field(default=None,
                                               description="first_response, next_response and resolution")

    @classmethod
    def of_ticket(cls, ticket: Ticket, queue_fields: Optional[dict[str, Any]] = None) -> "TicketSummary":
        """The summary of a ticket, with its place in the queue when it is in it."""
        return cls(number=ticket.number, status=ticket.status, agent=ticket.agent, channel=ticket.channel,
                   language=ticket.language, elderly=ticket.elderly, reason=ticket.reason, item=ticket.item,
                   created_at=ticket.created_at.isoformat(), **(queue_fields or {}))


class TicketFacts(TicketSummary):
    """A ticket with how it ended."""

    resolution: Optional[str]
    citizen_rating: Optional[int]
    closed_by: Optional[str] = Field(description="agent or citizen")


class TranscriptMessage(BaseModel):
    """One message of a ticket's transcript."""

    id: int
    author: str = Field(description="citizen, bot, agent, system or note (internal, never sent to the citizen)")
    agent: Optional[str]
    text: str
    at: str = Field(description="ISO 8601")

    @classmethod
    def of(cls, message: Message) -> "TranscriptMessage":
        """The view of a stored message."""
        return cls(id=message.id, author=message.author, agent=message.agent, text=message.text,
                   at=message.created_at.isoformat())


class TranscriptEvent(BaseModel):
    """One entry of a ticket's audit trail."""

    at: str = Field(description="ISO 8601")
    actor: str
    action: str
    detail: Optional[str]

    @classmethod
    def of(cls, event: Event) -> "TranscriptEvent":
        """The view of a stored audit event."""
        return cls(at=event.at.isoformat(), actor=event.actor, action=event.action, detail=event.detail)


class TicketDetail(BaseModel):
    """A ticket with its whole transcript (the bot's turns included) and its audit trail."""

    ticket: TicketFacts
    messages: list[TranscriptMessage]
    events: list[TranscriptEvent]


class QueueView(BaseModel):
    """Open tickets: waiting ones in pick-up order, then the claimed ones; and who is there to take them."""

    tickets: list[TicketSummary]
    agents_online: int
    open_now: bool = Field(description="within the working hours")


class MessageRef(BaseModel):
    """The id of a stored message."""

    id: int


class Metrics(BaseModel):
    """Handoff figures over the last `days` days."""

    days: int
    tickets: int
    open: int
    answered: int
    answered_within_target: Optional[float] = Field(description="share answered within first_response_target")
    first_response_target: float
    abandoned: int
    abandonment: Optional[float]
    wait_median: Optional[int] = Field(description="seconds until an agent took the ticket")
    wait_p90: Optional[int]
    rating_mean: Optional[float]


class CitizenTicketState(BaseModel):
    """What a citizen sees of their open ticket."""

    number: str
    status: str
    position: Optional[int]
    minutes: int = Field(description="estimated wait")
    agents_online: int
    open_now: bool
    agent: Optional[str] = Field(description="the agent's display name")
    when: str = Field(description="when an agent will contact them; empty while agents are online")
