"""The work-order state machine: pure functions from an order (and who acts) to the changed order and its audit
entries. Nothing is stored here (workorders/store.py does that).

Every step checks the actor's role against RULES, a department's staff against the order's department and a
citizen against the order's conversation, the order's current state, and its arguments; a step that may not be
done raises WorkOrderError with a code and returns nothing, so nothing changes. docs/workorders.md has the table.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Optional

from core.privacy import mask
from workorders.deadlines import DeadlinePolicy, overdue
from workorders.records import (
    Actor,
    AuditEntry,
    ContactMethod,
    Deadline,
    Draft,
    ExtensionState,
    Rating,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrder,
    WorkOrderError,
)

LANGUAGES = ("zh", "en")
MAX_TEXT = 4000  # characters of a description, reply or reason
MAX_SHORT = 500  # of an address or a "since when"

S = Status
_DEPARTMENT_HAS_IT = frozenset({S.DISPATCHED, S.SIGNED, S.IN_PROGRESS})
_MERGEABLE = frozenset({S.ACCEPTED, S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.RETURNED})


@dataclass(frozen=True)
class Rule:
    """Who may do an action, from which states, and the state it leads to (None: the state stays)."""

    roles: frozenset[Role]
    sources: frozenset[Status]
    target: Optional[Status]


def _rule(roles: set[Role], sources: set[Status], target: Optional[Status]) -> Rule:
    return Rule(frozenset(roles), frozenset(sources), target)


C, D, P, Y = Role.CITIZEN, Role.DISPATCHER, Role.DEPARTMENT, Role.SYSTEM
RULES: dict[str, Rule] = {
    "accepted": _rule({C, D, Y}, set(), S.ACCEPTED),
    "dispatched": _rule({D, Y}, {S.ACCEPTED}, S.DISPATCHED),
    "signed": _rule({P}, {S.DISPATCHED}, S.SIGNED),
    "started": _rule({P}, {S.SIGNED}, S.IN_PROGRESS),
    "replied": _rule({P}, {S.SIGNED, S.IN_PROGRESS}, S.REPLIED),
    "returned": _rule({P}, set(_DEPARTMENT_HAS_IT), S.RETURNED),
    "redispatched": _rule({D}, {S.RETURNED}, S.DISPATCHED),
    "extension_requested": _rule({P}, {S.SIGNED, S.IN_PROGRESS}, None),
    "extension_approved": _rule({D}, {S.SIGNED, S.IN_PROGRESS}, None),
    "extension_denied": _rule({D}, {S.SIGNED, S.IN_PROGRESS}, None),
    "merged": _rule({D}, set(_MERGEABLE), S.MERGED),
    "visit_started": _rule({D, Y}, {S.REPLIED}, S.VISITING),
    "visit_recorded": _rule({C, D, Y}, {S.VISITING}, None),
    "reopened": _rule({C, D}, {S.VISITING, S.CLOSED}, None),  # to dispatched (same department) or accepted
    "closed": _rule({D, Y}, {S.VISITING}, S.CLOSED),
    "escalated": _rule({Y}, set(_DEPARTMENT_HAS_IT), None),
}


@dataclass(frozen=True)
class Step:
    """The order after a step, and the audit entries the step adds."""

    order: WorkOrder
    entries: tuple[AuditEntry, ...]


def _text(value: Optional[str], field: str, required: bool = False, limit: int = MAX_TEXT) -> Optional[str]:
    """A free-text argument, stripped and masked; WorkOrderError when required and blank, or too long."""
    text = (value or "").strip()
    if not text:
        if required:
            raise WorkOrderError(f"{field}_required", f"{field} must not be empty")
        return None
    if len(text) > limit:
        raise WorkOrderError("text_too_long", f"{field} is longer than {limit} characters")
    return mask(text)


def check(order: Optional[WorkOrder], actor: Actor, action: str) -> Rule:
    """The action's rule, if this actor may do it to the order now (None: a new order); WorkOrderError
    otherwise."""
    rule = RULES[action]
    if actor.role not in rule.roles:
        raise WorkOrderError("forbidden", f"a {actor.role.value} may not do {action!r}")
    if order is None:
        return rule
    if actor.role == Role.DEPARTMENT and (actor.department is None or actor.department != order.department):
        raise WorkOrderError("not_your_department", f"order {order.number} is not with your department")
    if actor.role == Role.CITIZEN and actor.name != order.sender_id:
        raise WorkOrderError("not_your_order", f"order {order.number} is not yours")
    if order.status not in rule.sources:
        raise WorkOrderError("illegal_transition", f"order {order.number} is {order.status.value}: "
                                                   f"{action!r} is not possible now")
    return rule


class _Act:
    """One step in the making: checks, then builds the changed order and its entry."""

    def __init__(self, order: WorkOrder, actor: Actor, action: str, now: datetime) -> None:
        self.rule = check(order, actor, action)
        self.order, self.actor, self.action, self.now = order, actor, action, now

    def done(self, note: Optional[str] = None, target: Optional[Status] = None, **changes: Any) -> Step:
        to = target or self.rule.target or self.order.status
        changed = replace(self.order, status=to, updated_at=self.now, **changes)
        entry = AuditEntry(self.now, self.actor.role, self.actor.name, self.action, self.order.status, to, note)
        return Step(changed, (entry,))


def accept(draft: Draft, actor: Actor, number: str, now: datetime) -> Step:
    """受理: a new order from a draft, accepted; free text masked, the contact kept only with consent."""
    check(None, actor, "accepted")
    if actor.role == Role.CITIZEN and actor.name != draft.sender_id:
        raise WorkOrderError("not_your_order", "a citizen opens orders only for their own conversation")
    if not draft.sender_id or not draft.channel:
        raise WorkOrderError("invalid_order", "an order needs the conversation and its channel")
    if draft.language not in LANGUAGES:
        raise WorkOrderError("invalid_order", f"language must be one of {', '.join(LANGUAGES)}")
    kind, urgency = RequestKind(draft.kind), Urgency(draft.urgency)
    if (draft.latitude is None) != (draft.longitude is None):
        raise WorkOrderError("invalid_location", "give both latitude and longitude, or neither")
    if draft.latitude is not None and draft.longitude is not None and not (
            -90 <= draft.latitude <= 90 and -180 <= draft.longitude <= 180):
        raise WorkOrderError("invalid_location", "latitude is -90..90 and longitude -180..180")
    contact = draft.contact
    if contact.consent:
        if contact.method is None:
            raise WorkOrderError("invalid_contact", "say how the citizen agreed to be contacted")
        method = ContactMethod(contact.method)
        value = (contact.value or "").strip() or None
        if method != ContactMethod.CHAT and value is None:
            raise WorkOrderError("invalid_contact", f"a {method.value} contact needs a value")
        contact = replace(contact, method=method, value=value)
    else:
        contact = replace(contact, method=None, value=None)  # not agreed: not kept
    order = WorkOrder(
        number=number, sender_id=draft.sender_id, channel=draft.channel, language=draft.language, kind=kind,
        description=_text(draft.description, "description", required=True) or "", urgency=urgency,
        status=Status.ACCEPTED, created_at=now, updated_at=now,
        address=_text(draft.address, "address", limit=MAX_SHORT), latitude=draft.latitude,
        longitude=draft.longitude, since=_text(draft.since, "since", limit=MAX_SHORT), contact=contact,
        source_ticket=draft.source_ticket or None, proposed_department=draft.proposed_department,
        proposal_confidence=draft.proposal_confidence, request_key=draft.request_key)
    note = f"from ticket {draft.source_ticket}" if draft.source_ticket else None
    return Step(order, (AuditEntry(now, actor.role, actor.name, "accepted", None, Status.ACCEPTED, note),))


def _department(department: str) -> str:
    department = (department or "").strip()
    if not department:
        raise WorkOrderError("department_required", "name the department")
    return department


def _to_department(act: _Act, department: str, policy: DeadlinePolicy, note: Optional[str]) -> Step:
    sign_deadline, reply_deadline = policy.deadlines(act.order.urgency, act.now)
    return act.done(note=" ".join(filter(None, [f"to {department}", note])), target=Status.DISPATCHED,
                    department=department, dispatched_at=act.now, sign_deadline=sign_deadline,
                    reply_deadline=reply_deadline, signed_at=None, replied_at=None, visited_at=None, closed_at=None,
                    extension_state=None, extension_deadline=None, extension_reason=None, escalated_for=())


def dispatch(order: WorkOrder, actor: Actor, department: str, policy: DeadlinePolicy, now: datetime,
             note: Optional[str] = None) -> Step:
    """派单: send an accepted order to a department (validated against the catalogue by the caller); the
    deadlines start."""
    act = _Act(order, actor, "dispatched", now)
    return _to_department(act, _department(department), policy, _text(note, "note"))


def sign(order: WorkOrder, actor: Actor, now: datetime) -> Step:
    """签收: the department takes the order."""
    return _Act(order, actor, "signed", now).done(signed_at=now)


def start(order: WorkOrder, actor: Actor, now: datetime) -> Step:
    """办理: the department starts working on it."""
    return _Act(order, actor, "started", now).done()


def reply(order: WorkOrder, actor: Actor, text: str, now: datetime) -> Step:
    """反馈: the department's reply to the citizen (the result); the order goes to the return visit."""
    act = _Act(order, actor, "replied", now)
    answer = _text(text, "reply", required=True)
    return act.done(note=answer, reply=answer, replied_at=now, extension_state=(
        None if order.extension_state == ExtensionState.PENDING else order.extension_state))


