"""The work-order tables (12345 接诉即办): orders, their audit trail, messages, dispatches, number counters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-07-20

DDL only: no imports from the application. The tables are written out as workorders/models.py declares them,
so a database made by its `create_all` and one made by this revision are the same.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _create_work_orders() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _text("description", nullable=False),
        _text("address"),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        _text("since"),
        sa.Column("contact_consent", sa.Boolean(), nullable=False),
        sa.Column("contact_method", sa.String(16), nullable=True),
        sa.Column("contact_value", sa.String(200), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_ticket", sa.String(32), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("dispatched_at", nullable=True),
        _when("signed_at", nullable=True),
        _when("replied_at", nullable=True),
        _when("sign_deadline", nullable=True),
        _when("reply_deadline", nullable=True),
        _when("visited_at", nullable=True),
        _when("closed_at", nullable=True),
        _text("reply"),
        _text("return_reason"),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
        sa.Column("merged_into", sa.String(32), nullable=True),
        sa.Column("extension_state", sa.String(16), nullable=True),
        _when("extension_deadline", nullable=True),
        _text("extension_reason"),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("escalated_for", sa.String(32), nullable=False),
    )
    for column in ("sender_id", "department", "status", "source_ticket", "created_at"):
        op.create_index(f"ix_work_orders_{column}", "work_orders", [column])


def _create_work_order_events() -> None:
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), nullable=False),
        _when("at"),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=True),
        _text("note"),
    )
    op.create_index("ix_work_order_events_order_id", "work_order_events", ["order_id"])


def _create_work_order_messages() -> None:
    op.create_table(
        "work_order_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), nullable=False),
        _when("at"),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("department", sa.String(64), nullable=True),
        _text("text", nullable=False),
    )
    op.create_index("ix_work_order_messages_order_id", "work_order_messages", ["order_id"])


def _create_work_order_dispatches() -> None:
    op.create_table(
        "work_order_dispatches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("work_orders.id"), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        _when("dispatched_at"),
        _when("sign_deadline"),
        _when("reply_deadline"),
        _when("signed_at", nullable=True),
        _when("replied_at", nullable=True),
        _when("ended_at", nullable=True),
        sa.Column("ended", sa.String(16), nullable=True),
        _when("visited_at", nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=True),
        sa.Column("rating", sa.String(24), nullable=True),
    )
    for column in ("order_id", "department", "dispatched_at", "visited_at"):
        op.create_index(f"ix_work_order_dispatches_{column}", "work_order_dispatches", [column])


def _create_work_order_counters() -> None:
    op.create_table(
        "work_order_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )


# in the order foreign keys need (and the reverse for dropping)
TABLES = {"work_orders": _create_work_orders, "work_order_events": _create_work_order_events,
          "work_order_messages": _create_work_order_messages, "work_order_dispatches": _create_work_order_dispatches,
          "work_order_counters": _create_work_order_counters}


def upgrade() -> None:
    """Create the five work-order tables."""
    for create in TABLES.values():
        create()


def downgrade() -> None:
    """Drop the five work-order tables (and every row in them)."""
    for table in reversed(TABLES):
        op.drop_table(table)
