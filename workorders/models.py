"""The work-order tables: orders, their audit trail, the messages the citizen sees, their dispatches to departments
(what the rates are counted over), and the per-day counters of order numbers.

core/migrations/versions/0002_work_orders.py creates the same tables; a change here needs a new revision.
"""

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class WorkOrderBase(DeclarativeBase):
    pass


class WorkOrderRow(WorkOrderBase):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[Optional[str]] = mapped_column(Text)
    latitude: Mapped[Optional[float]] = mapped_column(Float)
    longitude: Mapped[Optional[float]] = mapped_column(Float)
    since: Mapped[Optional[str]] = mapped_column(Text)
    contact_consent: Mapped[bool] = mapped_column(Boolean)
    contact_method: Mapped[Optional[str]] = mapped_column(String(16))
    contact_value: Mapped[Optional[str]] = mapped_column(String(200))
    department: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    urgency: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), index=True)
    source_ticket: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    dispatched_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    sign_deadline: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    reply_deadline: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    visited_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    reply: Mapped[Optional[str]] = mapped_column(Text)
    return_reason: Mapped[Optional[str]] = mapped_column(Text)
    resolved: Mapped[Optional[bool]] = mapped_column(Boolean)
    rating: Mapped[Optional[str]] = mapped_column(String(24))
    merged_into: Mapped[Optional[str]] = mapped_column(String(32))
    extension_state: Mapped[Optional[str]] = mapped_column(String(16))
    extension_deadline: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    escalated: Mapped[bool] = mapped_column(Boolean)
    escalated_for: Mapped[str] = mapped_column(String(32))  # comma-separated deadlines already flagged
    proposed_department: Mapped[Optional[str]] = mapped_column(String(64))  # the classifier's, not yet confirmed
    proposal_confidence: Mapped[Optional[float]] = mapped_column(Float)
    # the conversation and request id of the message that filed it: a retried message files it once
    request_key: Mapped[Optional[str]] = mapped_column(String(128))

    __table_args__ = (Index("uq_work_orders_request_key", "request_key", unique=True),)


class WorkOrderEventRow(WorkOrderBase):
    __tablename__ = "work_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[Optional[str]] = mapped_column(String(16))
    to_status: Mapped[Optional[str]] = mapped_column(String(16))
    note: Mapped[Optional[str]] = mapped_column(Text)


class WorkOrderMessageRow(WorkOrderBase):
    __tablename__ = "work_order_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    role: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(200))
    department: Mapped[Optional[str]] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)


class WorkOrderDispatchRow(WorkOrderBase):
    __tablename__ = "work_order_dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    department: Mapped[str] = mapped_column(String(64), index=True)
    dispatched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sign_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reply_deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    replied_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    ended: Mapped[Optional[str]] = mapped_column(String(16))
    visited_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True), index=True)
    resolved: Mapped[Optional[bool]] = mapped_column(Boolean)
    rating: Mapped[Optional[str]] = mapped_column(String(24))


class WorkOrderCounterRow(WorkOrderBase):
    """The last sequence number given out on a day (yyyymmdd, China time): order numbers GD + day + sequence."""

    __tablename__ = "work_order_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)
