"""Handoff policy: SLA targets and timer states, queue priority, working hours and the wait estimate."""

import math
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Optional
from zoneinfo import ZoneInfo

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class SlaTargets:
    """Seconds allowed for the first agent reply, each later reply, and closing; a timer warns at warn_share."""

    first_response: float = 120.0
    next_response: float = 300.0
    resolution: float = 1800.0
    warn_share: float = 0.8


def timer_state(elapsed: float, target: float, done: bool, warn_share: float) -> str:
    """One SLA timer: "met" / "missed" once done, otherwise "ok", "warning" or "breached"."""
    if done:
        return "met" if elapsed <= target else "missed"
    if elapsed > target:
        return "breached"
    return "warning" if elapsed >= warn_share * target else "ok"


def seconds(start: Optional[datetime], end: datetime) -> float:
    return 0.0 if start is None else max(0.0, (end - start).total_seconds())


@dataclass(frozen=True)
class TicketTimes:
    """The moments an SLA is measured from."""

    created_at: datetime
    first_response_at: Optional[datetime]
    last_citizen_at: Optional[datetime]
    last_agent_at: Optional[datetime]
    closed_at: Optional[datetime]


def sla_states(times: TicketTimes, targets: SlaTargets, now: datetime) -> dict[str, dict[str, Any]]:
    """The three SLA timers of a ticket: {"first_response"|"next_response"|"resolution": {state, elapsed, target}}."""
    end = times.closed_at or now
    first_done = times.first_response_at is not None
    first_elapsed = seconds(times.created_at, times.first_response_at or end)
    # next response: the citizen wrote after the agent's last reply (only once the agent has replied)
    waiting_since = None
    if first_done and times.last_citizen_at and (times.last_agent_at is None
                                                 or times.last_citizen_at > times.last_agent_at):
        waiting_since = times.last_citizen_at
    next_elapsed = seconds(waiting_since, end) if waiting_since else 0.0
    resolution_elapsed = seconds(times.created_at, end)
    return {
        "first_response": {"state": timer_state(first_elapsed, targets.first_response, first_done, targets.warn_share),
                           "elapsed": round(first_elapsed), "target": targets.first_response},
        "next_response": {"state": "ok" if waiting_since is None else
                          timer_state(next_elapsed, targets.next_response, times.closed_at is not None,
                                      targets.warn_share),
                          "elapsed": round(next_elapsed), "target": targets.next_response},
        "resolution": {"state": timer_state(resolution_elapsed, targets.resolution, times.closed_at is not None,
                                            targets.warn_share),
                       "elapsed": round(resolution_elapsed), "target": targets.resolution},
    }


def priority(elderly: bool, reason: str, waited_seconds: float) -> int:
    """Queue priority: elderly users (+3) and complaints (+1) first, then +1 for every 2 minutes waited."""
    return (3 if elderly else 0) + (1 if reason == "complaint" else 0) + int(waited_seconds // 120)


def estimated_wait_minutes(position: int, agents_online: int, minutes_per_ticket: float) -> int:
    """Minutes until an agent picks up a ticket at this place in the queue (1 = next)."""
    return max(1, math.ceil(position * minutes_per_ticket / max(1, agents_online)))


class HoursError(ValueError):
    """The working-hours setting cannot be read."""


@dataclass(frozen=True)
class WorkingHours:
    """When agents work, e.g. "mon-fri 09:00-18:00; sat 09:00-12:00", in a time zone; "always" for 24/7."""

    spans: tuple[tuple[frozenset[int], time, time], ...]
    zone: ZoneInfo
    always: bool = False

    @classmethod
    def parse(cls, text: str, zone: str = "Asia/Shanghai") -> "WorkingHours":
        try:
            tz = ZoneInfo(zone)
        except Exception as error:  # ZoneInfoNotFoundError, ValueError
            raise HoursError(f"unknown time zone {zone!r}") from error
        if text.strip().lower() in ("", "always", "24/7"):
            return cls((), tz, always=True)
        spans = []
        for part in text.split(";"):
            match = re.fullmatch(r"\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*",
                                 part.lower())
            if not match or match.group(1) not in DAYS or (match.group(2) and match.group(2) not in DAYS):
                raise HoursError(f"cannot read working hours {part.strip()!r}; write e.g. 'mon-fri 09:00-18:00'")
            first = DAYS.index(match.group(1))
            last = DAYS.index(match.group(2)) if match.group(2) else first
            days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7),
                                                                                       *range(0, last + 1)])
            try:
                start = time(int(match.group(3)), int(match.group(4)))
                # "24:00" ends a span at midnight
                end = time.max if match.group(5, 6) == ("24", "00") else time(int(match.group(5)), int(match.group(6)))
            except ValueError:
                raise HoursError(f"no such time of day in {part.strip()!r}") from None
            if end <= start:
                raise HoursError(f"working hours end before they start in {part.strip()!r}")
            spans.append((days, start, end))
        return cls(tuple(spans), tz)

    def is_open(self, moment: datetime) -> bool:
        if self.always:
            return True
        local = moment.astimezone(self.zone)
        return any(local.weekday() in days and start <= local.time() < end for days, start, end in self.spans)

    def next_opening(self, moment: datetime) -> datetime:
        """The next moment the service is open (the moment itself when open now)."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(0, 8):
            day = (local + timedelta(days=offset)).date()
            for days, start, _ in sorted(self.spans, key=lambda span: span[1]):
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if day.weekday() in days and candidate > local:
                    return candidate
        return moment
