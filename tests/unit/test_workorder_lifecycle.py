"""workorders.lifecycle, deadlines and rates: every transition from every state, who may do it, department
isolation, deadlines per urgency, overdue and escalation (once per missed deadline), merge, extensions, reopen,
the policy file's errors, and the rates on known dispatches."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from core.settings import Settings
from workorders import lifecycle
from workorders.deadlines import DEFAULT_DEADLINES, DeadlinePolicy, PolicyError, overdue, parse_duration
from workorders.lifecycle import RULES, Step
from workorders.rates import department_rates
from workorders.records import (
    SYSTEM,
    Actor,
    Contact,
    ContactMethod,
    Deadline,
    Dispatch,
    Draft,
    ExtensionState,
    Rating,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrder,
    WorkOrderError,
    label,
)

T0 = datetime(2025, 3, 14, 1, 30, tzinfo=timezone.utc)
T1 = T0 + timedelta(minutes=10)
POLICY = DeadlinePolicy.load()
SENDER = "web:8f1c2d"
CITIZEN = Actor(Role.CITIZEN, SENDER)
STRANGER = Actor(Role.CITIZEN, "telegram:42")
DISPATCHER = Actor(Role.DISPATCHER, "li.na")
HOUSING = Actor(Role.DEPARTMENT, "wang", "housing")
TRANSPORT = Actor(Role.DEPARTMENT, "zhao", "transport")
DRAFT = Draft(sender_id=SENDER, channel="web", language="zh", kind=RequestKind.COMPLAINT,
              description="楼上漏水两周了，物业不管，电话13812345678", urgency=Urgency.NORMAL,
              address="朝阳区幸福路88号3单元", since="两周前",
              contact=Contact(True, ContactMethod.PHONE, "13812345678"))


def accepted(draft: Draft = DRAFT, number: str = "GD202503140001") -> WorkOrder:
    return lifecycle.accept(draft, CITIZEN, number, T0).order


def in_state(status: Status) -> WorkOrder:
    """An order in that state, with the housing department and running deadlines (as after a dispatch at T0)."""
    sign_deadline, reply_deadline = POLICY.deadlines(Urgency.NORMAL, T0)
    return replace(accepted(), status=status, department="housing", dispatched_at=T0, sign_deadline=sign_deadline,
                   reply_deadline=reply_deadline)


def pending(order: WorkOrder) -> WorkOrder:
    assert order.reply_deadline is not None
    return replace(order, extension_state=ExtensionState.PENDING, extension_reason="需要协调",
                   extension_deadline=order.reply_deadline + timedelta(days=3))


TARGET = replace(accepted(number="GD202503140002"), status=Status.SIGNED, department="housing")

# each action, done by an actor its rule allows, with valid arguments
ACTIONS: dict[str, Callable[[WorkOrder], Step]] = {
    "dispatched": lambda o: lifecycle.dispatch(o, DISPATCHER, "housing", POLICY, T1),
    "signed": lambda o: lifecycle.sign(o, HOUSING, T1),
    "started": lambda o: lifecycle.start(o, HOUSING, T1),
    "replied": lambda o: lifecycle.reply(o, HOUSING, "已联系物业修好", T1),
    "returned": lambda o: lifecycle.return_order(o, HOUSING, "不属于本部门职责", T1),
    "redispatched": lambda o: lifecycle.redispatch(o, DISPATCHER, "transport", POLICY, T1),
    "extension_requested": lambda o: lifecycle.request_extension(
        o, HOUSING, (o.reply_deadline or T1) + timedelta(days=3), "需要协调三个部门", T1),
    "extension_approved": lambda o: lifecycle.decide_extension(pending(o), DISPATCHER, True, T1),
    "extension_denied": lambda o: lifecycle.decide_extension(pending(o), DISPATCHER, False, T1),
    "merged": lambda o: lifecycle.merge(o, TARGET, DISPATCHER, T1)[0],
    "visit_started": lambda o: lifecycle.start_visit(o, SYSTEM, T1),
    "visit_recorded": lambda o: lifecycle.record_visit(o, CITIZEN, True, Rating.SATISFIED, T1),
    "reopened": lambda o: lifecycle.reopen(o, CITIZEN, "还是漏水", POLICY, T1),
    "closed": lambda o: lifecycle.close(o, DISPATCHER, T1),
}
EXPECTED_TARGET = {"dispatched": Status.DISPATCHED, "signed": Status.SIGNED, "started": Status.IN_PROGRESS,
                   "replied": Status.REPLIED, "returned": Status.RETURNED, "redispatched": Status.DISPATCHED,
                   "merged": Status.MERGED, "visit_started": Status.VISITING, "reopened": Status.DISPATCHED,
                   "closed": Status.CLOSED}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_from_every_state(action: str, status: Status) -> None:
    order = in_state(status)
    if status in RULES[action].sources:
        step = ACTIONS[action](order)
        assert step.order.status == EXPECTED_TARGET.get(action, status)
        [entry] = step.entries
        assert (entry.action, entry.from_status, entry.to_status, entry.at) == (action, status, step.order.status,
                                                                                 T1)
        assert step.order.updated_at == T1
    else:
        with pytest.raises(WorkOrderError) as raised:
            ACTIONS[action](order)
        assert raised.value.code == "illegal_transition"
        assert status.value in str(raised.value)


def test_the_legal_transitions_are_the_documented_ones() -> None:
    legal = {(action, status.value) for action, rule in RULES.items() for status in rule.sources}
    assert len(legal) == 28
    assert ("signed", "dispatched") in legal and ("signed", "accepted") not in legal
    assert {status for action, status in legal if action == "returned"} == {"dispatched", "signed", "in_progress"}
    assert {status for action, status in legal if action == "reopened"} == {"visiting", "closed"}
    assert not any(status in ("merged",) for _, status in legal)  # a merged order is finished for good


ACTORS = {Role.CITIZEN: CITIZEN, Role.DISPATCHER: DISPATCHER, Role.DEPARTMENT: HOUSING, Role.SYSTEM: SYSTEM}


@pytest.mark.parametrize("action", sorted(set(RULES) - {"accepted", "escalated"}))
def test_only_the_allowed_roles_may_act(action: str) -> None:
    rule = RULES[action]
    source = sorted(rule.sources)[0]
    for role, actor in ACTORS.items():
        order = pending(in_state(source)) if action.startswith("extension_") and action != "extension_requested" \
            else in_state(source)
        if role in rule.roles:
            lifecycle.check(order, actor, action)
        else:
            with pytest.raises(WorkOrderError) as raised:
                lifecycle.check(order, actor, action)
            assert raised.value.code == "forbidden"


def test_happy_path_from_accepted_to_closed() -> None:
    step = lifecycle.accept(DRAFT, CITIZEN, "GD202503140001", T0)
    order = step.order
    assert (order.status, order.department, order.escalated) == (Status.ACCEPTED, None, False)
    assert [(e.role, e.actor, e.action, e.from_status, e.to_status) for e in step.entries] == [
        (Role.CITIZEN, SENDER, "accepted", None, Status.ACCEPTED)]
    order = lifecycle.dispatch(order, DISPATCHER, "housing", POLICY, T0).order
    order = lifecycle.sign(order, HOUSING, T0 + timedelta(minutes=20)).order
    order = lifecycle.start(order, HOUSING, T0 + timedelta(hours=1)).order
    order = lifecycle.reply(order, HOUSING, "已维修，请回电 13912345678", T0 + timedelta(days=2)).order
    assert order.reply == "已维修，请回电 *******5678" and order.replied_at == T0 + timedelta(days=2)
    order = lifecycle.start_visit(order, SYSTEM, T0 + timedelta(days=3)).order
    order = lifecycle.record_visit(order, CITIZEN, True, Rating.BASICALLY_SATISFIED, T0 + timedelta(days=3)).order
    order = lifecycle.close(order, DISPATCHER, T0 + timedelta(days=3, hours=1)).order
    assert (order.status, order.resolved, order.rating, order.signed_at) == (
        Status.CLOSED, True, Rating.BASICALLY_SATISFIED, T0 + timedelta(minutes=20))
    assert order.closed_at == T0 + timedelta(days=3, hours=1) and not order.is_open


def test_a_department_may_reply_straight_after_signing() -> None:
    order = lifecycle.reply(in_state(Status.SIGNED), HOUSING, "政策咨询已电话答复", T1).order
    assert order.status == Status.REPLIED


# --- who may act -----------------------------------------------------------------------------------------------

def test_a_department_acts_only_on_its_own_orders() -> None:
    order = in_state(Status.DISPATCHED)
    for actor in (TRANSPORT, Actor(Role.DEPARTMENT, "nobody")):
        with pytest.raises(WorkOrderError) as raised:
            lifecycle.sign(order, actor, T1)
        assert raised.value.code == "not_your_department"
    with pytest.raises(WorkOrderError, match="not with your department"):
        lifecycle.return_order(order, TRANSPORT, "不是我们的", T1)
    assert lifecycle.sign(order, HOUSING, T1).order.status == Status.SIGNED


def test_a_citizen_acts_only_on_their_own_orders() -> None:
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.record_visit(in_state(Status.VISITING), STRANGER, True, None, T1)
    assert raised.value.code == "not_your_order"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.reopen(in_state(Status.CLOSED), STRANGER, "没解决", POLICY, T1)
    assert raised.value.code == "not_your_order"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.accept(DRAFT, STRANGER, "GD202503140009", T0)
    assert raised.value.code == "not_your_order"


def test_who_may_open_an_order() -> None:
    ticket_draft = replace(DRAFT, source_ticket="20250314-0007")
    step = lifecycle.accept(ticket_draft, DISPATCHER, "GD202503140003", T0)
    assert step.order.source_ticket == "20250314-0007" and step.entries[0].note == "from ticket 20250314-0007"
    assert lifecycle.accept(DRAFT, SYSTEM, "GD202503140004", T0).order.status == Status.ACCEPTED
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.accept(DRAFT, HOUSING, "GD202503140005", T0)
    assert raised.value.code == "forbidden"


def test_escalation_is_the_systems() -> None:
    late = in_state(Status.DISPATCHED)
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.escalate(late, DISPATCHER, T0 + timedelta(days=30))
    assert raised.value.code == "forbidden"


# --- what an order is made of ------------------------------------------------------------------------------------

def test_free_text_is_masked_and_the_contact_kept_only_with_consent() -> None:
    order = accepted()
    assert order.description == "楼上漏水两周了，物业不管，电话*******5678"
    assert order.contact == Contact(True, ContactMethod.PHONE, "13812345678")  # agreed: kept to call back
    refused = accepted(replace(DRAFT, contact=Contact(False, ContactMethod.PHONE, "13812345678")))
    assert refused.contact == Contact(False, None, None)
    chat = accepted(replace(DRAFT, contact=Contact(True, ContactMethod.CHAT)))
    assert chat.contact == Contact(True, ContactMethod.CHAT, None)
    assert (order.kind, order.urgency, order.address, order.since) == (
        RequestKind.COMPLAINT, Urgency.NORMAL, "朝阳区幸福路88号3单元", "两周前")


@pytest.mark.parametrize(("change", "code"), [
    ({"description": "   "}, "description_required"),
    ({"language": "fr"}, "invalid_order"),
    ({"sender_id": ""}, "invalid_order"),
    ({"latitude": 39.9}, "invalid_location"),
    ({"latitude": 139.9, "longitude": 116.4}, "invalid_location"),
    ({"contact": Contact(True, None, None)}, "invalid_contact"),
    ({"contact": Contact(True, ContactMethod.PHONE, " ")}, "invalid_contact"),
    ({"description": "x" * 4001}, "text_too_long"),
])
def test_a_bad_draft_is_refused(change: dict[str, object], code: str) -> None:
    draft = replace(DRAFT, **change)  # type: ignore[arg-type]
    actor = Actor(Role.CITIZEN, draft.sender_id)
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.accept(draft, actor, "GD202503140001", T0)
    assert raised.value.code == code


def test_a_telegram_location_is_kept() -> None:
    order = accepted(replace(DRAFT, latitude=39.9087, longitude=116.3975, address=None))
    assert (order.latitude, order.longitude, order.address) == (39.9087, 116.3975, None)


def test_labels_in_both_languages() -> None:
    assert (label(RequestKind.COMPLAINT, "zh"), label(RequestKind.REPORT, "zh")) == ("投诉", "举报")
    assert label(Status.VISITING, "zh") == "回访" and label(Status.CLOSED, "en") == "closed"
    assert [label(r, "zh") for r in Rating] == ["满意", "基本满意", "不满意"]


# --- returning, redispatching ------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   ", None])
def test_returning_needs_a_reason(reason: str) -> None:
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.return_order(in_state(Status.SIGNED), HOUSING, reason, T1)
    assert raised.value.code == "reason_required"


def test_return_then_redispatch_to_another_department_with_new_deadlines() -> None:
    order = lifecycle.dispatch(accepted(), DISPATCHER, "housing", POLICY, T0).order
    step = lifecycle.return_order(order, HOUSING, "属于交通部门职责", T1)
    order = step.order
    assert (order.status, order.return_reason, step.entries[0].note) == (Status.RETURNED, "属于交通部门职责",
                                                                         "属于交通部门职责")
    assert overdue(order, T0 + timedelta(days=30)) == ()  # with the dispatcher: no deadline runs
    later = T0 + timedelta(hours=5)
    step = lifecycle.redispatch(order, DISPATCHER, "transport", POLICY, later)
    order = step.order
    assert (order.status, order.department, order.dispatched_at) == (Status.DISPATCHED, "transport", later)
    assert (order.sign_deadline, order.reply_deadline) == (later + timedelta(hours=2), later + timedelta(days=7))
    assert step.entries[0].note == "to transport"
    with pytest.raises(WorkOrderError):
        lifecycle.sign(order, HOUSING, later)  # no longer housing's
    assert lifecycle.sign(order, TRANSPORT, later).order.status == Status.SIGNED


def test_redispatch_to_the_same_department_and_dispatch_needs_one() -> None:
    order = lifecycle.return_order(in_state(Status.DISPATCHED), HOUSING, "材料不全", T1).order
    assert lifecycle.redispatch(order, DISPATCHER, "housing", POLICY, T1).order.department == "housing"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.dispatch(accepted(), DISPATCHER, " ", POLICY, T1)
    assert raised.value.code == "department_required"


# --- deadlines ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("urgency", "sign", "reply"), [
    (Urgency.URGENT, timedelta(minutes=30), timedelta(hours=2)),
    (Urgency.HIGH, timedelta(hours=2), timedelta(hours=24)),
    (Urgency.NORMAL, timedelta(hours=2), timedelta(days=7)),
    (Urgency.LOW, timedelta(hours=2), timedelta(days=15)),
])
def test_deadlines_per_urgency_start_at_dispatch(urgency: Urgency, sign: timedelta, reply: timedelta) -> None:
    order = accepted(replace(DRAFT, urgency=urgency))
    dispatched = lifecycle.dispatch(order, DISPATCHER, "housing", POLICY, T1).order
    assert (dispatched.sign_deadline, dispatched.reply_deadline) == (T1 + sign, T1 + reply)
    assert overdue(dispatched, T1 + sign) == ()  # on the deadline is still in time
    assert [m.deadline for m in overdue(dispatched, T1 + sign + timedelta(seconds=1))] == [Deadline.SIGN]
    assert [m.deadline for m in overdue(dispatched, T1 + reply + timedelta(seconds=1))] == [Deadline.SIGN,
                                                                                            Deadline.REPLY]
    signed = lifecycle.sign(dispatched, HOUSING, T1 + sign).order
    assert [m.deadline for m in overdue(signed, T1 + reply + timedelta(seconds=1))] == [Deadline.REPLY]
    assert overdue(lifecycle.reply(signed, HOUSING, "好了", T1 + reply).order, T1 + reply * 2) == ()


def test_escalation_flags_each_missed_deadline_once() -> None:
    order = lifecycle.dispatch(accepted(replace(DRAFT, urgency=Urgency.URGENT)), DISPATCHER, "housing", POLICY,
                               T0).order
    assert lifecycle.escalate(order, SYSTEM, T0 + timedelta(minutes=30)) is None
    step = lifecycle.escalate(order, SYSTEM, T0 + timedelta(minutes=31))
    assert step is not None
    order = step.order
    assert order.escalated and order.escalated_for == (Deadline.SIGN,) and order.status == Status.DISPATCHED
    [entry] = step.entries
    assert (entry.role, entry.action, entry.from_status, entry.to_status) == (Role.SYSTEM, "escalated",
                                                                              Status.DISPATCHED, Status.DISPATCHED)
    assert entry.note == f"sign deadline {(T0 + timedelta(minutes=30)).isoformat()} missed"
    assert lifecycle.escalate(order, SYSTEM, T0 + timedelta(minutes=50)) is None  # once
    step = lifecycle.escalate(order, SYSTEM, T0 + timedelta(hours=3))
    assert step is not None and [e.note.split()[0] for e in step.entries if e.note] == ["reply"]
    assert step.order.escalated_for == (Deadline.SIGN, Deadline.REPLY)
    assert lifecycle.escalate(step.order, SYSTEM, T0 + timedelta(days=9)) is None


def test_a_new_dispatch_can_be_escalated_again() -> None:
    order = replace(in_state(Status.DISPATCHED), escalated=True, escalated_for=(Deadline.SIGN,))
    order = lifecycle.return_order(order, HOUSING, "非本部门", T1).order
    order = lifecycle.redispatch(order, DISPATCHER, "transport", POLICY, T1).order
    assert order.escalated and order.escalated_for == ()
    step = lifecycle.escalate(order, SYSTEM, T1 + timedelta(hours=3))
    assert step is not None and step.order.escalated_for == (Deadline.SIGN,)


# --- extensions ---------------------------------------------------------------------------------------------------

def test_an_extension_moves_the_deadline_only_when_approved() -> None:
    order = in_state(Status.IN_PROGRESS)
    before = order.reply_deadline
    assert before is not None
    until = before + timedelta(days=5)
    asked = lifecycle.request_extension(order, HOUSING, until, "需要现场勘查", T1).order
    assert (asked.extension_state, asked.extension_deadline, asked.reply_deadline) == (
        ExtensionState.PENDING, until, before)
    assert asked.status == Status.IN_PROGRESS
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.request_extension(asked, HOUSING, until + timedelta(days=1), "再延", T1)
    assert raised.value.code == "extension_pending"

    denied = lifecycle.decide_extension(asked, DISPATCHER, False, T1, "理由不充分")
    assert (denied.order.extension_state, denied.order.reply_deadline) == (ExtensionState.DENIED, before)
    assert denied.entries[0].action == "extension_denied" and denied.entries[0].note == "理由不充分"

    approved = lifecycle.decide_extension(asked, DISPATCHER, True, T1)
    assert (approved.order.extension_state, approved.order.reply_deadline) == (ExtensionState.APPROVED, until)
    assert approved.entries[0].action == "extension_approved"


def test_an_approved_extension_makes_a_new_reply_deadline_that_can_be_missed_again() -> None:
    order = replace(in_state(Status.IN_PROGRESS), escalated=True, escalated_for=(Deadline.REPLY,))
    assert order.reply_deadline is not None
    until = order.reply_deadline + timedelta(days=2)
    order = lifecycle.request_extension(order, HOUSING, until, "等待配件", T1).order
    order = lifecycle.decide_extension(order, DISPATCHER, True, T1).order
    assert order.escalated_for == () and overdue(order, until) == ()
    step = lifecycle.escalate(order, SYSTEM, until + timedelta(minutes=1))
    assert step is not None and step.order.escalated_for == (Deadline.REPLY,)


def test_extension_requests_are_checked() -> None:
    order = in_state(Status.SIGNED)
    assert order.reply_deadline is not None
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.request_extension(order, HOUSING, order.reply_deadline - timedelta(days=1), "早一点", T1)
    assert raised.value.code == "invalid_deadline"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.request_extension(order, HOUSING, order.reply_deadline + timedelta(days=1), " ", T1)
    assert raised.value.code == "reason_required"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.decide_extension(order, DISPATCHER, True, T1)
    assert raised.value.code == "no_pending_extension"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.request_extension(order, TRANSPORT, order.reply_deadline + timedelta(days=1), "帮忙", T1)
    assert raised.value.code == "not_your_department"


# --- merging, reopening --------------------------------------------------------------------------------------------

def test_a_duplicate_is_merged_into_an_open_order() -> None:
    duplicate = in_state(Status.DISPATCHED)
    step, target_entry = lifecycle.merge(duplicate, TARGET, DISPATCHER, T1, "同一地址同一问题")
    assert (step.order.status, step.order.merged_into, step.order.is_open) == (Status.MERGED, TARGET.number, False)
    assert step.entries[0].note == f"into {TARGET.number} 同一地址同一问题"
    assert (target_entry.action, target_entry.from_status, target_entry.to_status, target_entry.note) == (
        "merged_in", Status.SIGNED, Status.SIGNED, f"from {duplicate.number} 同一地址同一问题")
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.sign(step.order, HOUSING, T1)
    assert raised.value.code == "illegal_transition"


def test_merging_into_itself_or_into_a_finished_order_is_refused() -> None:
    duplicate = in_state(Status.ACCEPTED)
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.merge(duplicate, duplicate, DISPATCHER, T1)
    assert raised.value.code == "merge_into_self"
    for finished in (Status.CLOSED, Status.MERGED):
        with pytest.raises(WorkOrderError) as raised:
            lifecycle.merge(duplicate, replace(TARGET, status=finished), DISPATCHER, T1)
        assert raised.value.code == "merge_target_closed"


def test_reopening_sends_it_back_to_the_same_department_or_to_accepted() -> None:
    closed = replace(in_state(Status.CLOSED), resolved=True, rating=Rating.SATISFIED, closed_at=T0,
                     signed_at=T0, escalated_for=(Deadline.SIGN,))
    later = T0 + timedelta(days=10)
    step = lifecycle.reopen(closed, CITIZEN, "还是漏水", POLICY, later)
    order = step.order
    assert (order.status, order.department, order.resolved, order.closed_at, order.signed_at) == (
        Status.DISPATCHED, "housing", False, None, None)
    assert (order.sign_deadline, order.reply_deadline) == (later + timedelta(hours=2), later + timedelta(days=7))
    assert (step.entries[0].action, step.entries[0].from_status, step.entries[0].note) == (
        "reopened", Status.CLOSED, "to housing 还是漏水")
    to_dispatcher = lifecycle.reopen(in_state(Status.VISITING), DISPATCHER, "需重新派单", POLICY, later,
                                     to_department=False).order
    assert (to_dispatcher.status, to_dispatcher.department, to_dispatcher.reply_deadline) == (Status.ACCEPTED,
                                                                                              None, None)
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.reopen(closed, CITIZEN, "", POLICY, later)
    assert raised.value.code == "reason_required"
    with pytest.raises(WorkOrderError) as raised:
        lifecycle.reopen(closed, HOUSING, "我们再看看", POLICY, later)
    assert raised.value.code == "forbidden"


def test_a_visit_result_can_be_recorded_by_the_citizen_or_the_centre() -> None:
    order = in_state(Status.VISITING)
    step = lifecycle.record_visit(order, DISPATCHER, False, Rating.UNSATISFIED, T1, "电话回访")
    assert (step.order.resolved, step.order.rating, step.order.status) == (False, Rating.UNSATISFIED,
                                                                           Status.VISITING)
    assert step.entries[0].note == "not resolved, unsatisfied; 电话回访"
    assert lifecycle.record_visit(order, CITIZEN, True, None, T1).order.rating is None


# --- the policy file -------------------------------------------------------------------------------------------

def test_the_default_policy_and_the_setting(tmp_path: Path) -> None:
    assert Settings().workorder_deadlines == DEFAULT_DEADLINES
    custom = tmp_path / "deadlines.yml"
    custom.write_text(DEFAULT_DEADLINES.read_text(encoding="utf-8").replace("reply: 7d", "reply: 5d"),
                      encoding="utf-8")
    policy = DeadlinePolicy.from_settings(Settings(workorder_deadlines=custom))
    assert policy.limits(Urgency.NORMAL).reply == timedelta(days=5)
    assert policy.limits(Urgency.URGENT).sign == timedelta(minutes=30)


@pytest.mark.parametrize(("text", "message"), [
    ("urgent: {sign: 30m, reply: 2h}\nhigh: {sign: 2h, reply: 24h}\nnormal: {sign: 2h, reply: 7d}\n",
     "low: Field required"),
    ("urgent: {sign: 30m, reply: 2h}\nhigh: {sign: 2h, reply: 24h}\nnormal: {sign: 2h, reply: soon}\n"
     "low: {sign: 2h, reply: 15d}\n", "normal.reply: 'soon' is not a duration like 30m, 2h or 7d"),
    ("urgent: {sign: 3h, reply: 2h}\nhigh: {sign: 2h, reply: 24h}\nnormal: {sign: 2h, reply: 7d}\n"
     "low: {sign: 2h, reply: 15d}\n", "urgent: sign must not be longer than reply"),
    ("urgent: {sign: 0m, reply: 2h}\nhigh: {sign: 2h, reply: 24h}\nnormal: {sign: 2h, reply: 7d}\n"
     "low: {sign: 2h, reply: 15d}\n", "urgent.sign: a duration must be longer than zero"),
    ("urgent: {sign: 30m, reply: 2h, resolve: 3h}\nhigh: {sign: 2h, reply: 24h}\nnormal: {sign: 2h, reply: 7d}\n"
     "low: {sign: 2h, reply: 15d}\n", "urgent.resolve: Extra inputs are not permitted"),
    ("- 30m\n", "expected a mapping"),
    ("urgent: [unclosed\n", "cannot be read"),
])
def test_a_bad_policy_file_names_the_file_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "deadlines.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        DeadlinePolicy.load(path)
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    with pytest.raises(PolicyError, match="cannot be read"):
        DeadlinePolicy.load(tmp_path / "missing.yml")


def test_durations() -> None:
    assert parse_duration("30m") == timedelta(minutes=30) and parse_duration(" 15d ") == timedelta(days=15)
    for bad in ("2 weeks", "h", "-3h", 5, "1.5h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# --- rates ---------------------------------------------------------------------------------------------------

def dispatch_record(department: str, signed_after: float | None, **fields: object) -> Dispatch:
    """A dispatch at T0 with the normal deadlines, signed that many hours later (None: not signed)."""
    sign_deadline, reply_deadline = POLICY.deadlines(Urgency.NORMAL, T0)
    signed_at = None if signed_after is None else T0 + timedelta(hours=signed_after)
    return Dispatch("GD", department, T0, sign_deadline, reply_deadline, signed_at=signed_at,
                    **fields)  # type: ignore[arg-type]


def test_rates_follow_their_definitions() -> None:
    visited = T0 + timedelta(days=3)
    dispatches = [
        dispatch_record("housing", 1, visited_at=visited, resolved=True, rating=Rating.SATISFIED),
        dispatch_record("housing", 2, visited_at=visited, resolved=True, rating=Rating.BASICALLY_SATISFIED),
        dispatch_record("housing", 3, visited_at=visited, resolved=False, rating=Rating.UNSATISFIED),
        dispatch_record("housing", None, visited_at=visited, resolved=False),  # unrated; never signed (late)
        dispatch_record("housing", None, ended_at=T0 + timedelta(hours=1), ended="returned"),  # not counted
        dispatch_record("housing", None, ended_at=T0 + timedelta(hours=5), ended="returned"),  # late, then returned
        dispatch_record("transport", 0.5),
    ]
    end = T0 + timedelta(days=7)
    housing, transport = department_rates(dispatches, T0, end, now=end)
    assert (housing.department, transport.department) == ("housing", "transport")
    assert (housing.response.count, housing.response.total) == (2, 5)
    assert (housing.resolution.count, housing.resolution.total, housing.resolution.value) == (2, 4, 0.5)
    assert (housing.satisfaction.count, housing.satisfaction.total) == (2, 3)
    assert (transport.response.value, transport.resolution.value, transport.satisfaction.value) == (1.0, None, None)
    # an unsigned dispatch whose deadline has not come yet is not counted; outside the period nothing is
    [early] = department_rates(dispatches[-2:-1] + dispatches[-1:], T0, end, now=T0 + timedelta(hours=1))
    assert early.department == "transport"
    assert department_rates(dispatches, end, end + timedelta(days=7), now=end) == []
