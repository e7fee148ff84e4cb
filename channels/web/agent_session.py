"""Console accounts' sessions over HTTP: an HttpOnly cookie carries the token; requests without a live one get 401,
requests from an account whose role the console or API does not serve get 403 wrong_role.

One session mechanism for every console (the agent console at /agent, the department inbox at /dept, the
supervisor's API): the log-in is the account's, whatever page it was made on; each console's dependency
(`current_agent(desk, roles)`) lets in only its roles.

The console marks the requests it makes by itself (its periodic refresh) with `X-Govbot-Background: 1`: they
keep the agent counted as online but do not restart the session's idle timer, so a console left open with
nobody at it logs out after GOVBOT_AGENT_IDLE_MINUTES.
"""

from typing import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from channels.common.errors import error_response
from handoff.desk import Desk
from handoff.records import AccountRole, Agent

COOKIE = "govbot_agent"
BACKGROUND_HEADER = "x-govbot-background"
AGENT_ROLES = frozenset({AccountRole.AGENT, AccountRole.ADMIN})  # the agent console, /agent and /api/agent/*
DEPARTMENT_ROLES = frozenset({AccountRole.DEPARTMENT})  # the department inbox, /dept and /api/dept/*
SUPERVISOR_ROLES = frozenset({AccountRole.SUPERVISOR, AccountRole.ADMIN})  # /api/supervisor/*
HOME = {AccountRole.AGENT: "/agent", AccountRole.ADMIN: "/agent", AccountRole.DEPARTMENT: "/dept"}  # each role's page


class NotLoggedIn(Exception):
    """No valid session on the request (for this console)."""


class WrongRole(NotLoggedIn):
    """A live session, but of an account whose role this console or API does not serve."""

    def __init__(self, role: AccountRole) -> None:
        super().__init__(role.value)
        self.role = role


def session_token(request: Request) -> str:
    """The session token the request carries ("" without one)."""
    return request.cookies.get(COOKIE, "")


def is_background(request: Request) -> bool:
    """Whether the console made this request by itself rather than because the agent did something."""
    return request.headers.get(BACKGROUND_HEADER, "") == "1"


def current_agent(desk: Desk, roles: frozenset[AccountRole] = AGENT_ROLES) -> Callable[[Request], Awaitable[Agent]]:
    """A dependency giving the logged-in account of a request: NotLoggedIn without a live session, WrongRole when
    its role is not one of `roles` (by default the agent console's: agent, admin)."""
    async def agent_of(request: Request) -> Agent:
        agent = await desk.session_agent(session_token(request), active=not is_background(request))
        if agent is None:
            raise NotLoggedIn()
        if agent.role not in roles:
            raise WrongRole(agent.role)
        return agent
    return agent_of


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    """Give the browser the session token: HttpOnly, SameSite=Strict, Secure when the deployment uses TLS."""
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure)


def clear_session_cookie(response: Response, secure: bool) -> None:
    """Make the browser forget the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)


async def not_logged_in(request: Request, error: Exception) -> JSONResponse:
    """The app's handler of NotLoggedIn: 401 in the error envelope; for WrongRole 403 wrong_role, naming the
    account's own page (`home`, null for a role without one)."""
    if isinstance(error, WrongRole):
        home = HOME.get(error.role)
        where = f"; its page is {home}" if home else ""
        return error_response(403, "wrong_role", f"a {error.role.value} account cannot use this{where}", home=home)
    page = "/dept" if request.url.path.startswith("/api/dept/") else "/agent"
    return error_response(401, "not_logged_in", f"log in at {page} first")
