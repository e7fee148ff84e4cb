"""Deadlines of dispatched orders: the per-urgency policy (workorders/deadlines.yml), the deadlines of a dispatch,
and which of them an order has missed.

Deadlines run in calendar time from the moment of dispatch: sign-for (签收) and reply (反馈). The sign-for
deadline is missed while the order still waits to be signed for after it; the reply deadline while the department
has it (dispatched, signed, in progress) and has not replied. A returned order waits for the dispatcher and
misses nothing; an approved extension moves the reply deadline.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from core.settings import Settings
from workorders.records import WITH_DEPARTMENT, Deadline, Status, Urgency, WorkOrder

DEFAULT_DEADLINES = Path(__file__).resolve().parent / "deadlines.yml"
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class PolicyError(ValueError):
    """A deadline policy file that cannot be used; the message names the file and the field."""


def parse_duration(text: object) -> timedelta:
    """'30m', '2h', '7d' as a timedelta; ValueError for anything else, or for zero."""
    found = _DURATION.match(str(text)) if isinstance(text, (str, int)) else None
    if found is None:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h or 7d")
    amount = int(found.group(1))
    if amount == 0:
        raise ValueError("a duration must be longer than zero")
    return timedelta(**{_UNITS[found.group(2)]: amount})


class Limits(BaseModel):
    """The sign-for and reply time of one urgency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sign: timedelta
    reply: timedelta

    @field_validator("sign", "reply", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @model_validator(mode="after")
    def _sign_first(self) -> "Limits":
        if self.sign > self.reply:
            raise ValueError("sign must not be longer than reply")
        return self


class DeadlinePolicy(BaseModel):
    """How long departments have, per urgency (every urgency must be given)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urgent: Limits
    high: Limits
    normal: Limits
    low: Limits

    def limits(self, urgency: Urgency) -> Limits:
        """The limits of that urgency."""
        found: Limits = getattr(self, urgency.value)
        return found

    def deadlines(self, urgency: Urgency, dispatched_at: datetime) -> tuple[datetime, datetime]:
        """(sign-for deadline, reply deadline) of an order of that urgency dispatched at that moment."""
        limits = self.limits(urgency)
        return dispatched_at + limits.sign, dispatched_at + limits.reply

    @classmethod
    def load(cls, path: Path = DEFAULT_DEADLINES) -> "DeadlinePolicy":
        """Read and check the policy file; PolicyError naming the file and the field when it is wrong."""
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise PolicyError(f"{path}: cannot be read: {error}") from None
        if not isinstance(data, dict):
            raise PolicyError(f"{path}: expected a mapping of urgencies (urgent, high, normal, low)")
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or "(top)"
            reason = str(first["msg"]).removeprefix("Value error, ")
            raise PolicyError(f"{path}: {field}: {reason}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeadlinePolicy":
        """The policy in the file GOVBOT_WORKORDER_DEADLINES names."""
        return cls.load(settings.workorder_deadlines)


@dataclass(frozen=True)
class Missed:
    """A deadline an order has missed, and since when."""

    deadline: Deadline
    due: datetime


def overdue(order: WorkOrder, now: datetime) -> tuple[Missed, ...]:
    """The deadlines the order has missed at `now` (sign-for first), none if it is not with a department."""
    if order.status not in WITH_DEPARTMENT:
        return ()
    missed: list[Missed] = []
    if order.status == Status.DISPATCHED and order.sign_deadline is not None and now > order.sign_deadline:
        missed.append(Missed(Deadline.SIGN, order.sign_deadline))
    if order.reply_deadline is not None and now > order.reply_deadline:
        missed.append(Missed(Deadline.REPLY, order.reply_deadline))
    return tuple(missed)
