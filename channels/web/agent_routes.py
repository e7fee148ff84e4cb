"""The agent console: its page and its JSON API (/api/agent/*), all behind the session of an agent or an admin.

Every answer carries `Cache-Control: no-store` (transcripts hold personal data); every state-changing request
must come from the console's own origin (channels/web/same_origin.py), else 403 cross_origin; repeated failed
log-ins get 429 too_many_attempts with Retry-After (handoff/login_guard.py). The log-in succeeds for every role
(it answers the account's role, so the page can send department staff to /dept); every other call refuses the
other roles with 403 wrong_role.
"""

from pathlib import Path
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from channels.common.errors import error_response, error_responses
from channels.web.agent_session import (
    AGENT_ROLES,
    NotLoggedIn,
    clear_session_cookie,
    current_agent,
    not_logged_in,
    session_token,
    set_session_cookie,
)
from channels.web.same_origin import same_origin
from handoff.desk import Desk
from handoff.login_guard import TooManyAttempts
from handoff.records import Agent, HandoffError
from handoff.views import AgentList, AgentView, CannedReplies, MessageRef, Metrics, QueueView, TicketDetail, TicketRef

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATUS = {"no_such_ticket": 404, "no_such_agent": 404, "already_claimed": 409, "not_your_ticket": 409,
          "ticket_closed": 409, "ticket_open": 409, "agent_exists": 409}  # other refusals: 400
T = TypeVar("T")


class LoginRequest(BaseModel):
    """An agent's credentials."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class TextRequest(BaseModel):
    """A reply to the citizen, or an internal note."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class ForwardRequest(BaseModel):
    """Whom to hand the ticket to."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=64, description="the other agent's username")


class CloseRequest(BaseModel):
    """How the ticket was resolved."""

    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=2000)


class LoggedOut(BaseModel):
    """The session has ended."""

    ok: bool


def refused(error: HandoffError) -> JSONResponse:
    """A refused ticket action in the error envelope: 404 for what does not exist, 409 for a conflict, else 400."""
    return error_response(STATUS.get(error.code, 400), error.code, str(error))


async def answer(action: Awaitable[T]) -> T | JSONResponse:
    """The action's result, or its refusal."""
    try:
        return await action
    except HandoffError as error:
        return refused(error)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def guarded_route(behind_tls: bool) -> type[APIRoute]:
    """A route class for the agent API: state-changing requests only from our own origin (403 cross_origin before
    anything else), and no answer kept by a browser or proxy cache."""

    class AgentRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handle = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                if request.method not in SAFE_METHODS and not same_origin(request.headers, behind_tls):
                    response: Response = error_response(403, "cross_origin",
                                                        "this request must come from the agent console's own page")
                else:
                    try:
                        response = await handle(request)
                    except NotLoggedIn as error:
                        response = await not_logged_in(request, error)
                response.headers["Cache-Control"] = "no-store"
                return response

            return guarded

    return AgentRoute


def client_address(request: Request) -> str:
    """The client's address as the server saw it (the proxy's forwarded one when uvicorn trusts the proxy)."""
    return request.client.host if request.client else ""


async def start_session(desk: Desk, body: LoginRequest, request: Request, response: Response,
                        behind_tls: bool) -> AgentView | JSONResponse:
    """Every console's log-in: a new session for right credentials (replacing the browser's old one), the account
    in the answer; 401 bad_credentials, or 429 too_many_attempts with Retry-After after repeated failures."""
    try:
        session = await desk.log_in(body.username, body.password, client_address(request))
    except TooManyAttempts as error:
        refusal = error_response(429, error.code, str(error), retry_after=error.retry_after)
        refusal.headers["Retry-After"] = str(error.retry_after)
        return refusal
    if session is None:
        return error_response(401, "bad_credentials", "wrong username or password")
    token, agent = session
    if session_token(request):  # a new session replaces the one the browser had
        await desk.log_out(session_token(request))
    set_session_cookie(response, token, int(desk.config.session_lifetime.total_seconds()), secure=behind_tls)
    return agent


async def end_session(desk: Desk, request: Request, response: Response, behind_tls: bool) -> LoggedOut:
    """Every console's log-out: the session deleted on the server and the cookie cleared."""
    await desk.log_out(session_token(request))
    clear_session_cookie(response, secure=behind_tls)
    return LoggedOut(ok=True)


