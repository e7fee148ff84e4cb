"""The supervisor's API: GET /api/supervisor/rates, each department's 12345 rates over a period (docs/api.md).

Behind the consoles' session (channels/web/agent_session.py) for supervisor and admin accounts (others: 403
wrong_role); answers are `no-store`. Days are China time and both ends are included: start=2025-03-01&end=2025-03-31
is March. A rate with nothing to count is null, not 0.
"""

from datetime import date, datetime, time, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from channels.common.errors import error_response, error_responses
from channels.web.agent_routes import guarded_route
from channels.web.agent_session import SUPERVISOR_ROLES, current_agent
from handoff.desk import Desk
from handoff.records import Agent
from workorders.catalogue import Bilingual, Catalogue
from workorders.rates import DepartmentRates, Share
from workorders.store import NUMBER_TIMEZONE, WorkOrderStore

MAX_DAYS = 366  # the longest period asked for at once


class RateView(BaseModel):
    """One rate: `count` of `total`; `rate` is their quotient, null when there is nothing to count."""

    rate: Optional[float]
    count: int
    total: int

    @classmethod
    def of(cls, share: Share) -> "RateView":
        """The view of a share."""
        return cls(rate=share.value, count=share.count, total=share.total)


class DepartmentRatesView(BaseModel):
    """A department's three rates."""

    department: str
    name: Optional[Bilingual] = Field(None, description="from the catalogue (none for an id no longer in it)")
    response: RateView = Field(description="响应率: dispatches signed for in time, of those decided")
    resolution: RateView = Field(description="解决率: return visits the citizen said resolved")
    satisfaction: RateView = Field(description="满意率: rated satisfied or basically satisfied, of those rated")


class RatesView(BaseModel):
    """The rates of every department with something in the period."""

    start: date
    end: date = Field(description="the last day counted (included)")
    departments: list[DepartmentRatesView]


def period(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end] in days as [the start of `start`, the start of the day after `end`) in China time, in UTC (as
    stored)."""
    zone = ZoneInfo(NUMBER_TIMEZONE)
    return (datetime.combine(start, time(), zone).astimezone(timezone.utc),
            datetime.combine(end + timedelta(days=1), time(), zone).astimezone(timezone.utc))


def view_of(rates: DepartmentRates, catalogue: Catalogue) -> DepartmentRatesView:
    """A department's rates with its name."""
    name = catalogue.get(rates.department).name if rates.department in catalogue.ids else None
    return DepartmentRatesView(department=rates.department, name=name, response=RateView.of(rates.response),
                               resolution=RateView.of(rates.resolution),
                               satisfaction=RateView.of(rates.satisfaction))


def supervisor_router(desk: Desk, store: WorkOrderStore, catalogue: Catalogue, behind_tls: bool = False) -> APIRouter:
    """GET /api/supervisor/rates, for supervisor and admin accounts."""
    router = APIRouter(route_class=guarded_route(behind_tls), tags=["supervisor"])
    supervisor = Depends(current_agent(desk, SUPERVISOR_ROLES))

    @router.get("/api/supervisor/rates", response_model=RatesView, responses=error_responses(400, 401, 403))
    async def rates(start: date = Query(description="the first day, YYYY-MM-DD (China time)"),
                    end: date = Query(description="the last day, YYYY-MM-DD, included"),
                    agent: Agent = supervisor) -> RatesView | JSONResponse:
        """响应率, 解决率 and 满意率 of each department with dispatches or return visits in the period."""
        if end < start:
            return error_response(400, "invalid_period", "end must not be before start")
        if (end - start).days >= MAX_DAYS:
            return error_response(400, "invalid_period", f"a period is at most {MAX_DAYS} days")
        begin, until = period(start, end)
        found = await to_thread.run_sync(store.rates, begin, until)
        return RatesView(start=start, end=end, departments=[view_of(r, catalogue) for r in found])

    return router
