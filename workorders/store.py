"""Work orders, their audit trail, messages and dispatches, in the application database (SQLite or PostgreSQL).

Every operation is one transaction: the order is read under a write lock (SQLite: BEGIN IMMEDIATE; PostgreSQL:
SELECT ... FOR UPDATE), changed by a pure step of workorders.lifecycle, and written back with its dispatch and
audit rows, or, on any error, not at all. Order numbers are GD + the day (yyyymmdd, China time) + a sequence of
that day of at least 4 digits (GD202503140001), taken from a per-day counter by one atomic upsert, so numbers
made at the same moment by several processes never collide.
"""

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator, Optional, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.database import open_engine, write_session
from core.schema import upgrade_schema
from workorders import lifecycle
from workorders.deadlines import DeadlinePolicy
from workorders.lifecycle import Step
from workorders.models import (
    WorkOrderCounterRow,
    WorkOrderDispatchRow,
    WorkOrderEventRow,
    WorkOrderMessageRow,
    WorkOrderRow,
)
from workorders.rates import DepartmentRates, department_rates
from workorders.records import (
    OPEN_STATES,
    SYSTEM,
    WITH_DEPARTMENT,
    Actor,
    AuditEntry,
    Contact,
    ContactMethod,
    Deadline,
    Dispatch,
    Draft,
    ExtensionState,
    Message,
    Rating,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrder,
    WorkOrderError,
    utcnow,
)

NUMBER_PREFIX = "GD"  # 工单
NUMBER_TIMEZONE = "Asia/Shanghai"  # the day in an order number is the day in China
_ENDS_DISPATCH = {"returned": "returned", "merged": "merged", "closed": "closed", "reopened": "reopened",
                  "dispatched": "redispatched", "redispatched": "redispatched"}
_STARTS_DISPATCH = {"dispatched", "redispatched", "reopened"}
# the states in which an order is with its department (or waits for the citizen's verdict on its reply)
DEPARTMENT_STATES = (Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS, Status.REPLIED, Status.VISITING)


def _aware(moment: Optional[datetime]) -> Optional[datetime]:
    """SQLite gives naive datetimes back; all stored times are UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def order_of(row: WorkOrderRow) -> WorkOrder:
    """The work order of a database row."""
    contact = Contact(row.contact_consent, ContactMethod(row.contact_method) if row.contact_method else None,
                      row.contact_value)
    return WorkOrder(
        number=row.number, sender_id=row.sender_id, channel=row.channel, language=row.language,
        kind=RequestKind(row.kind), description=row.description, urgency=Urgency(row.urgency),
        status=Status(row.status), created_at=_utc(row.created_at), updated_at=_utc(row.updated_at),
        address=row.address, latitude=row.latitude, longitude=row.longitude, since=row.since, contact=contact,
        department=row.department, source_ticket=row.source_ticket, dispatched_at=_aware(row.dispatched_at),
        signed_at=_aware(row.signed_at), replied_at=_aware(row.replied_at), sign_deadline=_aware(row.sign_deadline),
        reply_deadline=_aware(row.reply_deadline), visited_at=_aware(row.visited_at),
        closed_at=_aware(row.closed_at), reply=row.reply, return_reason=row.return_reason, resolved=row.resolved,
        rating=Rating(row.rating) if row.rating else None, merged_into=row.merged_into,
        extension_state=ExtensionState(row.extension_state) if row.extension_state else None,
        extension_deadline=_aware(row.extension_deadline), extension_reason=row.extension_reason,
        escalated=row.escalated,
        escalated_for=tuple(Deadline(part) for part in row.escalated_for.split(",") if part),
        proposed_department=row.proposed_department, proposal_confidence=row.proposal_confidence,
        request_key=row.request_key)


def _fill(row: WorkOrderRow, order: WorkOrder) -> None:
    """Write the order's fields into its row."""
    row.number, row.sender_id, row.channel, row.language = order.number, order.sender_id, order.channel, order.language
    row.kind, row.description, row.urgency, row.status = order.kind, order.description, order.urgency, order.status
    row.address, row.latitude, row.longitude, row.since = order.address, order.latitude, order.longitude, order.since
    row.contact_consent = order.contact.consent
    row.contact_method = order.contact.method.value if order.contact.method else None
    row.contact_value = order.contact.value
    row.department, row.source_ticket = order.department, order.source_ticket
    row.created_at, row.updated_at, row.dispatched_at = order.created_at, order.updated_at, order.dispatched_at
    row.signed_at, row.replied_at, row.visited_at = order.signed_at, order.replied_at, order.visited_at
    row.sign_deadline, row.reply_deadline, row.closed_at = order.sign_deadline, order.reply_deadline, order.closed_at
    row.reply, row.return_reason, row.resolved = order.reply, order.return_reason, order.resolved
    row.rating = order.rating.value if order.rating else None
    row.merged_into = order.merged_into
    row.extension_state = order.extension_state.value if order.extension_state else None
    row.extension_deadline, row.extension_reason = order.extension_deadline, order.extension_reason
    row.escalated = order.escalated
    row.escalated_for = ",".join(deadline.value for deadline in order.escalated_for)
    row.proposed_department, row.proposal_confidence = order.proposed_department, order.proposal_confidence
    row.request_key = order.request_key


