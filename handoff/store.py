"""Tickets, their messages and audit trail, and agents, in the application database (SQLite or PostgreSQL).

Every write is one transaction, committed before the call returns: a message is stored before anyone
is told about it. Claiming is one conditional UPDATE, so of two agents claiming at once exactly one wins.
Other changes read the ticket and write it back in one locked transaction (SQLite: BEGIN IMMEDIATE;
PostgreSQL: SELECT ... FOR UPDATE), so a take-over racing a close cannot both succeed; a partial unique
index keeps a conversation to one open ticket.
"""

import logging
from datetime import datetime, timedelta
from typing import Callable, Optional, Sequence

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.database import open_engine, write_session
from core.privacy import mask
from core.schema import upgrade_schema
from handoff.config import SESSION_LIFETIME
from handoff.models import AgentRow, AgentSessionRow, TicketEventRow, TicketMessageRow, TicketRow
from handoff.passwords import (
    DEFAULT_MIN_LENGTH,
    check_password,
    dummy_hash,
    hash_password,
    new_session_token,
    require_strong_password,
    token_hash,
)
from handoff.records import (
    AccountRole,
    Agent,
    Event,
    HandoffError,
    Message,
    Ticket,
    TicketOpening,
    Transcript,
    as_utc,
    aware,
    utcnow,
)

__all__ = ["Agent", "Event", "HandoffError", "Message", "Ticket", "TicketOpening", "TicketStore", "Transcript",
           "check_password", "hash_password"]

log = logging.getLogger("govbot.handoff")

OPEN = ("waiting", "assigned")
CITIZEN_VISIBLE = ("agent", "system")
History = Sequence[tuple[str, str, datetime]]  # (author, text, when) of the bot conversation before a ticket


def _session_end(created: datetime, now: datetime, lifetime: timedelta, idle: Optional[timedelta]) -> datetime:
    """When a session used at `now` ends: `idle` later, but never past `lifetime` after its log-in."""
    end = created + lifetime
    return end if idle is None else min(end, now + idle)


def agent_of(row: AgentRow, last_seen_at: Optional[datetime] = None) -> Agent:
    """The account of a database row (seen at `last_seen_at`, else when the row says)."""
    return Agent(row.id, row.username, row.display_name, last_seen_at or aware(row.last_seen_at),
                 AccountRole(row.role or AccountRole.AGENT), row.department)