def return_order(order: WorkOrder, actor: Actor, reason: str, now: datetime) -> Step:
    """退单: the department sends the order back to the dispatcher, with a reason (mandatory)."""
    act = _Act(order, actor, "returned", now)
    why = _text(reason, "reason", required=True)
    pending = order.extension_state == ExtensionState.PENDING
    return act.done(note=why, return_reason=why, extension_state=None if pending else order.extension_state)


def redispatch(order: WorkOrder, actor: Actor, department: str, policy: DeadlinePolicy, now: datetime,
               note: Optional[str] = None) -> Step:
    """重派: send a returned order to a department again (another, or the same); new deadlines."""
    act = _Act(order, actor, "redispatched", now)
    return _to_department(act, _department(department), policy, _text(note, "note"))


def request_extension(order: WorkOrder, actor: Actor, until: datetime, reason: str, now: datetime) -> Step:
    """延期申请: the department asks for a later reply deadline, with a reason; the deadline stays until a
    dispatcher approves."""
    act = _Act(order, actor, "extension_requested", now)
    why = _text(reason, "reason", required=True)
    if order.extension_state == ExtensionState.PENDING:
        raise WorkOrderError("extension_pending", f"order {order.number} already has an extension request")
    if order.reply_deadline is None or until <= order.reply_deadline or until <= now:
        raise WorkOrderError("invalid_deadline", "the new deadline must be later than the current one and now")
    return act.done(note=f"until {until.isoformat()}: {why}", extension_state=ExtensionState.PENDING,
                    extension_deadline=until, extension_reason=why)


