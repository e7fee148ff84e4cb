"""What the department inbox (/api/dept/*) takes and gives: typed requests and the order views staff see.

A department sees its orders' facts, audit trail and messages, and the citizen's contact only when the citizen
agreed to be contacted; never the conversation's id (a citizen's steps in the trail carry no name). Free text is
shown as stored (masked by the work-order store).
"""

from datetime import date, datetime
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.common.errors import CodedValueError
from handoff.records import AccountRole, Agent
from workorders.catalogue import Bilingual, Catalogue
from workorders.deadlines import overdue
from workorders.lifecycle import MAX_TEXT, RULES
from workorders.records import (
    AuditEntry,
    ContactMethod,
    Deadline,
    ExtensionState,
    Message,
    RequestKind,
    Role,
    Status,
    Urgency,
    WorkOrder,
)

# the department's steps: the API's name -> the audit action it records
STEPS = {"sign": "signed", "start": "started", "reply": "replied", "return": "returned",
         "extension": "extension_requested"}


def _words(value: str, field: str, limit: int = MAX_TEXT) -> str:
    """A free-text field: not blank, at most `limit` characters (400 `<field>_required` / `text_too_long`)."""
    text = value.strip()
    if not text:
        raise CodedValueError(f"{field}_required", f"{field} must not be empty")
    if len(text) > limit:
        raise CodedValueError("text_too_long", f"{field} is longer than {limit} characters")
    return text


class ReplyRequest(BaseModel):
    """反馈: the result, told to the citizen."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(description=f"the reply, 1-{MAX_TEXT} characters")

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _words(value, "reply")


class ReturnRequest(BaseModel):
    """退单: why the order is not this department's to handle."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description=f"why, 1-{MAX_TEXT} characters")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _words(value, "reason")


class ExtensionRequest(BaseModel):
    """延期申请: a later reply deadline, and why."""

    model_config = ConfigDict(extra="forbid")
    until: date = Field(description="the new reply deadline: the end of this day (23:59 China time); later than "
                                    "the current deadline and today, at most a year ahead")
    reason: str = Field(description=f"why, 1-{MAX_TEXT} characters")

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _words(value, "reason")


def possible_steps(order: WorkOrder) -> list[str]:
    """The department's steps the order's state allows now (sign, start, reply, return, extension)."""
    steps = [step for step, action in STEPS.items() if order.status in RULES[action].sources]
    if order.extension_state == ExtensionState.PENDING and "extension" in steps:
        steps.remove("extension")
    return steps


class OrderSummary(BaseModel):
    """One order in the department's list: what it is, where it stands, its deadlines."""

    number: str
    kind: RequestKind
    urgency: Urgency
    status: Status
    created_at: datetime
    dispatched_at: Optional[datetime] = None
    sign_deadline: Optional[datetime] = Field(None, description="签收时限 of the current dispatch")
    reply_deadline: Optional[datetime] = Field(None, description="反馈时限 of the current dispatch")
    overdue: list[Deadline] = Field(description="the deadlines missed now (sign, reply)")
    escalated: bool = Field(description="ever flagged for a missed deadline (督办)")
    extension_state: Optional[ExtensionState] = None
    extension_deadline: Optional[datetime] = None
    steps: list[str] = Field(description="what the department may do now: sign, start, reply, return, extension")

    @classmethod
    def fields_of(cls, order: WorkOrder, now: datetime) -> dict[str, object]:
        """The summary's fields of an order at `now`."""
        return dict(number=order.number, kind=order.kind, urgency=order.urgency, status=order.status,
                    created_at=order.created_at, dispatched_at=order.dispatched_at,
                    sign_deadline=order.sign_deadline, reply_deadline=order.reply_deadline,
                    overdue=[missed.deadline for missed in overdue(order, now)], escalated=order.escalated,
                    extension_state=order.extension_state, extension_deadline=order.extension_deadline,
                    steps=possible_steps(order))

    @classmethod
    def of(cls, order: WorkOrder, now: datetime) -> "OrderSummary":
        """The summary of an order at `now`."""
        return cls.model_validate(cls.fields_of(order, now))


class OrderList(BaseModel):
    """The department's orders now with it (dispatched, signed, in progress, replied, in the return visit)."""

    department: str
    orders: list[OrderSummary]


class ContactView(BaseModel):
    """How the citizen agreed to be contacted."""

    method: ContactMethod
    value: Optional[str] = None


class TrailEntry(BaseModel):
    """One step of the audit trail."""

    at: datetime
    role: Role
    actor: Optional[str] = Field(description="who (a username, system); none for the citizen")
    action: str
    from_status: Optional[Status] = None
    to_status: Optional[Status] = None
    note: Optional[str] = None

    @classmethod
    def of(cls, entry: AuditEntry) -> "TrailEntry":
        """The view of an audit entry, without the citizen's conversation id."""
        return cls(at=entry.at, role=entry.role, actor=None if entry.role == Role.CITIZEN else entry.actor,
                   action=entry.action, from_status=entry.from_status, to_status=entry.to_status, note=entry.note)


class MessageView(BaseModel):
    """A message on the order the citizen sees (a department's reply)."""

    at: datetime
    role: Role
    author: Optional[str]
    text: str

    @classmethod
    def of(cls, message: Message) -> "MessageView":
        """The view of a stored message."""
        return cls(at=message.at, role=message.role,
                   author=None if message.role == Role.CITIZEN else message.author, text=message.text)


class OrderDetail(OrderSummary):
    """One order with what the citizen said, the department's last reply or return, its trail and messages."""

    language: str
    channel: str = Field(description="where the order came from (web, telegram, open311, ...)")
    description: str
    address: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    since: Optional[str] = Field(None, description="since when, in the citizen's words")
    contact: Optional[ContactView] = Field(None, description="only when the citizen agreed to be contacted")
    source_ticket: Optional[str] = None
    signed_at: Optional[datetime] = None
    replied_at: Optional[datetime] = None
    reply: Optional[str] = None
    return_reason: Optional[str] = None
    extension_reason: Optional[str] = None
    trail: list[TrailEntry]
    messages: list[MessageView]

    @classmethod
    def of_order(cls, order: WorkOrder, trail: list[AuditEntry], messages: list[Message],
                 now: datetime) -> "OrderDetail":
        """The whole view of an order at `now`."""
        contact = order.contact
        shown = ContactView(method=contact.method, value=contact.value) if contact.consent and contact.method \
            else None
        return cls.model_validate({
            **OrderSummary.fields_of(order, now), "language": order.language, "channel": order.channel,
            "description": order.description, "address": order.address, "latitude": order.latitude,
            "longitude": order.longitude, "since": order.since, "contact": shown,
            "source_ticket": order.source_ticket, "signed_at": order.signed_at, "replied_at": order.replied_at,
            "reply": order.reply, "return_reason": order.return_reason, "extension_reason": order.extension_reason,
            "trail": [TrailEntry.of(entry) for entry in trail],
            "messages": [MessageView.of(message) for message in messages]})


class DepartmentAccount(BaseModel):
    """The logged-in department user and their department."""

    username: str
    display_name: str
    role: AccountRole
    department: str
    department_name: Optional[Bilingual] = Field(None, description="from the catalogue (none if it is not there)")

    @classmethod
    def of(cls, agent: Agent, catalogue: Catalogue) -> "DepartmentAccount":
        """The account with its department's name."""
        department = agent.department or ""
        name = catalogue.get(department).name if department in catalogue.ids else None
        return cls(username=agent.username, display_name=agent.display_name, role=agent.role,
                   department=department, department_name=name)
