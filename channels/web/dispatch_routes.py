"""The dispatcher's page (/dispatch) and its JSON API (/api/dispatch/*): the 12345 centre dispatches accepted orders
(confirming the classifier's proposal or choosing another department), re-dispatches returned ones, decides
extension requests, follows up overdue and escalated ones, merges duplicates and closes orders after the return
visit (docs/api.md).

Behind the consoles' session (channels/web/agent_session.py) for agent and admin accounts, the agents being the
centre's dispatchers (others: 403 wrong_role); the log-in is the agent console's (/api/agent/login). Every answer is
`no-store`, every POST must come from our own origin (403 cross_origin), and each session's steps are rate-limited
(GOVBOT_RATE_DISPATCH; 429 rate_limited). A department id must be in the catalogue (else 400 unknown_department,
nothing changed). After each step the citizen's notices are given the changed order (`notices.after(order,
action)`); a failing notice is logged, the step stays.
"""

import logging
from typing import Callable

from anyio import to_thread
from fastapi import APIRouter, Depends, Path
from fastapi.responses import FileResponse, JSONResponse

from channels.common.errors import error_response, error_responses
from channels.web.agent_routes import STATIC_DIR
from channels.web.agent_session import AGENT_ROLES, current_agent
from channels.web.console_routes import Notices, limited_route, tell
from channels.web.dispatch_views import (
    MAX_NUMBER,
    Board,
    CloseRequest,
    DepartmentList,
    DispatchOrder,
    DispatchRequest,
    ExtensionDecision,
    MergeRequest,
)
from handoff.desk import Desk
from handoff.records import Agent
from handoff.views import AgentView
from workorders.catalogue import Catalogue
from workorders.records import Actor, Role, WorkOrder, WorkOrderError
from workorders.store import WorkOrderStore

log = logging.getLogger("govbot.workorders")

STATUS = {"no_such_order": 404, "forbidden": 403, "illegal_transition": 409, "extension_pending": 409,
          "no_pending_extension": 409, "merge_target_closed": 409}  # other refusals of the domain: 400


def dispatcher(agent: Agent) -> Actor:
    """An agent acting on work orders: a dispatcher of the 12345 centre, named by their username."""
    return Actor(Role.DISPATCHER, agent.username)


def refused(error: WorkOrderError) -> JSONResponse:
    """A refused step in the error envelope: 404 for an unknown order, 403 forbidden, 409 for a step the order's
    state does not allow now, else 400."""
    return error_response(STATUS.get(error.code, 400), error.code, str(error))


def dispatch_router(desk: Desk, store: WorkOrderStore, catalogue: Catalogue, notices: Notices,
                    behind_tls: bool = False, rate_per_minute: int = 60) -> APIRouter:
    """The dispatcher's page and API: agent and admin accounts. `notices` is told of each step; `rate_per_minute`
    bounds each session's steps."""
    router = APIRouter(route_class=limited_route(behind_tls, rate_per_minute), tags=["dispatch"])
    staff = Depends(current_agent(desk, AGENT_ROLES))
    acting = error_responses(400, 401, 403, 404, 409, 429)

    def unknown(department: str) -> JSONResponse | None:
        if department in catalogue.ids:
            return None
        return error_response(400, "unknown_department", f"there is no department {department!r} in the catalogue")

    async def step(agent: Agent, action: str, run: Callable[[Actor], WorkOrder]) -> DispatchOrder | JSONResponse:
        """Do one step as the agent (a dispatcher), log it, tell the citizen; the changed order."""
        try:
            order = await to_thread.run_sync(run, dispatcher(agent))
        except WorkOrderError as error:
            return refused(error)
        log.info("workorder_dispatcher_step", extra={"fields": {
            "number": order.number, "action": action, "department": order.department, "user": agent.username,
            "status": order.status.value}})
        await tell(notices, order, action)
        return DispatchOrder.of(order, catalogue, store.clock())

    @router.get("/dispatch", include_in_schema=False)
    async def dispatch_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "dispatch.html", media_type="text/html; charset=utf-8")

    @router.get("/api/dispatch/me", response_model=AgentView, responses=error_responses(401, 403))
    async def me(agent: Agent = staff) -> AgentView:
        """The logged-in dispatcher."""
        return AgentView.of(agent)

    @router.get("/api/dispatch/departments", response_model=DepartmentList, responses=error_responses(401, 403))
    async def departments(agent: Agent = staff) -> DepartmentList:
        """The department catalogue (ids and names in Chinese and English), to dispatch to."""
        return DepartmentList.of(catalogue)

    @router.get("/api/dispatch/orders", response_model=Board, responses=error_responses(401, 403))
    async def board(agent: Agent = staff) -> Board:
        """Orders waiting for dispatch, returned, with an extension request, overdue or escalated, in the return
        visit; oldest first."""
        found = await to_thread.run_sync(store.open_orders)
        return Board.of(found, catalogue, store.clock())

    @router.post("/api/dispatch/orders/{number}/dispatch", response_model=DispatchOrder, responses=acting)
    async def dispatch(body: DispatchRequest, number: str = Path(max_length=MAX_NUMBER),
                       agent: Agent = staff) -> DispatchOrder | JSONResponse:
        """派单: send an accepted order to a department (the proposal or another); the deadlines start."""
        return unknown(body.department) or await step(
            agent, "dispatched", lambda actor: store.dispatch(number, actor, body.department, body.note))

    @router.post("/api/dispatch/orders/{number}/redispatch", response_model=DispatchOrder, responses=acting)
    async def redispatch(body: DispatchRequest, number: str = Path(max_length=MAX_NUMBER),
                         agent: Agent = staff) -> DispatchOrder | JSONResponse:
        """重派: send a returned order to a department again (another or the same); new deadlines."""
        return unknown(body.department) or await step(
            agent, "redispatched", lambda actor: store.redispatch(number, actor, body.department, body.note))

    @router.post("/api/dispatch/orders/{number}/extension", response_model=DispatchOrder, responses=acting)
    async def extension(body: ExtensionDecision, number: str = Path(max_length=MAX_NUMBER),
                        agent: Agent = staff) -> DispatchOrder | JSONResponse:
        """延期审批: approve (the reply deadline moves to the one asked for) or deny the pending request."""
        action = "extension_approved" if body.approve else "extension_denied"
        return await step(agent, action, lambda actor: store.decide_extension(number, actor, body.approve,
                                                                              body.note))

    @router.post("/api/dispatch/orders/{number}/merge", response_model=DispatchOrder, responses=acting)
    async def merge(body: MergeRequest, number: str = Path(max_length=MAX_NUMBER),
                    agent: Agent = staff) -> DispatchOrder | JSONResponse:
        """合并: the duplicate `number` ends merged into the open order `into` (both trails record it)."""
        return await step(agent, "merged", lambda actor: store.merge(number, body.into, actor, body.note))

    @router.post("/api/dispatch/orders/{number}/close", response_model=DispatchOrder, responses=acting)
    async def close(body: CloseRequest, number: str = Path(max_length=MAX_NUMBER),
                    agent: Agent = staff) -> DispatchOrder | JSONResponse:
        """办结: close an order in the return visit (when the system has not)."""
        return await step(agent, "closed", lambda actor: store.close(number, actor, body.note))

    return router