def decide_extension(order: WorkOrder, actor: Actor, approve: bool, now: datetime,
                     note: Optional[str] = None) -> Step:
    """延期审批: a dispatcher approves (the reply deadline moves) or denies (it stays) the pending request."""
    act = _Act(order, actor, "extension_approved" if approve else "extension_denied", now)
    if order.extension_state != ExtensionState.PENDING or order.extension_deadline is None:
        raise WorkOrderError("no_pending_extension", f"order {order.number} has no extension request to decide")
    if not approve:
        return act.done(note=_text(note, "note"), extension_state=ExtensionState.DENIED)
    flagged = tuple(d for d in order.escalated_for if d != Deadline.REPLY)  # a new deadline may be missed anew
    return act.done(note=_text(note, "note") or f"until {order.extension_deadline.isoformat()}",
                    extension_state=ExtensionState.APPROVED, reply_deadline=order.extension_deadline,
                    escalated_for=flagged)


def merge(duplicate: WorkOrder, target: WorkOrder, actor: Actor, now: datetime,
          note: Optional[str] = None) -> tuple[Step, AuditEntry]:
    """合并: a duplicate ends merged into another open order; (the duplicate's step, the target's entry)."""
    act = _Act(duplicate, actor, "merged", now)
    if target.number == duplicate.number:
        raise WorkOrderError("merge_into_self", "an order cannot be merged into itself")
    if not target.is_open:
        raise WorkOrderError("merge_target_closed", f"order {target.number} is {target.status.value}")
    remark = _text(note, "note")
    step = act.done(note=" ".join(filter(None, [f"into {target.number}", remark])), merged_into=target.number,
                    extension_state=None if duplicate.extension_state == ExtensionState.PENDING
                    else duplicate.extension_state)
    entry = AuditEntry(now, actor.role, actor.name, "merged_in", target.status, target.status,
                       " ".join(filter(None, [f"from {duplicate.number}", remark])))
    return step, entry


