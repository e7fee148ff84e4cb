"""The department inbox: its page (/dept) and its JSON API (/api/dept/*), behind a department account's session.

The session is the consoles' one (channels/web/agent_session.py, the same log-in, cookie and idle rules as
/agent); only department accounts are served (others: 403 wrong_role). Staff see and act on their own
department's orders only: another department's order is, to them, 404 no_such_order, like one that does not
exist. Every answer is `no-store`, every POST must come from our own origin (403 cross_origin), and each session's
steps are rate-limited (GOVBOT_RATE_DEPT; 429 rate_limited with Retry-After). After each step the citizen's
notices are given the changed order (`notices.after(order, action)`); a failing notice is logged, the step stays.
"""

import logging
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from anyio import to_thread
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, JSONResponse

from channels.common.errors import error_response, error_responses
from channels.web.agent_routes import STATIC_DIR, LoggedOut, LoginRequest, end_session, start_session
from channels.web.agent_session import DEPARTMENT_ROLES, current_agent
from channels.web.console_routes import Notices, limited_route, tell
from channels.web.dept_views import (
    DepartmentAccount,
    ExtensionRequest,
    OrderDetail,
    OrderList,
    OrderSummary,
    ReplyRequest,
    ReturnRequest,
)
from handoff.desk import Desk
from handoff.records import Agent
from handoff.views import AgentView
from workorders.catalogue import Catalogue
from workorders.records import Actor, Role, WorkOrder, WorkOrderError
from workorders.store import NUMBER_TIMEZONE, WorkOrderStore

log = logging.getLogger("govbot.workorders")

MAX_NUMBER = 32  # characters of an order number in a path (GD + 8 + at least 4 digits)
MAX_EXTENSION_DAYS = 366  # how far ahead an extension may reach
DAY_ENDS = time(23, 59)  # an extension "until a day" lasts to this time of it, China time
STATUS = {"no_such_order": 404, "not_your_department": 404, "forbidden": 403, "illegal_transition": 409,
          "extension_pending": 409}  # other refusals of the work-order domain: 400


def department_actor(agent: Agent) -> Actor:
    """A department account acting on work orders: department staff, named by username, of their department."""
    return Actor(Role.DEPARTMENT, agent.username, agent.department)


def refused(error: WorkOrderError, number: str) -> JSONResponse:
    """A refused step in the error envelope: another department's order is no_such_order (404), as if it did not
    exist; forbidden 403; a step the state does not allow 409; bad input 400."""
    if error.code in ("no_such_order", "not_your_department"):
        return error_response(404, "no_such_order", f"there is no work order {number} in your department's inbox")
    return error_response(STATUS.get(error.code, 400), error.code, str(error))


def extension_deadline(day: date) -> datetime:
    """The new reply deadline of an extension until `day`: the end of that day in China time (in UTC, as stored)."""
    return datetime.combine(day, DAY_ENDS, ZoneInfo(NUMBER_TIMEZONE)).astimezone(timezone.utc)


