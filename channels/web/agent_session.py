"""Agents' sessions over HTTP: an HttpOnly cookie carries the token; requests without a live one get 401.

The console marks the requests it makes by itself (its periodic refresh) with `X-Govbot-Background: 1`: they
keep the agent counted as online but do not restart the session's idle timer, so a console left open with
nobody at it logs out after GOVBOT_AGENT_IDLE_MINUTES.
"""

from typing import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from channels.common.errors import error_response
from handoff.desk import Desk
from handoff.records import Agent

COOKIE = "govbot_agent"
BACKGROUND_HEADER = "x-govbot-background"


class NotLoggedIn(Exception):
    """No valid agent session on the request."""


def session_token(request: Request) -> str:
    """The session token the request carries ("" without one)."""
    return request.cookies.get(COOKIE, "")


def is_background(request: Request) -> bool:
    """Whether the console made this request by itself rather than because the agent did something."""
    return request.headers.get(BACKGROUND_HEADER, "") == "1"


def current_agent(desk: Desk) -> Callable[[Request], Awaitable[Agent]]:
    """A dependency giving the logged-in agent of a request (NotLoggedIn without a live session)."""
    async def agent_of(request: Request) -> Agent:
        agent = await desk.session_agent(session_token(request), active=not is_background(request))
        if agent is None:
            raise NotLoggedIn()
        return agent
    return agent_of


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    """Give the browser the session token: HttpOnly, SameSite=Strict, Secure when the deployment uses TLS."""
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure)


def clear_session_cookie(response: Response, secure: bool) -> None:
    """Make the browser forget the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)


async def not_logged_in(_request: Request, _error: Exception) -> JSONResponse:
    """The app's handler of NotLoggedIn: 401 in the error envelope."""
    return error_response(401, "not_logged_in", "log in at /agent first")