def start_visit(order: WorkOrder, actor: Actor, now: datetime) -> Step:
    """回访: the centre asks the citizen whether the reply resolved it."""
    return _Act(order, actor, "visit_started", now).done()


def record_visit(order: WorkOrder, actor: Actor, resolved: bool, rating: Optional[Rating], now: datetime,
                 note: Optional[str] = None) -> Step:
    """The return visit's answer: resolved or not, and the citizen's rating (if they gave one)."""
    act = _Act(order, actor, "visit_recorded", now)
    rated = Rating(rating) if rating is not None else None
    summary = ("resolved" if resolved else "not resolved") + (f", {rated.value}" if rated else "")
    remark = _text(note, "note")
    return act.done(note=f"{summary}; {remark}" if remark else summary, resolved=resolved, rating=rated,
                    visited_at=now)


def close(order: WorkOrder, actor: Actor, now: datetime, note: Optional[str] = None) -> Step:
    """办结: close the order after the return visit."""
    return _Act(order, actor, "closed", now).done(note=_text(note, "note"), closed_at=now)


def reopen(order: WorkOrder, actor: Actor, reason: str, policy: DeadlinePolicy, now: datetime,
           to_department: bool = True) -> Step:
    """重新办理: the citizen says it is not resolved; back to the same department (dispatched, new deadlines) or,
    with to_department=False, to accepted for the dispatcher to send anew."""
    act = _Act(order, actor, "reopened", now)
    why = _text(reason, "reason", required=True)
    if not to_department:
        return act.done(note=why, target=Status.ACCEPTED, resolved=False, closed_at=None, department=None,
                        dispatched_at=None, sign_deadline=None, reply_deadline=None, escalated_for=())
    if order.department is None:
        raise WorkOrderError("department_required", f"order {order.number} has no department to go back to")
    step = _to_department(act, order.department, policy, why)
    return Step(replace(step.order, resolved=False), step.entries)


def escalate(order: WorkOrder, actor: Actor, now: datetime) -> Optional[Step]:
    """督办: flag the deadlines the order has newly missed (each deadline once); None if there is none."""
    check(order, actor, "escalated")
    new = [missed for missed in overdue(order, now) if missed.deadline not in order.escalated_for]
    if not new:
        return None
    flagged = order.escalated_for + tuple(missed.deadline for missed in new)
    changed = replace(order, escalated=True, escalated_for=flagged, updated_at=now)
    entries = tuple(AuditEntry(now, actor.role, actor.name, "escalated", order.status, order.status,
                               f"{missed.deadline.value} deadline {missed.due.isoformat()} missed")
                    for missed in new)
    return Step(changed, entries)