def agent_router(desk: Desk, behind_tls: bool = False) -> APIRouter:
    """The agent console's page (/agent) and API (/api/agent/*); every API call but login needs a session.
    `behind_tls`: the deployment is served over HTTPS (the session cookie is Secure, origins are https)."""
    router = APIRouter(route_class=guarded_route(behind_tls))
    logged_in = Depends(current_agent(desk))
    acting = error_responses(400, 401, 403, 404, 409)

    @router.get("/agent", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "agent.html", media_type="text/html; charset=utf-8")

    @router.post("/api/agent/login", response_model=AgentView, responses=error_responses(400, 401, 403, 429))
    async def log_in(body: LoginRequest, request: Request, response: Response) -> AgentView | JSONResponse:
        """Start a session (an HttpOnly cookie) for any account; the answer's `role` tells the page whether this
        console serves it. 429 too_many_attempts with Retry-After after repeated failures for the username or
        from the address."""
        return await start_session(desk, body, request, response, behind_tls)

    @router.post("/api/agent/logout", response_model=LoggedOut, responses=error_responses(403))
    async def log_out(request: Request, response: Response) -> LoggedOut:
        """End the agent's session (deleted on the server, and the cookie cleared)."""
        return await end_session(desk, request, response, behind_tls)

    @router.get("/api/agent/me", response_model=AgentView, responses=error_responses(401, 403))
    async def me(agent: Agent = logged_in) -> AgentView:
        """The logged-in agent."""
        return AgentView.of(agent)

    @router.get("/api/agent/queue", response_model=QueueView, responses=error_responses(401, 403))
    async def queue(agent: Agent = logged_in) -> QueueView:
        """Open tickets: waiting ones in pick-up order, then the claimed ones, with their SLA timers."""
        return await desk.queue()

    @router.get("/api/agent/agents", response_model=AgentList, responses=error_responses(401, 403))
    async def agents(agent: Agent = logged_in) -> AgentList:
        """Every agent and admin (to forward a ticket to)."""
        every = await desk.agents()
        return AgentList(agents=[view for view in every.agents if view.role in AGENT_ROLES])

    @router.get("/api/agent/canned", response_model=CannedReplies, responses=error_responses(401, 403))
    async def canned(agent: Agent = logged_in) -> CannedReplies:
        """Ready-made replies per language."""
        return await desk.canned_replies()

    @router.get("/api/agent/metrics", response_model=Metrics, responses=error_responses(400, 401, 403))
    async def metrics(days: int = Query(7, ge=1, le=366), agent: Agent = logged_in) -> Metrics:
        """Answered within the first-response target, abandonment, median and p90 wait."""
        return await desk.metrics(days)

    # a closed ticket has no place in the queue: its queue fields are left out
    @router.get("/api/agent/tickets/{number}", response_model=TicketDetail, response_model_exclude_unset=True,
                responses=error_responses(401, 403, 404))
    async def ticket(number: str, agent: Agent = logged_in) -> TicketDetail | JSONResponse:
        """The ticket with its whole transcript (the bot's turns included) and audit trail."""
        return await answer(desk.ticket(number))

    @router.post("/api/agent/tickets/{number}/claim", response_model=TicketRef, responses=acting)
    async def claim(number: str, agent: Agent = logged_in) -> TicketRef | JSONResponse:
        """Take a waiting ticket (409 already_claimed when another agent got it first)."""
        return await answer(desk.claim(number, agent))

    @router.post("/api/agent/tickets/{number}/take_over", response_model=TicketRef, responses=acting)
    async def take_over(number: str, agent: Agent = logged_in) -> TicketRef | JSONResponse:
        """Take a ticket another agent has (recorded in the audit trail)."""
        return await answer(desk.take_over(number, agent))

    @router.post("/api/agent/tickets/{number}/release", response_model=TicketRef, responses=acting)
    async def release(number: str, agent: Agent = logged_in) -> TicketRef | JSONResponse:
        """Put one's ticket back in the queue."""
        return await answer(desk.release(number, agent))

    @router.post("/api/agent/tickets/{number}/forward", response_model=TicketRef, responses=acting)
    async def forward(number: str, body: ForwardRequest, agent: Agent = logged_in) -> TicketRef | JSONResponse:
        """Hand one's ticket to another agent (an agent or admin account; 400 not_an_agent for another role)."""
        target = await to_thread.run_sync(desk.store.agent, body.to)
        if target is not None and target.role not in AGENT_ROLES:
            return error_response(400, "not_an_agent", f"{body.to!r} is a {target.role.value} account, not an agent")
        return await answer(desk.forward(number, agent, body.to))

    @router.post("/api/agent/tickets/{number}/reply", response_model=MessageRef, responses=acting)
    async def reply(number: str, body: TextRequest, agent: Agent = logged_in) -> MessageRef | JSONResponse:
        """Answer the citizen; the stored message's id."""
        return await answer(desk.reply(number, agent, body.text))

    @router.post("/api/agent/tickets/{number}/note", response_model=MessageRef, responses=acting)
    async def note(number: str, body: TextRequest, agent: Agent = logged_in) -> MessageRef | JSONResponse:
        """An internal note, never sent to the citizen."""
        return await answer(desk.note(number, agent, body.text))

    @router.post("/api/agent/tickets/{number}/close", response_model=TicketRef, responses=acting)
    async def close(number: str, body: CloseRequest, agent: Agent = logged_in) -> TicketRef | JSONResponse:
        """Close one's ticket with a resolution; the citizen is asked to rate the help."""
        return await answer(desk.close(number, agent, body.resolution))

    return router
