"""The schema as it was before migrations: ratings, and the handoff's agents, sessions, tickets, messages, events.

Revision ID: 0001
Revises:
Create Date: 2026-07-01

DDL only: no imports from the application (core sits below every other package). The tables are written
out as core/ratings.py and handoff/models.py declare them, so a database made by their `create_all` and
one made by this revision are the same.

A database from before migrations (some of these tables present, no alembic_version) is adopted: this
revision creates only what it lacks, e.g. the handoff tables where only ratings were ever stored, or the
one-open-ticket index that tables made before it was added do not have.
"""

import logging
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

log = logging.getLogger("govbot.schema")

OPEN_CONDITION = sa.text("status IN ('waiting', 'assigned')")
ONE_OPEN_TICKET = "uq_tickets_one_open_per_sender"


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _create_ratings() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _when("created_at"),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(50), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("question", sa.Text(), nullable=True),
        sa.Column("item", sa.String(80), nullable=True),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
    )
    for column in ("created_at", "sender_id", "item"):
        op.create_index(f"ix_ratings_{column}", "ratings", [column])


def _create_agents() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        _when("created_at"),
        _when("last_seen_at", nullable=True),
    )


def _create_agent_sessions() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        _when("created_at"),
        _when("expires_at"),
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])


def _create_tickets() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=True, unique=True),
        sa.Column("sender_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("large_text", sa.Boolean(), nullable=False),
        sa.Column("voice", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("item", sa.String(80), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        _when("created_at"),
        _when("claimed_at", nullable=True),
        _when("first_response_at", nullable=True),
        _when("last_citizen_at", nullable=True),
        _when("last_agent_at", nullable=True),
        _when("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(16), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("citizen_rating", sa.Integer(), nullable=True),
    )
    _create_one_open_ticket_index()
    for column in ("sender_id", "status", "agent"):
        op.create_index(f"ix_tickets_{column}", "tickets", [column])


def _create_one_open_ticket_index() -> None:
    op.create_index(ONE_OPEN_TICKET, "tickets", ["sender_id"], unique=True,
                    sqlite_where=OPEN_CONDITION, postgresql_where=OPEN_CONDITION)


def _create_ticket_messages() -> None:
    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        _when("created_at"),
    )
    op.create_index("ix_ticket_messages_ticket_id", "ticket_messages", ["ticket_id"])


def _create_ticket_events() -> None:
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        _when("at"),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])


# in the order foreign keys need (and the reverse for dropping)
TABLES = {"ratings": _create_ratings, "agents": _create_agents, "agent_sessions": _create_agent_sessions,
          "tickets": _create_tickets, "ticket_messages": _create_ticket_messages,
          "ticket_events": _create_ticket_events}


def _add_missing_one_open_ticket_index() -> None:
    """Tickets from before the index: add it, unless two open tickets of one conversation prevent it (as before)."""
    if ONE_OPEN_TICKET in {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("tickets")}:
        return
    try:
        with op.get_bind().begin_nested():
            _create_one_open_ticket_index()
    except sa.exc.IntegrityError as error:
        log.warning("handoff_index_missing", extra={"fields": {"index": ONE_OPEN_TICKET,
                                                               "error": type(error).__name__}})


def upgrade() -> None:
    """Create the six tables, or, in a database from before migrations, those it lacks."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for table, create in TABLES.items():
        if table not in existing:
            create()
    if "tickets" in existing:
        _add_missing_one_open_ticket_index()


def downgrade() -> None:
    """Drop the six tables (and every row in them)."""
    for table in reversed(TABLES):
        op.drop_table(table)
