"""Roles of console accounts, and the classifier's proposal kept on a work order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

- `agents.role`: what the account may do: `agent` (handoff chats, and the dispatcher of work orders),
  `department` (a handling department's staff, at /dept, only their department's orders: `agents.department`),
  `supervisor` (the rates and analytics), `admin`. Accounts made before have `agent`.
- `work_orders.proposed_department`, `work_orders.proposal_confidence`: what the dispatch classifier proposed
  for an order from the conversation, for the dispatcher to confirm or change when it was not confident enough
  to dispatch by itself (kept afterwards, so that dispatchers' changes can be counted).
- `work_orders.request_key`: the conversation and request id of the message that filed an order from the
  conversation (unique), so that a retried message (the same request id) files it once.

DDL only: no imports from the application.
"""

from typing import Literal, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _recreate() -> Literal["auto", "always"]:
    """SQLite: copy the table anew, so that its stored CREATE TABLE is the one create_all writes (ALTER TABLE would
    append the columns to the old statement); other databases alter it in place."""
    return "always" if op.get_context().dialect.name == "sqlite" else "auto"


def _add_missing(table: str, columns: list[sa.Column[object]]) -> None:
    """Add the columns the table lacks (a database adopted from before migrations, whose tables were made by the
    models of the day, may have them already)."""
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(table)}
    missing = [column for column in columns if column.name not in present]
    if missing:
        with op.batch_alter_table(table, recreate=_recreate()) as batch:
            for column in missing:
                batch.add_column(column)


def upgrade() -> None:
    """Add the role columns to agents and the proposal columns to work orders."""
    _add_missing("agents", [sa.Column("role", sa.String(16), nullable=False, server_default="agent"),
                            sa.Column("department", sa.String(64), nullable=True)])
    _add_missing("work_orders", [sa.Column("proposed_department", sa.String(64), nullable=True),
                                 sa.Column("proposal_confidence", sa.Float(), nullable=True),
                                 sa.Column("request_key", sa.String(128), nullable=True)])
    if "uq_work_orders_request_key" not in {index["name"] for index in
                                            sa.inspect(op.get_bind()).get_indexes("work_orders")}:
        op.create_index("uq_work_orders_request_key", "work_orders", ["request_key"], unique=True)


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("work_orders", recreate=_recreate()) as orders:
        orders.drop_column("proposal_confidence")
        orders.drop_column("proposed_department")
    with op.batch_alter_table("agents", recreate=_recreate()) as agents:
        agents.drop_column("department")
        agents.drop_column("role")
