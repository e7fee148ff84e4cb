"""Agents' sessions over HTTP: an HttpOnly cookie carries the token; requests without a live one get 401."""

from typing import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from channels.common.errors import error_response
from handoff.desk import Desk
from handoff.records import Agent

COOKIE = "govbot_agent"
SESSION_SECONDS = 12 * 3600


class NotLoggedIn(Exception):
    """No valid agent session on the request."""


def session_token(request: Request) -> str:
    """The session token the request carries ("" without one)."""
    return request.cookies.get(COOKIE, "")


def current_agent(desk: Desk) -> Callable[[Request], Awaitable[Agent]]:
    """A dependency giving the logged-in agent of a request (NotLoggedIn without a live session)."""
    async def agent_of(request: Request) -> Agent:
        agent = await desk.session_agent(session_token(request))
        if agent is None:
            raise NotLoggedIn()
        return agent
    return agent_of


async def not_logged_in(_request: Request, _error: Exception) -> JSONResponse:
    """The app's handler of NotLoggedIn: 401 in the error envelope."""
    return error_response(401, "not_logged_in", "log in at /agent first")