def dept_router(desk: Desk, store: WorkOrderStore, catalogue: Catalogue, notices: Notices,
                behind_tls: bool = False, rate_per_minute: int = 30) -> APIRouter:
    """The department inbox's page (/dept) and API (/api/dept/*): department accounts only, their own department's
    orders only. `notices` is told of each step; `rate_per_minute` bounds each session's steps."""
    router = APIRouter(route_class=limited_route(behind_tls, rate_per_minute), tags=["dept"])
    staff = Depends(current_agent(desk, DEPARTMENT_ROLES))
    reading = error_responses(401, 403, 404)
    acting = error_responses(400, 401, 403, 404, 409, 429)

    async def step(number: str, agent: Agent, action: str,
                   run: Callable[[Actor], WorkOrder]) -> OrderSummary | JSONResponse:
        """Do one step as the agent's department, log it, tell the citizen; the changed order's summary."""
        try:
            order = await to_thread.run_sync(run, department_actor(agent))
        except WorkOrderError as error:
            return refused(error, number)
        log.info("workorder_department_step", extra={"fields": {
            "number": order.number, "action": action, "department": order.department, "user": agent.username,
            "status": order.status.value}})
        await tell(notices, order, action)
        return OrderSummary.of(order, store.clock())

    @router.get("/dept", include_in_schema=False)
    async def inbox_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "dept.html", media_type="text/html; charset=utf-8")

    @router.post("/api/dept/login", response_model=AgentView, responses=error_responses(400, 401, 403, 429))
    async def log_in(body: LoginRequest, request: Request, response: Response) -> AgentView | JSONResponse:
        """Start a session (the consoles' one log-in, as POST /api/agent/login): the answer's `role` tells the page
        whether this inbox serves the account."""
        return await start_session(desk, body, request, response, behind_tls)

    @router.post("/api/dept/logout", response_model=LoggedOut, responses=error_responses(403))
    async def log_out(request: Request, response: Response) -> LoggedOut:
        """End the session (deleted on the server, and the cookie cleared)."""
        return await end_session(desk, request, response, behind_tls)

    @router.get("/api/dept/me", response_model=DepartmentAccount, responses=error_responses(401, 403))
    async def me(agent: Agent = staff) -> DepartmentAccount:
        """The logged-in department user and their department's name."""
        return DepartmentAccount.of(agent, catalogue)

    @router.get("/api/dept/orders", response_model=OrderList, responses=error_responses(401, 403))
    async def orders(agent: Agent = staff) -> OrderList | JSONResponse:
        """The department's orders now with it, oldest first, with their deadlines and what is overdue."""
        try:
            found = await to_thread.run_sync(store.department_orders, department_actor(agent))
        except WorkOrderError as error:
            return refused(error, "")
        now = store.clock()
        return OrderList(department=agent.department or "", orders=[OrderSummary.of(o, now) for o in found])

    @router.get("/api/dept/orders/{number}", response_model=OrderDetail, responses=reading)
    async def order(number: str = Path(max_length=MAX_NUMBER), agent: Agent = staff) -> OrderDetail | JSONResponse:
        """One of the department's orders: what the citizen said, the contact if they agreed, the trail and the
        messages (another department's order: 404 no_such_order)."""
        def read() -> OrderDetail:
            found = store.order(number)
            if found.department is None or found.department != agent.department:
                raise WorkOrderError("not_your_department", f"order {number} is not with your department")
            return OrderDetail.of_order(found, store.trail(number), store.messages(number), store.clock())
        try:
            return await to_thread.run_sync(read)
        except WorkOrderError as error:
            return refused(error, number)

    @router.post("/api/dept/orders/{number}/sign", response_model=OrderSummary, responses=acting)
    async def sign(number: str = Path(max_length=MAX_NUMBER), agent: Agent = staff) -> OrderSummary | JSONResponse:
        """签收: the department takes a dispatched order."""
        return await step(number, agent, "signed", lambda actor: store.sign(number, actor))

    @router.post("/api/dept/orders/{number}/start", response_model=OrderSummary, responses=acting)
    async def start(number: str = Path(max_length=MAX_NUMBER), agent: Agent = staff) -> OrderSummary | JSONResponse:
        """办理: the department starts on a signed order."""
        return await step(number, agent, "started", lambda actor: store.start(number, actor))

    @router.post("/api/dept/orders/{number}/reply", response_model=OrderSummary, responses=acting)
    async def reply(body: ReplyRequest, number: str = Path(max_length=MAX_NUMBER),
                    agent: Agent = staff) -> OrderSummary | JSONResponse:
        """反馈: the result, stored as a message to the citizen; the order goes to the return visit."""
        return await step(number, agent, "replied", lambda actor: store.reply(number, actor, body.text))

    @router.post("/api/dept/orders/{number}/return", response_model=OrderSummary, responses=acting)
    async def return_order(body: ReturnRequest, number: str = Path(max_length=MAX_NUMBER),
                           agent: Agent = staff) -> OrderSummary | JSONResponse:
        """退单: back to the dispatcher, with the reason."""
        return await step(number, agent, "returned", lambda actor: store.return_order(number, actor, body.reason))

    @router.post("/api/dept/orders/{number}/extension", response_model=OrderSummary, responses=acting)
    async def extension(body: ExtensionRequest, number: str = Path(max_length=MAX_NUMBER),
                        agent: Agent = staff) -> OrderSummary | JSONResponse:
        """延期申请: ask for a later reply deadline (the end of `until`, China time), with the reason; the deadline
        moves only when a dispatcher approves."""
        until = extension_deadline(body.until)
        if until > store.clock() + timedelta(days=MAX_EXTENSION_DAYS):
            return error_response(400, "invalid_deadline", f"an extension reaches at most {MAX_EXTENSION_DAYS} "
                                                           "days ahead")
        return await step(number, agent, "extension_requested",
                          lambda actor: store.request_extension(number, actor, until, body.reason))

    return router
