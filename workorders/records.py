"""What the work-order domain deals in: request kinds, urgencies, states, roles, ratings; the order, its draft,
its audit entries, messages and dispatches; and the domain's error.

Codes are stable English words (stored in the database, used by APIs); the Chinese and English labels are for
people. Times are aware UTC datetimes.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Optional


def utcnow() -> datetime:
    """The current time in UTC (the store's default clock)."""
    return datetime.now(timezone.utc)


class WorkOrderError(Exception):
    """A work-order action that cannot be done; `code` is a stable error code, nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class RequestKind(StrEnum):
    """What the citizen asks for (诉求类型)."""

    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议


class Urgency(StrEnum):
    """How urgent an order is: it sets the deadlines (workorders/deadlines.yml)."""

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Status(StrEnum):
    """The state of a work order (docs/workorders.md has the transitions)."""

    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单
    SIGNED = "signed"  # 签收
    IN_PROGRESS = "in_progress"  # 办理
    REPLIED = "replied"  # 反馈
    VISITING = "visiting"  # 回访
    CLOSED = "closed"  # 办结
    RETURNED = "returned"  # 退单
    MERGED = "merged"  # 已合并 (a duplicate merged into another order)


class Role(StrEnum):
    """Who acts on an order."""

    CITIZEN = "citizen"
    DISPATCHER = "dispatcher"  # the 12345 centre's staff
    DEPARTMENT = "department"  # a handling department's staff (only its own department's orders)
    SYSTEM = "system"  # the bot and the timers


class Rating(StrEnum):
    """The citizen's verdict at the return visit."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class ContactMethod(StrEnum):
    """How the citizen agreed to be contacted."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    CHAT = "chat"  # in the conversation the order came from (no value needed)


class ExtensionState(StrEnum):
    """A department's request for more time (延期申请)."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class Deadline(StrEnum):
    """The two deadlines of a dispatch."""

    SIGN = "sign"  # 签收时限
    REPLY = "reply"  # 反馈时限 (办理时限)


LABELS: dict[str, tuple[str, str]] = {
    RequestKind.CONSULTATION: ("咨询", "consultation"),
    RequestKind.HELP: ("求助", "request for help"),
    RequestKind.COMPLAINT: ("投诉", "complaint"),
    RequestKind.REPORT: ("举报", "report"),
    RequestKind.SUGGESTION: ("建议", "suggestion"),
    Urgency.URGENT: ("特急", "urgent"),
    Urgency.HIGH: ("紧急", "high"),
    Urgency.NORMAL: ("一般", "normal"),
    Urgency.LOW: ("低", "low"),
    Status.ACCEPTED: ("受理", "accepted"),
    Status.DISPATCHED: ("派单", "dispatched"),
    Status.SIGNED: ("签收", "signed for"),
    Status.IN_PROGRESS: ("办理", "in progress"),
    Status.REPLIED: ("反馈", "replied"),
    Status.VISITING: ("回访", "return visit"),
    Status.CLOSED: ("办结", "closed"),
    Status.RETURNED: ("退单", "returned"),
    Status.MERGED: ("已合并", "merged"),
    Rating.SATISFIED: ("满意", "satisfied"),
    Rating.BASICALLY_SATISFIED: ("基本满意", "basically satisfied"),
    Rating.UNSATISFIED: ("不满意", "unsatisfied"),
}


def label(code: StrEnum, language: str) -> str:
    """The Chinese or English label of a kind, urgency, status or rating ("投诉", "complaint")."""
    zh, en = LABELS[code]
    return zh if language == "zh" else en


OPEN_STATES = frozenset({Status.ACCEPTED, Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS, Status.REPLIED,
                         Status.VISITING, Status.RETURNED})
WITH_DEPARTMENT = frozenset({Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS})  # the deadlines run


@dataclass(frozen=True)
class Actor:
    """Who does a step: a role and a name (a dispatcher's or department user's name, the citizen's conversation
    id, "system"); department staff also carry their department's id."""

    role: Role
    name: str
    department: Optional[str] = None

    def __str__(self) -> str:
        return f"{self.role.value}:{self.name}"


SYSTEM = Actor(Role.SYSTEM, "system")


@dataclass(frozen=True)
class Contact:
    """How to reach the citizen, only as they agreed: without consent nothing is stored."""

    consent: bool = False
    method: Optional[ContactMethod] = None
    value: Optional[str] = None


@dataclass(frozen=True)
class Draft:
    """What a new order is made from: the bot's collected answers, or an agent's handoff ticket."""

    sender_id: str  # the conversation, e.g. web:..., telegram:...
    channel: str
    language: str  # zh / en
    kind: RequestKind
    description: str  # what happened
    urgency: Urgency = Urgency.NORMAL
    address: Optional[str] = None  # where
    latitude: Optional[float] = None  # a Telegram location
    longitude: Optional[float] = None
    since: Optional[str] = None  # since when, in the citizen's words
    contact: Contact = Contact()
    source_ticket: Optional[str] = None  # the handoff ticket an agent turned into this order
    proposed_department: Optional[str] = None  # the dispatch classifier's proposal, and its confidence
    proposal_confidence: Optional[float] = None
    request_key: Optional[str] = None  # the conversation's request that filed it (one order per request)


@dataclass(frozen=True)
class WorkOrder:
    """A work order as stored. Free text (description, address, since, reply) is kept masked (core.privacy);
    the contact value is kept as the citizen gave it, and only with their consent."""

    number: str
    sender_id: str
    channel: str
    language: str
    kind: RequestKind
    description: str
    urgency: Urgency
    status: Status
    created_at: datetime
    updated_at: datetime
    address: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    since: Optional[str] = None
    contact: Contact = Contact()
    department: Optional[str] = None
    source_ticket: Optional[str] = None
    dispatched_at: Optional[datetime] = None  # these four: of the current dispatch
    signed_at: Optional[datetime] = None
    replied_at: Optional[datetime] = None
    sign_deadline: Optional[datetime] = None
    reply_deadline: Optional[datetime] = None
    visited_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    reply: Optional[str] = None  # the department's latest reply (the result)
    return_reason: Optional[str] = None  # the department's latest reason for returning it
    resolved: Optional[bool] = None  # the citizen's answer at the return visit
    rating: Optional[Rating] = None
    merged_into: Optional[str] = None
    extension_state: Optional[ExtensionState] = None
    extension_deadline: Optional[datetime] = None  # the reply deadline the department asked for
    extension_reason: Optional[str] = None
    escalated: bool = False  # ever flagged for a missed deadline
    escalated_for: tuple[Deadline, ...] = ()  # the current deadlines already flagged (each once)
    proposed_department: Optional[str] = None  # what the dispatch classifier proposed, and its confidence
    proposal_confidence: Optional[float] = None
    request_key: Optional[str] = None  # the conversation's request that filed it

    @property
    def is_open(self) -> bool:
        """Neither closed nor merged into another order."""
        return self.status in OPEN_STATES


@dataclass(frozen=True)
class AuditEntry:
    """One step of an order's audit trail: when, who (role and name), what, from which state to which, a note
    (masked)."""

    at: datetime
    role: Role
    actor: str
    action: str
    from_status: Optional[Status]
    to_status: Optional[Status]
    note: Optional[str] = None


@dataclass(frozen=True)
class Message:
    """A message on an order the citizen sees: the department's reply, or a note from the centre."""

    at: datetime
    role: Role
    author: str
    text: str
    department: Optional[str] = None


@dataclass(frozen=True)
class Dispatch:
    """One dispatch of an order to a department, with what became of it (the rates are counted over these)."""

    order_number: str
    department: str
    dispatched_at: datetime
    sign_deadline: datetime
    reply_deadline: datetime
    signed_at: Optional[datetime] = None
    replied_at: Optional[datetime] = None
    ended_at: Optional[datetime] = None  # returned, merged, closed, reopened or redispatched
    ended: Optional[str] = None  # the action that ended it
    visited_at: Optional[datetime] = None
    resolved: Optional[bool] = None
    rating: Optional[Rating] = None
