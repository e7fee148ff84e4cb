"""The handoff tables: agents and their sessions, tickets (工单), their messages and their audit trail."""

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class HandoffBase(DeclarativeBase):
    pass


class AgentRow(HandoffBase):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(16), server_default="agent")  # handoff.records.AccountRole
    department: Mapped[Optional[str]] = mapped_column(String(64))  # a department account's department


class AgentSessionRow(HandoffBase):
    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


OPEN_CONDITION = text("status IN ('waiting', 'assigned')")


class TicketRow(HandoffBase):
    __tablename__ = "tickets"
    # at most one open ticket per conversation, even when two requests open one at the same moment
    __table_args__ = (Index("uq_tickets_one_open_per_sender", "sender_id", unique=True,
                            sqlite_where=OPEN_CONDITION, postgresql_where=OPEN_CONDITION),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    large_text: Mapped[bool] = mapped_column(Boolean, default=False)
    voice: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(32))
    item: Mapped[Optional[str]] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), index=True)  # waiting / assigned / closed
    agent: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    last_citizen_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    last_agent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[Optional[str]] = mapped_column(String(16))  # agent / citizen
    resolution: Mapped[Optional[str]] = mapped_column(Text)
    citizen_rating: Mapped[Optional[int]] = mapped_column(Integer)


class TicketMessageRow(HandoffBase):
    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # citizen / bot / agent / system / note
    agent: Mapped[Optional[str]] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TicketEventRow(HandoffBase):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))  # an agent's username, "citizen" or "system"
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[Optional[str]] = mapped_column(Text)
