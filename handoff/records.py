"""What the handoff store gives back: tickets, their messages and audit events, agents; and the domain's error."""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Optional

from handoff.models import TicketMessageRow, TicketRow


def utcnow() -> datetime:
    """The current time in UTC (the store's default clock)."""
    return datetime.now(timezone.utc)


def aware(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back; all stored times are UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def as_utc(moment: datetime) -> datetime:
    """A stored time with its UTC time zone (SQLite gives it back naive)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


class HandoffError(Exception):
    """A ticket action that cannot be done; code is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TicketOpening:
    """What the bot's handoff payload and the channel know when a ticket is opened."""

    sender_id: str
    channel: str
    language: str
    reason: str
    item: Optional[str] = None
    large_text: bool = False
    voice: bool = False


@dataclass(frozen=True)
class Ticket:
    """A ticket (工单) as stored."""

    id: int
    number: str
    sender_id: str
    channel: str
    language: str
    large_text: bool
    voice: bool
    reason: str
    item: Optional[str]
    status: str
    agent: Optional[str]
    created_at: datetime
    claimed_at: Optional[datetime]
    first_response_at: Optional[datetime]
    last_citizen_at: Optional[datetime]
    last_agent_at: Optional[datetime]
    closed_at: Optional[datetime]
    closed_by: Optional[str]
    resolution: Optional[str]
    citizen_rating: Optional[int]

    @property
    def elderly(self) -> bool:
        """Large-text or voice mode: the ticket gets a higher priority."""
        return self.large_text or self.voice

    @classmethod
    def of(cls, row: TicketRow) -> "Ticket":
        """The ticket of a database row."""
        return cls(id=row.id, number=row.number or "", sender_id=row.sender_id, channel=row.channel,
                   language=row.language, large_text=row.large_text, voice=row.voice, reason=row.reason,
                   item=row.item, status=row.status, agent=row.agent, created_at=as_utc(row.created_at),
                   claimed_at=aware(row.claimed_at), first_response_at=aware(row.first_response_at),
                   last_citizen_at=aware(row.last_citizen_at), last_agent_at=aware(row.last_agent_at),
                   closed_at=aware(row.closed_at), closed_by=row.closed_by, resolution=row.resolution,
                   citizen_rating=row.citizen_rating)


@dataclass(frozen=True)
class Message:
    """One message of a ticket: from the citizen, the bot, an agent, the system, or an agent's internal note."""

    id: int
    ticket_id: int
    author: str
    agent: Optional[str]
    text: str
    created_at: datetime

    @classmethod
    def of(cls, row: TicketMessageRow) -> "Message":
        """The message of a database row."""
        return cls(row.id, row.ticket_id, row.author, row.agent, row.text, as_utc(row.created_at))


@dataclass(frozen=True)
class Event:
    """One entry of a ticket's audit trail."""

    at: datetime
    actor: str
    action: str
    detail: Optional[str]


class AccountRole(StrEnum):
    """What a console account may do."""

    AGENT = "agent"  # answers handoff chats at /agent and dispatches work orders (the 12345 centre)
    DEPARTMENT = "department"  # a handling department's staff: its own work orders at /dept
    SUPERVISOR = "supervisor"  # the rates and the analytics
    ADMIN = "admin"


@dataclass(frozen=True)
class Agent:
    """A console account: an agent who answers tickets, or (by role) department staff, a supervisor, an admin."""

    id: int
    username: str
    display_name: str
    last_seen_at: Optional[datetime] = None
    role: AccountRole = AccountRole.AGENT
    department: Optional[str] = None  # a department account's department (catalogue id)


@dataclass
class Transcript:
    """A ticket with all its messages (the bot's turns included) and its audit trail."""

    ticket: Ticket
    messages: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
