"""The work-order store on SQLite and on a real PostgreSQL server: the whole path with its audit trail, return and
redispatch, department isolation, escalation, merge, extension, reopen, atomicity, unique numbers under
concurrent creation, and the rates on known data."""

from dataclasses import replace
from datetime import timedelta
from typing import Callable, Iterator

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.schema import head_revision
from testkit.handoff import START, Clock, race
from workorders.models import WorkOrderDispatchRow, WorkOrderEventRow, WorkOrderRow
from workorders.records import (
    SYSTEM,
    Actor,
    Contact,
    ContactMethod,
    Draft,
    Rating,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrderError,
)
from workorders.store import WorkOrderStore

SENDER = "telegram:5550001"
CITIZEN = Actor(Role.CITIZEN, SENDER)
DISPATCHER = Actor(Role.DISPATCHER, "li.na")
HOUSING = Actor(Role.DEPARTMENT, "wang", "housing")
TRANSPORT = Actor(Role.DEPARTMENT, "zhao", "transport")
DAY = "20250314"  # START is 09:30 UTC, 17:30 in China


def draft(sender: str = SENDER, urgency: Urgency = Urgency.NORMAL, description: str = "路灯坏了一个月") -> Draft:
    return Draft(sender_id=sender, channel="telegram", language="zh", kind=RequestKind.HELP,
                 description=description, urgency=urgency, address="海淀区学院路1号", latitude=39.99,
                 longitude=116.35, since="上个月", contact=Contact(True, ContactMethod.PHONE, "13812345678"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(db_url: str, clock: Clock) -> Iterator[WorkOrderStore]:
    store = WorkOrderStore(db_url, clock=clock)
    yield store
    store.engine.dispose()


def error_code(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(WorkOrderError) as caught:
        call(*args)
    return caught.value.code


def new_order(store: WorkOrderStore, sender: str = SENDER, **kw: object) -> str:
    return store.create(draft(sender, **kw), Actor(Role.CITIZEN, sender)).number  # type: ignore[arg-type]


def test_the_whole_path_from_accepted_to_closed_with_its_audit_trail(store: WorkOrderStore, clock: Clock) -> None:
    order = store.create(draft(description="路灯坏了，联系我13912345678"), CITIZEN)
    assert (order.number, order.status, order.created_at) == (f"GD{DAY}0001", Status.ACCEPTED, START)
    assert order.description == "路灯坏了，联系我*******5678" and order.contact.value == "13812345678"
    assert (order.latitude, order.longitude, order.since) == (39.99, 116.35, "上个月")
    number = order.number
    store.dispatch(number, DISPATCHER, "housing")
    clock.advance(minutes=40)
    store.sign(number, HOUSING)
    clock.advance(hours=1)
    store.start(number, HOUSING)
    clock.advance(days=2)
    replied = store.reply(number, HOUSING, "已更换灯泡，如有问题请致电13712345678")
    assert replied.reply == "已更换灯泡，如有问题请致电*******5678"
    clock.advance(days=1)
    store.start_visit(number, SYSTEM)
    store.record_visit(number, CITIZEN, True, Rating.SATISFIED)
    closed = store.close(number, DISPATCHER, "回访满意")
    assert (closed.status, closed.resolved, closed.rating, closed.closed_at) == (
        Status.CLOSED, True, Rating.SATISFIED, clock.now)
    assert closed.signed_at == START + timedelta(minutes=40)
    assert store.order(number) == closed

    trail = store.trail(number)
    assert [(e.role, e.actor, e.action, e.from_status, e.to_status) for e in trail] == [
        (Role.CITIZEN, SENDER, "accepted", None, Status.ACCEPTED),
        (Role.DISPATCHER, "li.na", "dispatched", Status.ACCEPTED, Status.DISPATCHED),
        (Role.DEPARTMENT, "wang", "signed", Status.DISPATCHED, Status.SIGNED),
        (Role.DEPARTMENT, "wang", "started", Status.SIGNED, Status.IN_PROGRESS),
        (Role.DEPARTMENT, "wang", "replied", Status.IN_PROGRESS, Status.REPLIED),
        (Role.SYSTEM, "system", "visit_started", Status.REPLIED, Status.VISITING),
        (Role.CITIZEN, SENDER, "visit_recorded", Status.VISITING, Status.VISITING),
        (Role.DISPATCHER, "li.na", "closed", Status.VISITING, Status.CLOSED),
    ]
    assert trail[0].at == START and trail[-1].at == clock.now
    assert [e.note for e in trail][1:3] == ["to housing", None]
    assert trail[4].note == "已更换灯泡，如有问题请致电*******5678"  # masked in the trail too
    [message] = store.messages(number)
    assert (message.role, message.author, message.department, message.text) == (
        Role.DEPARTMENT, "wang", "housing", "已更换灯泡，如有问题请致电*******5678")
    [dispatch] = store.dispatches(START, clock.now + timedelta(seconds=1))
    assert (dispatch.department, dispatch.signed_at, dispatch.ended, dispatch.resolved, dispatch.rating) == (
        "housing", START + timedelta(minutes=40), "closed", True, Rating.SATISFIED)
    assert store.open_orders() == [] and [o.number for o in store.orders_of(SENDER)] == [number]


def test_the_stored_text_holds_no_personal_number(store: WorkOrderStore, db_url: str) -> None:
    number = new_order(store, description="身份证110101199003074578丢了")
    store.dispatch(number, DISPATCHER, "housing", note="市民电话13812345678")
    with Session(store.engine) as session:
        row = session.scalar(select(WorkOrderRow).where(WorkOrderRow.number == number))
        notes = session.scalars(select(WorkOrderEventRow.note)).all()
    assert row is not None and "110101199003074578" not in row.description
    assert not any(note and "13812345678" in note for note in notes)


def test_return_and_redispatch_with_department_isolation(store: WorkOrderStore, clock: Clock) -> None:
    number = new_order(store)
    store.dispatch(number, DISPATCHER, "housing")
    assert [o.number for o in store.department_orders(HOUSING)] == [number]
    assert store.department_orders(TRANSPORT) == []
    assert error_code(store.department_orders, HOUSING, "transport") == "not_your_department"
    assert error_code(store.sign, number, TRANSPORT) == "not_your_department"
    assert error_code(store.return_order, number, HOUSING, "  ") == "reason_required"
    clock.advance(minutes=30)
    returned = store.return_order(number, HOUSING, "路灯归城管部门")
    assert (returned.status, returned.return_reason) == (Status.RETURNED, "路灯归城管部门")
    assert store.department_orders(HOUSING) == []  # with the dispatcher now
    assert [o.number for o in store.department_orders(HOUSING, current=False)] == [number]
    assert error_code(store.sign, number, HOUSING) == "illegal_transition"
    clock.advance(minutes=30)
    again = store.redispatch(number, DISPATCHER, "transport", note="按职责重派")
    assert (again.status, again.department, again.sign_deadline) == (
        Status.DISPATCHED, "transport", clock.now + timedelta(hours=2))
    assert store.department_orders(HOUSING) == []
    assert [o.number for o in store.department_orders(DISPATCHER, "transport")] == [number]
    store.sign(number, TRANSPORT)
    first, second = store.dispatches(START, clock.now + timedelta(seconds=1))
    assert (first.department, first.ended, first.ended_at, first.signed_at) == (
        "housing", "returned", START + timedelta(minutes=30), None)
    assert (second.department, second.ended, second.signed_at) == ("transport", None, clock.now)
    assert [e.action for e in store.trail(number)] == ["accepted", "dispatched", "returned", "redispatched",
                                                       "signed"]
    assert store.trail(number)[3].note == "to transport 按职责重派"


def test_overdue_orders_are_escalated_once_per_missed_deadline(store: WorkOrderStore, clock: Clock) -> None:
    urgent = new_order(store, urgency=Urgency.URGENT)
    normal = new_order(store, sender="web:abc")
    store.dispatch(urgent, DISPATCHER, "housing")
    store.dispatch(normal, DISPATCHER, "housing")
    assert store.escalate_overdue(START + timedelta(minutes=30)) == []
    [flagged] = store.escalate_overdue(START + timedelta(minutes=31))
    assert (flagged.number, flagged.escalated) == (urgent, True)
    assert store.escalate_overdue(START + timedelta(minutes=45)) == []
    flagged_later = store.escalate_overdue(START + timedelta(hours=2, minutes=1))
    assert sorted(o.number for o in flagged_later) == sorted([urgent, normal])  # urgent's reply, normal's sign
    assert store.escalate_overdue(START + timedelta(hours=3)) == []
    notes = [e.note for e in store.trail(urgent) if e.action == "escalated"]
    assert [note.split()[0] for note in notes if note] == ["sign", "reply"]
    assert all(e.role == Role.SYSTEM for e in store.trail(urgent) if e.action == "escalated")
    assert store.order(urgent).status == Status.DISPATCHED


def test_extension_merge_and_reopen(store: WorkOrderStore, clock: Clock) -> None:
    number, duplicate = new_order(store), new_order(store, sender="web:dup")
    store.dispatch(number, DISPATCHER, "housing")
    store.sign(number, HOUSING)
    before = store.order(number).reply_deadline
    assert before is not None
    asked = store.request_extension(number, HOUSING, before + timedelta(days=7), "需要更换电缆")
    assert asked.reply_deadline == before
    assert store.decide_extension(number, DISPATCHER, True).reply_deadline == before + timedelta(days=7)
    [dispatch] = store.dispatches(START, clock.now + timedelta(seconds=1))
    assert dispatch.reply_deadline == before + timedelta(days=7)

    merged = store.merge(duplicate, number, DISPATCHER, "同一路灯")
    assert (merged.status, merged.merged_into) == (Status.MERGED, number)
    assert store.trail(number)[-1].action == "merged_in"
    assert error_code(store.merge, number, duplicate, DISPATCHER) == "merge_target_closed"
    assert error_code(store.merge, number, "GD000", DISPATCHER) == "no_such_order"

    store.reply(number, HOUSING, "已修复")
    store.start_visit(number, DISPATCHER)
    store.record_visit(number, CITIZEN, False, Rating.UNSATISFIED)
    clock.advance(days=1)
    reopened = store.reopen(number, CITIZEN, "晚上还是不亮")
    assert (reopened.status, reopened.department, reopened.dispatched_at) == (Status.DISPATCHED, "housing",
                                                                              clock.now)
    first, second = [d for d in store.dispatches(START, clock.now + timedelta(seconds=1))]
    assert (first.ended, first.resolved, first.rating) == ("reopened", False, Rating.UNSATISFIED)
    assert (second.department, second.ended) == ("housing", None)
    assert [o.number for o in store.open_orders()] == [number]


def test_a_failing_step_leaves_the_order_unchanged(store: WorkOrderStore, monkeypatch: pytest.MonkeyPatch) -> None:
    number = new_order(store)
    store.dispatch(number, DISPATCHER, "housing")
    before, trail, dispatches = store.order(number), store.trail(number), store.dispatches(START, START.replace(
        year=2026))

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_audit", broken)  # fails after the order row and its dispatch were changed
    with pytest.raises(RuntimeError, match="disk full"):
        store.sign(number, HOUSING)
    with pytest.raises(RuntimeError, match="disk full"):
        store.return_order(number, HOUSING, "不归我们")
    with pytest.raises(RuntimeError, match="disk full"):
        store.create(draft(sender="web:x"), Actor(Role.CITIZEN, "web:x"))
    monkeypatch.undo()
    assert store.order(number) == before and store.trail(number) == trail
    assert store.dispatches(START, START.replace(year=2026)) == dispatches
    # the failed creation left no order and used no number
    assert store.orders_of("web:x") == []
    assert new_order(store, sender="web:y") == f"GD{DAY}0002"
    # an illegal step changes nothing either
    assert error_code(store.close, number, DISPATCHER) == "illegal_transition"
    assert error_code(store.sign, number, TRANSPORT) == "not_your_department"
    assert store.order(number) == before and store.trail(number) == trail


def test_a_failing_merge_changes_neither_order(store: WorkOrderStore, monkeypatch: pytest.MonkeyPatch) -> None:
    number, duplicate = new_order(store), new_order(store, sender="web:dup")
    before = (store.order(number), store.order(duplicate), store.trail(number), store.trail(duplicate))
    calls: list[int] = []
    original = store._audit

    def fail_second(session: Session, order_id: int, entries: object) -> None:
        calls.append(order_id)
        if len(calls) == 2:  # the duplicate's entry is written, the target's fails
            raise RuntimeError("lost connection")
        original(session, order_id, entries)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_audit", fail_second)
    with pytest.raises(RuntimeError):
        store.merge(duplicate, number, DISPATCHER)
    monkeypatch.undo()
    assert (store.order(number), store.order(duplicate), store.trail(number), store.trail(duplicate)) == before


def test_create_and_dispatch_is_one_transaction(store: WorkOrderStore, clock: Clock,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    integration = Actor(Role.SYSTEM, "open311:abc")
    order = store.create_and_dispatch(draft(sender="open311:abc"), integration, "housing")
    assert (order.number, order.status, order.department) == (f"GD{DAY}0001", Status.DISPATCHED, "housing")
    assert order.reply_deadline == clock.now + timedelta(days=7)
    assert [(e.actor, e.action, e.from_status, e.to_status) for e in store.trail(order.number)] == [
        ("open311:abc", "accepted", None, Status.ACCEPTED),
        ("system", "dispatched", Status.ACCEPTED, Status.DISPATCHED)]
    [dispatch] = store.dispatches(START, clock.now + timedelta(seconds=1))
    assert (dispatch.order_number, dispatch.department, dispatch.ended) == (order.number, "housing", None)
    # a dispatch that cannot be done (no department; or any failure after the order row) leaves nothing behind
    assert error_code(store.create_and_dispatch, draft(sender="open311:abc"), integration, " ") == \
        "department_required"

    def broken(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "_track", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.create_and_dispatch(draft(sender="open311:abc"), integration, "housing")
    monkeypatch.undo()
    assert [o.number for o in store.orders_of("open311:abc")] == [order.number]
    assert len(store.dispatches(START, clock.now + timedelta(seconds=1))) == 1
    assert store.create_and_dispatch(draft(sender="open311:abc"), integration, "water").number == f"GD{DAY}0002"


def test_find_filters_orders_newest_first(store: WorkOrderStore, clock: Clock) -> None:
    integration = replace(draft(sender="open311:a"), channel="open311")
    first = store.create_and_dispatch(integration, SYSTEM, "housing").number
    clock.advance(hours=1)
    second = store.create_and_dispatch(integration, SYSTEM, "water").number
    third = new_order(store)  # from Telegram, not dispatched
    assert [o.number for o in store.find()] == [third, second, first]
    assert [o.number for o in store.find(departments=["housing", "water"])] == [second, first]
    assert [o.number for o in store.find(statuses=[Status.ACCEPTED])] == [third]
    assert [o.number for o in store.find(numbers=[first, third, "GD1"], channel="telegram")] == [third]
    assert [o.number for o in store.find(channel="open311")] == [second, first]
    assert [o.number for o in store.find(created_from=START + timedelta(minutes=30))] == [third, second]
    assert [o.number for o in store.find(created_before=START + timedelta(minutes=30))] == [first]
    assert [o.number for o in store.find(limit=1)] == [third]


def test_numbers_are_unique_under_concurrent_creation(store: WorkOrderStore) -> None:
    results = race(8, lambda i: store.create(draft(f"web:r{i}"), Actor(Role.CITIZEN, f"web:r{i}")).number)
    assert [kind for kind, _ in results] == ["ok"] * 8, results
    numbers = sorted(str(number) for _, number in results)
    assert numbers == [f"GD{DAY}{n:04d}" for n in range(1, 9)]
    with Session(store.engine) as session:
        assert session.scalar(select(func.count()).select_from(WorkOrderRow)) == 8


def test_numbers_follow_the_day_in_china(store: WorkOrderStore, clock: Clock) -> None:
    assert new_order(store) == f"GD{DAY}0001"
    clock.now = START.replace(hour=15, minute=59)  # 23:59 in China
    assert new_order(store) == f"GD{DAY}0002"
    clock.now = START.replace(hour=16, minute=0)  # midnight in China: a new day, a new sequence
    assert new_order(store) == "GD202503150001"


def test_reading_an_unknown_order_and_listing_rules(store: WorkOrderStore) -> None:
    assert error_code(store.order, "GD202503149999") == "no_such_order"
    assert error_code(store.trail, "GD202503149999") == "no_such_order"
    assert error_code(store.sign, "GD202503149999", HOUSING) == "no_such_order"
    assert error_code(store.department_orders, CITIZEN) == "forbidden"
    assert error_code(store.department_orders, DISPATCHER) == "department_required"
    assert error_code(store.create, draft(), HOUSING) == "forbidden"


def test_rates_on_known_data(store: WorkOrderStore, clock: Clock) -> None:
    """housing: 3 dispatches signed in 1 h, 3 h (late) and never (late); 2 visits: resolved + satisfied,
    unresolved + unsatisfied. transport: 1 dispatch signed in time, visited resolved and basically satisfied."""
    a, b, c, d = (new_order(store, sender=f"web:{n}") for n in "abcd")
    for number in (a, b, c):
        store.dispatch(number, DISPATCHER, "housing")
    store.dispatch(d, DISPATCHER, "transport")
    clock.advance(hours=1)
    store.sign(a, HOUSING)
    store.sign(d, TRANSPORT)
    clock.advance(hours=2)
    store.sign(b, HOUSING)
    for number, actor in ((a, HOUSING), (b, HOUSING), (d, TRANSPORT)):
        store.reply(number, actor, "已处理")
        store.start_visit(number, SYSTEM)
    store.record_visit(a, Actor(Role.CITIZEN, "web:a"), True, Rating.SATISFIED)
    store.record_visit(b, Actor(Role.CITIZEN, "web:b"), False, Rating.UNSATISFIED)
    store.record_visit(d, DISPATCHER, True, Rating.BASICALLY_SATISFIED)
    end = START + timedelta(days=1)
    housing, transport = store.rates(START, end)
    assert housing.department == "housing" and transport.department == "transport"
    assert (housing.response.count, housing.response.total) == (1, 3)
    assert (housing.resolution.count, housing.resolution.total) == (1, 2)
    assert (housing.satisfaction.count, housing.satisfaction.total, housing.satisfaction.value) == (1, 2, 0.5)
    assert (transport.response.value, transport.resolution.value, transport.satisfaction.value) == (1.0, 1.0, 1.0)
    assert store.rates(end, end + timedelta(days=1)) == []


def test_the_tables_come_from_the_migrations(store: WorkOrderStore) -> None:
    with store.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
    with Session(store.engine) as session:
        assert session.scalar(select(func.count()).select_from(WorkOrderDispatchRow)) == 0