def _dispatch_of(row: WorkOrderDispatchRow, number: str) -> Dispatch:
    return Dispatch(order_number=number, department=row.department, dispatched_at=_utc(row.dispatched_at),
                    sign_deadline=_utc(row.sign_deadline), reply_deadline=_utc(row.reply_deadline),
                    signed_at=_aware(row.signed_at), replied_at=_aware(row.replied_at),
                    ended_at=_aware(row.ended_at), ended=row.ended, visited_at=_aware(row.visited_at),
                    resolved=row.resolved, rating=Rating(row.rating) if row.rating else None)


@contextmanager
def _one_per_request(draft: Draft) -> Iterator[None]:
    """A second order from the same request (its key is unique) is WorkOrderError `duplicate_request`."""
    try:
        yield
    except IntegrityError:
        if draft.request_key is None:
            raise
        raise WorkOrderError("duplicate_request", "this request has filed an order already") from None


class WorkOrderStore:
    """The work-order store. `clock` gives the current time (tests move it); `policy` the deadlines (default:
    workorders/deadlines.yml)."""

    def __init__(self, url: str, clock: Callable[[], datetime] = utcnow, policy: Optional[DeadlinePolicy] = None,
                 number_timezone: str = NUMBER_TIMEZONE) -> None:
        self.engine = open_engine(url)
        self.clock = clock
        self.policy = policy if policy is not None else DeadlinePolicy.load()
        self.zone = ZoneInfo(number_timezone)
        upgrade_schema(self.engine)  # the tables come from core/migrations

    @staticmethod
    def _row(session: Session, number: str, lock: bool = False) -> WorkOrderRow:
        query = select(WorkOrderRow).where(WorkOrderRow.number == number)
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise WorkOrderError("no_such_order", f"there is no work order {number}")
        return row

    def _next_number(self, session: Session, now: datetime) -> str:
        """The next order number of the day, from the day's counter (one atomic upsert)."""
        day = now.astimezone(self.zone).strftime("%Y%m%d")
        insert = postgresql_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        upsert = insert(WorkOrderCounterRow).values(day=day, last=1)
        statement = upsert.on_conflict_do_update(index_elements=[WorkOrderCounterRow.day],
                                                 set_={"last": WorkOrderCounterRow.last + 1})
        sequence = int(session.execute(statement.returning(WorkOrderCounterRow.last)).scalar_one())
        return f"{NUMBER_PREFIX}{day}{sequence:04d}"

    # --- writing ---------------------------------------------------------------------------------------------

    def _audit(self, session: Session, order_id: int, entries: Sequence[AuditEntry]) -> None:
        """Add audit entries to an order's trail (notes are masked by the lifecycle)."""
        for entry in entries:
            session.add(WorkOrderEventRow(order_id=order_id, at=entry.at, role=entry.role.value, actor=entry.actor,
                                          action=entry.action, note=entry.note,
                                          from_status=entry.from_status.value if entry.from_status else None,
                                          to_status=entry.to_status.value if entry.to_status else None))

    @staticmethod
    def _current_dispatch(session: Session, order_id: int) -> Optional[WorkOrderDispatchRow]:
        return session.scalar(select(WorkOrderDispatchRow).where(WorkOrderDispatchRow.order_id == order_id,
                                                                 WorkOrderDispatchRow.ended_at.is_(None))
                              .order_by(WorkOrderDispatchRow.id.desc()).limit(1))

    def _track(self, session: Session, row: WorkOrderRow, step: Step, actor: Actor) -> None:
        """Keep the order's dispatch rows and messages in step with what the step did."""
        order, action, now = step.order, step.entries[0].action, step.entries[0].at
        current = self._current_dispatch(session, row.id)
        if current is not None and action in _ENDS_DISPATCH:
            current.ended_at, current.ended = now, _ENDS_DISPATCH[action]
        if action in _STARTS_DISPATCH and order.status == Status.DISPATCHED and order.department is not None \
                and order.sign_deadline is not None and order.reply_deadline is not None:
            session.add(WorkOrderDispatchRow(order_id=row.id, department=order.department, dispatched_at=now,
                                             sign_deadline=order.sign_deadline, reply_deadline=order.reply_deadline))
        if current is None:
            return
        if action == "signed":
            current.signed_at = now
        elif action == "replied":
            current.replied_at = current.replied_at or now
            session.add(WorkOrderMessageRow(order_id=row.id, at=now, role=actor.role.value, author=actor.name,
                                            department=order.department, text=order.reply or ""))
        elif action == "extension_approved" and order.reply_deadline is not None:
            current.reply_deadline = order.reply_deadline
        elif action == "visit_recorded":
            current.visited_at, current.resolved = now, order.resolved
            current.rating = order.rating.value if order.rating else None

    def _change(self, number: str, actor: Actor, make: Callable[[WorkOrder, datetime], Step]) -> WorkOrder:
        """One step on one order, in one locked transaction."""
        now = self.clock()
        with write_session(self.engine) as session:
            row = self._row(session, number, lock=True)
            step = make(order_of(row), now)
            _fill(row, step.order)
            self._track(session, row, step, actor)
            self._audit(session, row.id, step.entries)
            session.flush()
            return order_of(row)

    def create(self, draft: Draft, actor: Actor) -> WorkOrder:
        """受理: a new order, accepted, with a new number and the first audit entry."""
        now = self.clock()
        with _one_per_request(draft), write_session(self.engine) as session:
            step = lifecycle.accept(draft, actor, self._next_number(session, now), now)
            row = WorkOrderRow()
            _fill(row, step.order)
            session.add(row)
            session.flush()
            self._audit(session, row.id, step.entries)
            session.flush()
            return order_of(row)

    def create_and_dispatch(self, draft: Draft, actor: Actor, department: str, dispatcher: Actor = SYSTEM,
                            note: Optional[str] = None) -> WorkOrder:
        """受理 by `actor` and 派单 by `dispatcher` to a department (the caller checks it is in the catalogue), in
        one transaction: for an order that arrives with its department (Open311). The new order, dispatched, with
        both audit entries; on any error nothing is stored and no number is used."""
        now = self.clock()
        with _one_per_request(draft), write_session(self.engine) as session:
            accepted = lifecycle.accept(draft, actor, self._next_number(session, now), now)
            step = lifecycle.dispatch(accepted.order, dispatcher, department, self.policy, now, note)
            row = WorkOrderRow()
            _fill(row, step.order)
            session.add(row)
            session.flush()
            self._audit(session, row.id, accepted.entries + step.entries)
            self._track(session, row, step, dispatcher)
            session.flush()
            return order_of(row)

    def dispatch(self, number: str, actor: Actor, department: str, note: Optional[str] = None) -> WorkOrder:
        """派单 to a department (the caller checks it is in the catalogue); the deadlines start."""
        return self._change(number, actor, lambda o, now: lifecycle.dispatch(o, actor, department, self.policy, now,
                                                                             note))

    def sign(self, number: str, actor: Actor) -> WorkOrder:
        """签收 by the order's department."""
        return self._change(number, actor, lambda o, now: lifecycle.sign(o, actor, now))

    def start(self, number: str, actor: Actor) -> WorkOrder:
        """办理: the department starts on it."""
        return self._change(number, actor, lambda o, now: lifecycle.start(o, actor, now))

    def reply(self, number: str, actor: Actor, text: str) -> WorkOrder:
        """反馈: the department's reply, stored as a message to the citizen."""
        return self._change(number, actor, lambda o, now: lifecycle.reply(o, actor, text, now))

    def return_order(self, number: str, actor: Actor, reason: str) -> WorkOrder:
        """退单: back to the dispatcher, with a reason."""
        return self._change(number, actor, lambda o, now: lifecycle.return_order(o, actor, reason, now))

    def redispatch(self, number: str, actor: Actor, department: str, note: Optional[str] = None) -> WorkOrder:
        """重派 a returned order, with new deadlines."""
        return self._change(number, actor, lambda o, now: lifecycle.redispatch(o, actor, department, self.policy,
                                                                               now, note))

    def request_extension(self, number: str, actor: Actor, until: datetime, reason: str) -> WorkOrder:
        """延期申请 by the department."""
        return self._change(number, actor, lambda o, now: lifecycle.request_extension(o, actor, until, reason, now))

    def decide_extension(self, number: str, actor: Actor, approve: bool, note: Optional[str] = None) -> WorkOrder:
        """A dispatcher approves (the reply deadline moves) or denies the pending extension."""
        return self._change(number, actor, lambda o, now: lifecycle.decide_extension(o, actor, approve, now, note))

    def start_visit(self, number: str, actor: Actor) -> WorkOrder:
        """回访 begins."""
        return self._change(number, actor, lambda o, now: lifecycle.start_visit(o, actor, now))

    def record_visit(self, number: str, actor: Actor, resolved: bool, rating: Optional[Rating] = None,
                     note: Optional[str] = None) -> WorkOrder:
        """The return visit's answer: resolved or not, and the rating."""
        return self._change(number, actor, lambda o, now: lifecycle.record_visit(o, actor, resolved, rating, now,
                                                                                 note))

    def reopen(self, number: str, actor: Actor, reason: str, to_department: bool = True) -> WorkOrder:
        """Not resolved: back to the same department (new deadlines) or to accepted."""
        return self._change(number, actor, lambda o, now: lifecycle.reopen(o, actor, reason, self.policy, now,
                                                                           to_department))

    def close(self, number: str, actor: Actor, note: Optional[str] = None) -> WorkOrder:
        """办结."""
        return self._change(number, actor, lambda o, now: lifecycle.close(o, actor, now, note))

    def merge(self, number: str, into: str, actor: Actor, note: Optional[str] = None) -> WorkOrder:
        """合并 the duplicate `number` into the open order `into`; both trails record it. The merged duplicate."""
        now = self.clock()
        with write_session(self.engine) as session:
            rows = {row.number: row for row in session.scalars(
                select(WorkOrderRow).where(WorkOrderRow.number.in_({number, into}))
                .order_by(WorkOrderRow.id).with_for_update())}
            for wanted in (number, into):
                if wanted not in rows:
                    raise WorkOrderError("no_such_order", f"there is no work order {wanted}")
            duplicate, target = rows[number], rows[into]
            step, target_entry = lifecycle.merge(order_of(duplicate), order_of(target), actor, now, note)
            _fill(duplicate, step.order)
            self._track(session, duplicate, step, actor)
            self._audit(session, duplicate.id, step.entries)
            self._audit(session, target.id, [target_entry])
            session.flush()
            return order_of(duplicate)

    def escalate_overdue(self, now: Optional[datetime] = None) -> list[WorkOrder]:
        """督办: flag every order that has newly missed a deadline (each deadline once, with an audit entry);
        the orders flagged now."""
        moment = now if now is not None else self.clock()
        flagged: list[WorkOrder] = []
        with write_session(self.engine) as session:
            rows = session.scalars(select(WorkOrderRow).where(
                WorkOrderRow.status.in_([s.value for s in WITH_DEPARTMENT]),
                or_(WorkOrderRow.sign_deadline < moment, WorkOrderRow.reply_deadline < moment))
                .order_by(WorkOrderRow.id).with_for_update()).all()
            for row in rows:
                step = lifecycle.escalate(order_of(row), SYSTEM, moment)
                if step is None:
                    continue
                _fill(row, step.order)
                self._audit(session, row.id, step.entries)
                flagged.append(step.order)
        return flagged

    # --- reading ---------------------------------------------------------------------------------------------

    def order(self, number: str) -> WorkOrder:
        """The order of that number; WorkOrderError("no_such_order") if there is none."""
        with Session(self.engine) as session:
            return order_of(self._row(session, number))

    def order_of_request(self, request_key: str) -> Optional[WorkOrder]:
        """The order filed by the conversation's request with this key, if one was."""
        with Session(self.engine) as session:
            row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.request_key == request_key))
            return order_of(row) if row is not None else None

    def order_from_ticket(self, ticket: str) -> Optional[WorkOrder]:
        """The (first) order an agent made from this handoff ticket, if one was."""
        with Session(self.engine) as session:
            row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.source_ticket == ticket)
                                 .order_by(WorkOrderRow.id).limit(1))
            return order_of(row) if row is not None else None

    def orders_of(self, sender_id: str) -> list[WorkOrder]:
        """A conversation's orders, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(WorkOrderRow).where(WorkOrderRow.sender_id == sender_id)
                                   .order_by(WorkOrderRow.id))
            return [order_of(row) for row in rows]

    def department_orders(self, actor: Actor, department: Optional[str] = None,
                          current: bool = True) -> list[WorkOrder]:
        """A department's orders, oldest first: with `current`, those now with it (dispatched to it, signed, in
        progress, replied, in the return visit), else every order it last had. Department staff see only their
        own department's, a dispatcher (or the system) any department's."""
        if actor.role == Role.DEPARTMENT:
            if actor.department is None or department not in (None, actor.department):
                raise WorkOrderError("not_your_department", "department staff see only their department's orders")
            department = actor.department
        elif actor.role == Role.CITIZEN:
            raise WorkOrderError("forbidden", "a citizen may not list a department's orders")
        if department is None:
            raise WorkOrderError("department_required", "name the department")
        query = select(WorkOrderRow).where(WorkOrderRow.department == department)
        if current:
            query = query.where(WorkOrderRow.status.in_([s.value for s in DEPARTMENT_STATES]))
        with Session(self.engine) as session:
            return [order_of(row) for row in session.scalars(query.order_by(WorkOrderRow.id))]

    def open_orders(self) -> list[WorkOrder]:
        """Orders neither closed nor merged, oldest first."""
        with Session(self.engine) as session:
            rows = session.scalars(select(WorkOrderRow).where(
                WorkOrderRow.status.in_([s.value for s in OPEN_STATES])).order_by(WorkOrderRow.id))
            return [order_of(row) for row in rows]

    def find(self, numbers: Optional[Sequence[str]] = None, departments: Optional[Sequence[str]] = None,
             statuses: Optional[Sequence[Status]] = None, created_from: Optional[datetime] = None,
             created_before: Optional[datetime] = None, channel: Optional[str] = None,
             limit: int = 1000) -> list[WorkOrder]:
        """Orders matching every filter given (numbers, departments, states: any of those listed; created in
        [created_from, created_before); the channel they came from), newest first, at most `limit`."""
        query = select(WorkOrderRow)
        if numbers is not None:
            query = query.where(WorkOrderRow.number.in_(list(numbers)))
        if departments is not None:
            query = query.where(WorkOrderRow.department.in_(list(departments)))
        if statuses is not None:
            query = query.where(WorkOrderRow.status.in_([Status(status).value for status in statuses]))
        if created_from is not None:
            query = query.where(WorkOrderRow.created_at >= created_from)
        if created_before is not None:
            query = query.where(WorkOrderRow.created_at < created_before)
        if channel is not None:
            query = query.where(WorkOrderRow.channel == channel)
        with Session(self.engine) as session:
            rows = session.scalars(query.order_by(WorkOrderRow.created_at.desc(), WorkOrderRow.id.desc())
                                   .limit(max(0, limit)))
            return [order_of(row) for row in rows]

    def trail(self, number: str) -> list[AuditEntry]:
        """The order's audit trail, in order."""
        with Session(self.engine) as session:
            row = self._row(session, number)
            events = session.scalars(select(WorkOrderEventRow).where(WorkOrderEventRow.order_id == row.id)
                                     .order_by(WorkOrderEventRow.id))
            return [AuditEntry(_utc(e.at), Role(e.role), e.actor, e.action,
                               Status(e.from_status) if e.from_status else None,
                               Status(e.to_status) if e.to_status else None, e.note) for e in events]

    def messages(self, number: str) -> list[Message]:
        """The messages on the order the citizen sees (the departments' replies), in order."""
        with Session(self.engine) as session:
            row = self._row(session, number)
            found = session.scalars(select(WorkOrderMessageRow).where(WorkOrderMessageRow.order_id == row.id)
                                    .order_by(WorkOrderMessageRow.id))
            return [Message(_utc(m.at), Role(m.role), m.author, m.text, m.department) for m in found]

    def dispatches(self, start: datetime, end: datetime) -> list[Dispatch]:
        """The dispatches made, or visited, in [start, end), oldest first."""
        in_period = or_(WorkOrderDispatchRow.dispatched_at.between(start, end),
                        WorkOrderDispatchRow.visited_at.between(start, end))
        with Session(self.engine) as session:
            found = session.execute(select(WorkOrderDispatchRow, WorkOrderRow.number).join(
                WorkOrderRow, WorkOrderRow.id == WorkOrderDispatchRow.order_id).where(in_period)
                .order_by(WorkOrderDispatchRow.id)).all()
            return [_dispatch_of(dispatch, number) for dispatch, number in found]

    def rates(self, start: datetime, end: datetime, now: Optional[datetime] = None) -> list[DepartmentRates]:
        """Each department's response, resolution and satisfaction rates over [start, end) (workorders.rates)."""
        return department_rates(self.dispatches(start, end), start, end, now if now is not None else self.clock())