class TicketStore:
    """The handoff store. `clock` gives the current time (tests move it)."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = open_engine(url)
        self.clock = clock
        upgrade_schema(self.engine)  # the tables and indexes come from core/migrations
        dummy_hash()  # made now (once per process), not during the first log-in with an unknown name

    # --- agents ------------------------------------------------------------------------------------------

    def add_agent(self, username: str, password: str, display_name: Optional[str] = None,
                  min_length: int = DEFAULT_MIN_LENGTH, role: AccountRole = AccountRole.AGENT,
                  department: Optional[str] = None) -> Agent:
        """Create an account (the password stored as a salted hash) with a role; a department account names its
        department. HandoffError if the name is taken or invalid or the role and department do not fit,
        WeakPassword (code weak_password) if the password policy refuses the password."""
        if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
            raise HandoffError("invalid_username", "a username is 1-64 letters, digits, _ or .")
        if role not in set(AccountRole):
            raise HandoffError("invalid_role", f"a role is one of {', '.join(AccountRole)}")
        department = (department or "").strip() or None
        if (role == AccountRole.DEPARTMENT) != (department is not None) or len(department or "") > 64:
            raise HandoffError("invalid_department", "a department account names its department (at most 64 "
                                                     "characters), and only a department account does")
        require_strong_password(password, username, min_length)
        row = AgentRow(username=username, display_name=display_name or username,
                       password_hash=hash_password(password), created_at=self.clock(), role=AccountRole(role).value,
                       department=department)
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()
                return agent_of(row)
        except IntegrityError:
            raise HandoffError("agent_exists", f"an agent called {username!r} exists already") from None

    def agents(self) -> list[Agent]:
        """Every agent, by username."""
        with Session(self.engine) as session:
            return [agent_of(r)
                    for r in session.scalars(select(AgentRow).order_by(AgentRow.username))]

    def agent(self, username: str) -> Optional[Agent]:
        """The agent of that username, if there is one."""
        with Session(self.engine) as session:
            row = session.scalar(select(AgentRow).where(AgentRow.username == username))
            return agent_of(row) if row else None

    def log_in(self, username: str, password: str, lifetime: timedelta = SESSION_LIFETIME,
               idle: Optional[timedelta] = None) -> Optional[str]:
        """A new session token for right credentials, else None. The session ends `lifetime` after the log-in,
        or earlier once it has not been used actively for `idle` (None: no idle limit).

        An unknown username costs what a wrong password costs: one scrypt, against a dummy hash.
        """
        with Session(self.engine) as session, session.begin():
            row = session.scalar(select(AgentRow).where(AgentRow.username == username))
            stored = row.password_hash if row is not None else dummy_hash()
            if not check_password(password, stored) or row is None:
                return None
            token = new_session_token()
            now = self.clock()
            session.execute(delete(AgentSessionRow).where(AgentSessionRow.expires_at <= now))  # purge the dead
            session.add(AgentSessionRow(token_hash=token_hash(token), agent_id=row.id, created_at=now,
                                        expires_at=_session_end(now, now, lifetime, idle)))
            row.last_seen_at = now
            return token

    def session_agent(self, token: str, lifetime: timedelta = SESSION_LIFETIME, idle: Optional[timedelta] = None,
                      active: bool = True) -> Optional[Agent]:
        """The agent of a live session token (and mark them seen), else None. An active use (the agent did
        something) keeps the session alive for another `idle`, up to `lifetime` after the log-in; a background
        one (the console refreshing by itself) does not."""
        if not token:
            return None
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            found = session.execute(select(AgentSessionRow, AgentRow).join(AgentRow)
                                    .where(AgentSessionRow.token_hash == token_hash(token))).first()
            if found is None or as_utc(found[0].expires_at) <= now:
                return None
            session_row, agent_row = found
            if active and idle is not None:
                session_row.expires_at = _session_end(as_utc(session_row.created_at), now, lifetime, idle)
            agent_row.last_seen_at = now
            return agent_of(agent_row, now)

    def log_out(self, token: str) -> None:
        """End the session of that token (nothing happens for an unknown token)."""
        with Session(self.engine) as session, session.begin():
            row = session.get(AgentSessionRow, token_hash(token))
            if row is not None:
                session.delete(row)

    def purge_expired_sessions(self, dry_run: bool = False) -> int:
        """Delete the sessions that have ended (by lifetime or idleness); how many there were (counted only,
        with dry_run)."""
        ended = AgentSessionRow.expires_at <= self.clock()
        with Session(self.engine) as session, session.begin():
            if dry_run:
                return int(session.scalar(select(func.count()).select_from(AgentSessionRow).where(ended)) or 0)
            result = session.execute(delete(AgentSessionRow).where(ended))
            return result.rowcount if isinstance(result, CursorResult) else 0

    def agents_online(self, within: timedelta = timedelta(seconds=90)) -> int:
        """Agents (and admins) seen within the window who are still logged in (an agent who logged out is gone at
        once); department staff, supervisors and their sessions do not answer chats and are not counted."""
        now = self.clock()
        live = select(AgentSessionRow.agent_id).where(AgentSessionRow.expires_at > now)
        answering = (AccountRole.AGENT.value, AccountRole.ADMIN.value)
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(AgentRow)
                                      .where(AgentRow.last_seen_at >= now - within, AgentRow.id.in_(live),
                                             AgentRow.role.in_(answering))) or 0)

    # --- tickets ---------------------------------------------------------------------------------------

    def open_ticket(self, opening: TicketOpening, history: History = ()) -> Ticket:
        """Open a ticket for the conversation (or return the one already open), with the bot's transcript."""
        try:
            return self._open_ticket(opening, history)
        except IntegrityError:  # another request opened the conversation's ticket just now
            return self._open_ticket(opening, history)

    def _open_ticket(self, opening: TicketOpening, history: History) -> Ticket:
        now = self.clock()
        with write_session(self.engine) as session:
            existing = session.scalar(select(TicketRow).where(TicketRow.sender_id == opening.sender_id,
                                                              TicketRow.status.in_(OPEN)))
            if existing is not None:
                return Ticket.of(existing)
            row = TicketRow(sender_id=opening.sender_id, channel=opening.channel, language=opening.language,
                            large_text=opening.large_text, voice=opening.voice, reason=opening.reason,
                            item=opening.item, status="waiting", created_at=now)
            session.add(row)
            session.flush()
            row.number = f"{now:%Y%m%d}-{row.id:04d}"
            for author, text, at in history:
                # clear text while the ticket is open (the agent may call back); masked when it closes
                session.add(TicketMessageRow(ticket_id=row.id, author=author, text=text, created_at=at))
            session.add(TicketEventRow(ticket_id=row.id, at=now, actor="system", action="opened",
                                       detail=opening.reason))
            session.flush()
            return Ticket.of(row)

    def open_ticket_of(self, sender_id: str) -> Optional[Ticket]:
        """The conversation's open ticket, if any."""
        with Session(self.engine) as session:
            row = session.scalar(select(TicketRow).where(TicketRow.sender_id == sender_id,
                                                         TicketRow.status.in_(OPEN)))
            return Ticket.of(row) if row else None

    def ticket(self, number: str) -> Ticket:
        """The ticket of that number; HandoffError("no_such_ticket") if there is none."""
        with Session(self.engine) as session:
            return Ticket.of(self._row(session, number))

    @staticmethod
    def _row(session: Session, number: str, lock: bool = False) -> TicketRow:
        query = select(TicketRow).where(TicketRow.number == number)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise HandoffError("no_such_ticket", f"there is no ticket {number}")
        return row

    def open_tickets(self) -> list[Ticket]:
        """Tickets waiting for or assigned to an agent, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(TicketRow).where(TicketRow.status.in_(OPEN)).order_by(TicketRow.id))
            return [Ticket.of(row) for row in rows]

    def tickets_since(self, since: datetime) -> list[Ticket]:
        """Tickets opened at or after `since`, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(TicketRow).where(TicketRow.created_at >= since).order_by(TicketRow.id))
            return [Ticket.of(row) for row in rows]

    def add_message(self, number: str, author: str, text: str, agent: Optional[str] = None) -> Message:
        """Store a message of the ticket (citizen, agent, system or an agent's internal note)."""
        now = self.clock()
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            if row.status == "closed" and author in ("citizen", "agent"):
                raise HandoffError("ticket_closed", f"ticket {number} is closed")
            if author == "agent":
                self._require_owner(row, agent)
                row.last_agent_at = now
                row.first_response_at = row.first_response_at or now
            elif author == "citizen":
                row.last_citizen_at = now
            message = TicketMessageRow(ticket_id=row.id, author=author, agent=agent, created_at=now,
                                       text=mask(text) if row.status == "closed" else text)
            session.add(message)
            session.flush()
            return Message.of(message)

    @staticmethod
    def _require_owner(row: TicketRow, agent: Optional[str]) -> None:
        if row.status != "assigned" or row.agent != agent:
            owner = f"claimed by {row.agent}" if row.status == "assigned" else row.status
            raise HandoffError("not_your_ticket", f"ticket {row.number} is {owner}; claim or take it over first")

    def _event(self, session: Session, row: TicketRow, actor: str, action: str, detail: Optional[str] = None) -> None:
        session.add(TicketEventRow(ticket_id=row.id, at=self.clock(), actor=actor, action=action, detail=detail))

    def claim(self, number: str, agent: str) -> Ticket:
        """Take a waiting ticket; HandoffError("already_claimed") when someone else got it first."""
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            claimed = session.execute(update(TicketRow)
                                      .where(TicketRow.number == number, TicketRow.status == "waiting")
                                      .values(status="assigned", agent=agent, claimed_at=now))
            won = isinstance(claimed, CursorResult) and claimed.rowcount > 0
            row = self._row(session, number)
            if not won:
                if row.status == "assigned" and row.agent == agent:
                    return Ticket.of(row)
                raise HandoffError("already_claimed" if row.status == "assigned" else "ticket_closed",
                                   f"ticket {number} is {'claimed by ' + str(row.agent) if row.agent else row.status}")
            self._event(session, row, agent, "claimed")
            session.flush()
            return Ticket.of(row)

    def take_over(self, number: str, agent: str) -> Ticket:
        """Take a ticket claimed by another agent, on purpose (recorded in the audit trail)."""
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            if row.status == "closed":
                raise HandoffError("ticket_closed", f"ticket {number} is closed")
            previous = row.agent
            row.status, row.agent = "assigned", agent
            row.claimed_at = row.claimed_at or self.clock()
            self._event(session, row, agent, "took_over", f"from {previous}" if previous else None)
            return Ticket.of(row)

    def release(self, number: str, agent: str) -> Ticket:
        """Put one's ticket back in the queue."""
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            self._require_owner(row, agent)
            row.status, row.agent = "waiting", None
            self._event(session, row, agent, "released")
            return Ticket.of(row)

    def forward(self, number: str, agent: str, to: str) -> Ticket:
        """Hand one's ticket to another agent."""
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            self._require_owner(row, agent)
            if session.scalar(select(AgentRow).where(AgentRow.username == to)) is None:
                raise HandoffError("no_such_agent", f"there is no agent {to!r}")
            row.agent = to
            self._event(session, row, agent, "forwarded", f"to {to}")
            return Ticket.of(row)

    def close(self, number: str, agent: str, resolution: str) -> Ticket:
        """Close one's ticket with a resolution."""
        if not resolution.strip():
            raise HandoffError("resolution_required", "say how the ticket was resolved")
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            self._require_owner(row, agent)
            row.status, row.closed_at, row.closed_by, row.resolution = "closed", self.clock(), "agent", resolution
            self._event(session, row, agent, "closed", resolution)
            self._mask_ticket(session, row)
            return Ticket.of(row)

    def cancel(self, number: str) -> Ticket:
        """The citizen no longer wants a person."""
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            if row.status != "closed":
                row.status, row.closed_at, row.closed_by = "closed", self.clock(), "citizen"
                row.resolution = "cancelled by the citizen"
                self._event(session, row, "citizen", "cancelled")
                self._mask_ticket(session, row)
            return Ticket.of(row)

    @staticmethod
    def _mask_ticket(session: Session, row: TicketRow) -> None:
        """Mask the personal numbers in a closing ticket's messages, resolution and audit details: the live
        conversation is over (the citizen's, the bot's and the agents' words alike)."""
        session.flush()
        if row.resolution:
            row.resolution = mask(row.resolution)
        for message in session.scalars(select(TicketMessageRow).where(TicketMessageRow.ticket_id == row.id)):
            if (masked := mask(message.text)) != message.text:
                message.text = masked
        for event in session.scalars(select(TicketEventRow).where(TicketEventRow.ticket_id == row.id)):
            if event.detail and (masked := mask(event.detail)) != event.detail:
                event.detail = masked

    def purge_closed(self, before: datetime, dry_run: bool = False) -> int:
        """Delete the tickets closed before `before`, with their messages and audit trails, in one transaction;
        how many tickets (open ones are never purged)."""
        closed_before = (TicketRow.status == "closed", TicketRow.closed_at < before)
        with write_session(self.engine) as session:
            count = int(session.scalar(select(func.count()).select_from(TicketRow).where(*closed_before)) or 0)
            if dry_run or not count:
                return count
            old = select(TicketRow.id).where(*closed_before)
            session.execute(delete(TicketMessageRow).where(TicketMessageRow.ticket_id.in_(old)))
            session.execute(delete(TicketEventRow).where(TicketEventRow.ticket_id.in_(old)))
            session.execute(delete(TicketRow).where(*closed_before))
            return count

    def rate(self, number: str, rating: int) -> Ticket:
        """The citizen's rating (1-5) of a closed ticket's help."""
        if rating not in range(1, 6):
            raise HandoffError("invalid_rating", "a rating is 1 to 5")
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            if row.status != "closed":
                raise HandoffError("ticket_open", f"ticket {number} is still open")
            row.citizen_rating = rating
            self._event(session, row, "citizen", "rated", str(rating))
            return Ticket.of(row)

    def transcript(self, number: str) -> Transcript:
        """The ticket with all its messages and audit events, in order."""
        with Session(self.engine) as session:
            row = self._row(session, number)
            messages = session.scalars(select(TicketMessageRow).where(TicketMessageRow.ticket_id == row.id)
                                       .order_by(TicketMessageRow.id))
            events = session.scalars(select(TicketEventRow).where(TicketEventRow.ticket_id == row.id)
                                     .order_by(TicketEventRow.id))
            return Transcript(Ticket.of(row), [Message.of(m) for m in messages],
                              [Event(as_utc(e.at), e.actor, e.action, e.detail) for e in events])

    def citizen_messages_after(self, sender_id: str, after_id: int) -> list[tuple[Ticket, Message]]:
        """Agent and system messages of the conversation's tickets newer than after_id (to replay them)."""
        with Session(self.engine) as session:
            rows = session.execute(select(TicketMessageRow, TicketRow).join(TicketRow)
                                   .where(TicketRow.sender_id == sender_id, TicketMessageRow.id > after_id,
                                          TicketMessageRow.author.in_(CITIZEN_VISIBLE))
                                   .order_by(TicketMessageRow.id)).all()
            return [(Ticket.of(ticket), Message.of(message)) for message, ticket in rows]

    def last_closed_unrated(self, sender_id: str) -> Optional[Ticket]:
        """The conversation's latest closed ticket the citizen has not rated yet."""
        with Session(self.engine) as session:
            row = session.scalar(select(TicketRow).where(TicketRow.sender_id == sender_id,
                                                         TicketRow.status == "closed",
                                                         TicketRow.citizen_rating.is_(None))
                                 .order_by(TicketRow.id.desc()))
            return Ticket.of(row) if row else None
