"""What the dispatcher's page (/api/dispatch/*) takes and gives: typed requests, the order cards and the board.

A dispatcher (an agent or admin account, the 12345 centre's staff) sees what the citizen reported, where and since
when, the classifier's proposal, the department's return reason or extension request, and the deadlines; never the
conversation's id nor the contact (the department that acts gets it). Free text is shown as stored (masked).
"""

from datetime import datetime
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.common.errors import CodedValueError
from workorders.catalogue import Bilingual, Catalogue
from workorders.deadlines import overdue
from workorders.lifecycle import MAX_TEXT, RULES
from workorders.records import (
    WITH_DEPARTMENT,
    Deadline,
    ExtensionState,
    Rating,
    RequestKind,
    Status,
    Urgency,
    WorkOrder,
)

MAX_DEPARTMENT = 64  # characters of a department id
MAX_NUMBER = 32  # characters of an order number (GD + 8 + at least 4 digits)
# the dispatcher's steps on this page: the API's name -> the audit action it records
STEPS = {"dispatch": "dispatched", "redispatch": "redispatched", "extension": "extension_approved",
         "merge": "merged", "close": "closed"}


def _note(value: Optional[str]) -> Optional[str]:
    """An optional note: blank is none; at most MAX_TEXT characters (400 text_too_long)."""
    text = (value or "").strip()
    if len(text) > MAX_TEXT:
        raise CodedValueError("text_too_long", f"note is longer than {MAX_TEXT} characters")
    return text or None


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Optional[str] = Field(None, description=f"an optional note for the audit trail, at most {MAX_TEXT} "
                                                  "characters")

    @field_validator("note")
    @classmethod
    def _note(cls, value: Optional[str]) -> Optional[str]:
        return _note(value)


class DispatchRequest(_Step):
    """派单 / 重派: the department (a catalogue id) the order goes to."""

    department: str = Field(max_length=MAX_DEPARTMENT, description="a department id of the catalogue")


class ExtensionDecision(_Step):
    """延期审批: approve (the reply deadline moves to the one asked for) or deny (it stays)."""

    approve: bool


class MergeRequest(_Step):
    """合并: the open order this one duplicates."""

    into: str = Field(min_length=1, max_length=MAX_NUMBER, description="the order number to merge into")

    @field_validator("into")
    @classmethod
    def _into(cls, value: str) -> str:
        return value.strip().upper()


class CloseRequest(_Step):
    """办结 after the return visit."""


class DepartmentOption(BaseModel):
    """A department of the catalogue, to dispatch to."""

    id: str
    name: Bilingual


class DepartmentList(BaseModel):
    """The catalogue's departments, in file order."""

    departments: list[DepartmentOption]

    @classmethod
    def of(cls, catalogue: Catalogue) -> "DepartmentList":
        """Every department of the catalogue with its names."""
        return cls(departments=[DepartmentOption(id=d.id, name=d.name) for d in catalogue.departments])


def _name(catalogue: Catalogue, department: Optional[str]) -> Optional[Bilingual]:
    return catalogue.get(department).name if department is not None and department in catalogue.ids else None


def possible_steps(order: WorkOrder) -> list[str]:
    """The dispatcher's steps the order's state allows now (dispatch, redispatch, extension, merge, close)."""
    steps = [step for step, action in STEPS.items() if order.status in RULES[action].sources]
    if "extension" in steps and order.extension_state != ExtensionState.PENDING:
        steps.remove("extension")
    return steps


class DispatchOrder(BaseModel):
    """One order as the dispatcher sees it: the report, the proposal, the department's part, the deadlines."""

    number: str
    kind: RequestKind
    urgency: Urgency
    status: Status
    created_at: datetime
    language: str
    channel: str = Field(description="where the order came from (web, telegram, open311, ...)")
    description: str
    address: Optional[str] = None
    since: Optional[str] = Field(None, description="since when, in the citizen's words")
    source_ticket: Optional[str] = None
    department: Optional[str] = None
    department_name: Optional[Bilingual] = None
    proposed_department: Optional[str] = Field(None, description="the dispatch classifier's proposal")
    proposed_name: Optional[Bilingual] = Field(None, description="its names (none when not in the catalogue)")
    proposal_confidence: Optional[float] = Field(None, description="the classifier's confidence, 0-1")
    return_reason: Optional[str] = Field(None, description="the department's reason for returning it")
    dispatched_at: Optional[datetime] = None
    sign_deadline: Optional[datetime] = None
    reply_deadline: Optional[datetime] = None
    overdue: list[Deadline] = Field(description="the deadlines missed now (sign, reply)")
    escalated: bool = Field(description="ever flagged for a missed deadline (督办)")
    extension_state: Optional[ExtensionState] = None
    extension_deadline: Optional[datetime] = Field(None, description="the reply deadline the department asks for")
    extension_reason: Optional[str] = None
    reply: Optional[str] = Field(None, description="the department's latest reply")
    resolved: Optional[bool] = Field(None, description="the citizen's answer at the return visit")
    rating: Optional[Rating] = None
    merged_into: Optional[str] = None
    steps: list[str] = Field(description="what the dispatcher may do now: dispatch, redispatch, extension, merge, "
                                         "close")

    @classmethod
    def of(cls, order: WorkOrder, catalogue: Catalogue, now: datetime) -> "DispatchOrder":
        """The dispatcher's view of an order at `now`."""
        return cls(
            number=order.number, kind=order.kind, urgency=order.urgency, status=order.status,
            created_at=order.created_at, language=order.language, channel=order.channel,
            description=order.description, address=order.address, since=order.since,
            source_ticket=order.source_ticket, department=order.department,
            department_name=_name(catalogue, order.department), proposed_department=order.proposed_department,
            proposed_name=_name(catalogue, order.proposed_department),
            proposal_confidence=order.proposal_confidence, return_reason=order.return_reason,
            dispatched_at=order.dispatched_at, sign_deadline=order.sign_deadline,
            reply_deadline=order.reply_deadline, overdue=[missed.deadline for missed in overdue(order, now)],
            escalated=order.escalated, extension_state=order.extension_state,
            extension_deadline=order.extension_deadline, extension_reason=order.extension_reason, reply=order.reply,
            resolved=order.resolved, rating=order.rating, merged_into=order.merged_into, steps=possible_steps(order))


class Board(BaseModel):
    """The dispatcher's work now, oldest first in each list (an order may be in more than one)."""

    waiting: list[DispatchOrder] = Field(description="accepted, waiting to be dispatched")
    returned: list[DispatchOrder] = Field(description="returned by a department, to dispatch again")
    extensions: list[DispatchOrder] = Field(description="with a pending extension request to decide")
    flagged: list[DispatchOrder] = Field(description="with a department and overdue now or escalated (督办), "
                                                     "to follow up")
    visiting: list[DispatchOrder] = Field(description="in the return visit, to close once it is done")

    @classmethod
    def of(cls, orders: list[WorkOrder], catalogue: Catalogue, now: datetime) -> "Board":
        """The board of the open orders (oldest first) at `now`."""
        views = [(order, DispatchOrder.of(order, catalogue, now)) for order in orders]
        return cls(
            waiting=[view for order, view in views if order.status == Status.ACCEPTED],
            returned=[view for order, view in views if order.status == Status.RETURNED],
            extensions=[view for _, view in views if "extension" in view.steps],
            flagged=[view for order, view in views
                     if order.status in WITH_DEPARTMENT and (order.escalated or view.overdue)],
            visiting=[view for order, view in views if order.status == Status.VISITING])
