"""What a citizen is told about their work order at each step that matters, in their language: pure text and
buttons (the channels deliver them).

Told: accepted, dispatched (to whom, reply due by), signed for, the department's reply (with the return-visit
question), re-dispatched, an approved extension, merged into another order, reopened, closed. Not told: steps
inside the centre (returned, extension requested or denied, escalated). Times are shown in `zone` (China time).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional, Sequence
from zoneinfo import ZoneInfo

from core import payloads
from core.messages import Button
from core.texts import text
from workorders.records import Rating, Status, WorkOrder, label

DepartmentName = Callable[[str, str], str]
"""(department id, language) -> the department's name."""


@dataclass(frozen=True)
class Notice:
    """One message to the citizen about an order."""

    number: str
    action: str
    text: str
    buttons: tuple[Button, ...] = ()


def _local(moment: Optional[datetime], zone: ZoneInfo) -> Optional[datetime]:
    return moment.astimezone(zone) if moment is not None else None


def visit_question(order: WorkOrder) -> tuple[Button, ...]:
    """The return visit's first question: solved or not."""
    language = order.language
    return (Button(title=text(language, "workorder.resolved_yes"),
                   payload=payloads.visit_workorder(order.number, True)),
            Button(title=text(language, "workorder.resolved_no"),
                   payload=payloads.visit_workorder(order.number, False)))


def rating_question(order: WorkOrder, resolved: bool) -> Notice:
    """The return visit's second question: how satisfied, as buttons (满意 / 基本满意 / 不满意)."""
    buttons = tuple(Button(title=label(rating, order.language),
                           payload=payloads.visit_workorder(order.number, resolved, rating.value))
                    for rating in Rating)
    return Notice(order.number, "visit_rating", text(order.language, "workorder.visit_rating"), buttons)


def notice_of(order: WorkOrder, action: str, name: DepartmentName, zone: ZoneInfo) -> Optional[Notice]:
    """The message to the citizen after `action` (an audit action name) on the order, or None for a step the
    citizen is not told about."""
    language, number = order.language, order.number
    department = name(order.department, language) if order.department else text(language, "workorder.centre")
    reply_by = _local(order.reply_deadline, zone)
    if action == "accepted":
        return Notice(number, action, text(language, "workorder.accepted", number=number))
    if action in ("dispatched", "redispatched") and reply_by is not None:
        return Notice(number, action, text(language, f"workorder.{action}", number=number, department=department,
                                           reply_by=reply_by))
    if action == "signed":
        return Notice(number, action, text(language, "workorder.signed", number=number, department=department))
    if action in ("replied", "visit_started"):
        words = text(language, "workorder.replied", number=number, department=department, reply=order.reply or "")
        return Notice(number, action, f"{words}\n{text(language, 'workorder.visit_resolved')}", visit_question(order))
    if action == "extension_approved" and reply_by is not None:
        return Notice(number, action, text(language, "workorder.extended", number=number, reply_by=reply_by))
    if action == "merged" and order.merged_into:
        return Notice(number, action, text(language, "workorder.merged", into=order.merged_into))
    if action == "reopened":
        key = "workorder.reopened" if order.status == Status.DISPATCHED else "workorder.reopened_centre"
        return Notice(number, action, text(language, key, number=number, department=department))
    if action == "closed":
        return Notice(number, action, text(language, "workorder.closed", number=number))
    return None


def status_text(orders: Sequence[WorkOrder], language: str, name: DepartmentName, zone: ZoneInfo) -> str:
    """One line per order: its number, kind, state, department and when the reply is due (while it runs)."""
    if not orders:
        return text(language, "workorder.status_none")
    lines = []
    for order in orders:
        department = (text(language, "workorder.status_department", department=name(order.department, language))
                      if order.department else "")
        reply_by = _local(order.reply_deadline, zone)
        due = (text(language, "workorder.status_due", reply_by=reply_by)
               if reply_by is not None and order.status in (Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS)
               else "")
        lines.append(text(language, "workorder.status_line", number=order.number, kind=label(order.kind, language),
                          status=label(order.status, language), department=department, due=due))
    return "\n".join(lines)
