"""The 12345 rates of departments over a period, counted over dispatches (one order sent to one department once;
a redispatch or reopen to a department is a new dispatch). A period is [start, end).

- 响应率 response rate: of the dispatches made in the period whose sign-for is decided, the share signed at or
  before the sign-for deadline. Decided: signed, or the deadline passed (by `now`) while it still waited to be
  signed; a dispatch that ended unsigned before its deadline (returned, merged) is not counted.
- 解决率 resolution rate: of the dispatches whose return visit was recorded in the period, the share the citizen
  said resolved.
- 满意率 satisfaction rate: of those with a rating, the share rated satisfied or basically satisfied.

A rate with nothing to count has no value (None), not 0 or 1.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from workorders.records import Dispatch, Rating

SATISFIED = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})


@dataclass(frozen=True)
class Share:
    """count out of total; value is count / total, None when there is nothing to count."""

    count: int
    total: int

    @property
    def value(self) -> Optional[float]:
        return self.count / self.total if self.total else None


@dataclass(frozen=True)
class DepartmentRates:
    """One department's three rates over [start, end)."""

    department: str
    start: datetime
    end: datetime
    response: Share
    resolution: Share
    satisfaction: Share


def _within(moment: Optional[datetime], start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def sign_decided(dispatch: Dispatch, now: datetime) -> bool:
    """Whether the dispatch counts for the response rate: signed, or its deadline passed while it waited."""
    if dispatch.signed_at is not None:
        return True
    waited_until = min(dispatch.ended_at, now) if dispatch.ended_at is not None else now
    return dispatch.sign_deadline < waited_until


def signed_in_time(dispatch: Dispatch) -> bool:
    """Signed at or before its sign-for deadline."""
    return dispatch.signed_at is not None and dispatch.signed_at <= dispatch.sign_deadline


def department_rates(dispatches: Iterable[Dispatch], start: datetime, end: datetime,
                     now: datetime) -> list[DepartmentRates]:
    """The rates of every department that has something in the period, by department id."""
    counts: dict[str, list[int]] = {}  # department -> [responded, decided, resolved, visited, satisfied, rated]
    for dispatch in dispatches:
        row = counts.setdefault(dispatch.department, [0] * 6)
        if _within(dispatch.dispatched_at, start, end) and sign_decided(dispatch, now):
            row[0] += signed_in_time(dispatch)
            row[1] += 1
        if _within(dispatch.visited_at, start, end) and dispatch.resolved is not None:
            row[2] += dispatch.resolved
            row[3] += 1
            if dispatch.rating is not None:
                row[4] += dispatch.rating in SATISFIED
                row[5] += 1
    return [DepartmentRates(department, start, end, Share(c[0], c[1]), Share(c[2], c[3]), Share(c[4], c[5]))
            for department, c in sorted(counts.items()) if c[1] or c[3]]
