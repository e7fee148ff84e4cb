"""HTTP side of handoff: the agent console's page and JSON API (login required), and the live event streams
of agents' consoles and citizens' chat pages (server-sent events)."""

import os
from dataclasses import replace
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import yaml
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from channels.handoff.desk import Desk
from channels.handoff.hub import next_event, sse
from channels.handoff.router import citizen_event
from channels.handoff.store import Agent, HandoffError
from channels.handoff.texts import rating_buttons
from channels.models import SENDER_PATTERN

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
CANNED_REPLIES = Path(__file__).with_name("canned_replies.yml")
COOKIE = "govbot_agent"
STATUS = {"no_such_ticket": 404, "no_such_agent": 404, "already_claimed": 409, "not_your_ticket": 409,
          "ticket_closed": 409, "ticket_open": 409, "agent_exists": 409}


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class TextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class ForwardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=64)


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: str = Field(min_length=1, max_length=2000)


def problem(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def refused(error: HandoffError) -> JSONResponse:
    return problem(STATUS.get(error.code, 400), error.code, str(error))


class NotLoggedIn(Exception):
    """No valid agent session on the request."""


def canned_replies() -> dict[str, list[str]]:
    path = Path(os.environ.get("GOVBOT_CANNED_REPLIES") or CANNED_REPLIES)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {language: [str(line) for line in data.get(language) or []] for language in ("zh", "en")}


def handoff_router(desk: Desk) -> APIRouter:
    """The agent console (/agent, /api/agent/*) and the citizens' event stream (/api/events)."""
    store, hub, config = desk.store, desk.hub, desk.config
    router = APIRouter()

    async def current_agent(request: Request) -> Agent:
        agent = await run_in_threadpool(store.session_agent, request.cookies.get(COOKIE, ""))
        if agent is None:
            raise NotLoggedIn()
        return agent

    @router.get("/agent", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "agent.html", media_type="text/html; charset=utf-8")

    @router.post("/api/agent/login")
    async def log_in(body: LoginRequest, request: Request) -> JSONResponse:
        """Start an agent session (an HttpOnly cookie)."""
        token = await run_in_threadpool(store.log_in, body.username, body.password)
        if token is None:
            return problem(401, "bad_credentials", "wrong username or password")
        agent = await run_in_threadpool(store.agent, body.username)
        response = JSONResponse({"username": agent.username, "display_name": agent.display_name})
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https", max_age=12 * 3600)
        return response

    @router.post("/api/agent/logout")
    async def log_out(request: Request) -> JSONResponse:
        await run_in_threadpool(store.log_out, request.cookies.get(COOKIE, ""))
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/")
        return response

    @router.get("/api/agent/me")
    async def me(agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        return {"username": agent.username, "display_name": agent.display_name}

    @router.get("/api/agent/queue")
    async def queue(agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        """Open tickets: waiting ones in pick-up order, then the claimed ones, with their SLA timers."""
        return {"tickets": await desk.queue(), "agents_online": await run_in_threadpool(store.agents_online),
                "open_now": config.hours.is_open(store.clock())}

    @router.get("/api/agent/agents")
    async def agents(agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        listed = await run_in_threadpool(store.agents)
        return {"agents": [{"username": a.username, "display_name": a.display_name} for a in listed]}

    @router.get("/api/agent/canned")
    async def canned(agent: Agent = Depends(current_agent)) -> dict[str, list[str]]:
        return canned_replies()

    @router.get("/api/agent/metrics")
    async def metrics(days: int = Query(7, ge=1, le=366), agent: Agent = Depends(current_agent)) -> dict[str, Any]:
        """Answered within the first-response target, abandonment, median and p90 wait."""
        return await desk.metrics(days)

    @router.get("/api/agent/tickets/{number}")
    async def ticket(number: str, agent: Agent = Depends(current_agent)) -> Any:
        """The ticket with its whole transcript (the bot's turns included) and audit trail."""
        try:
            return await desk.ticket(number)
        except HandoffError as error:
            return refused(error)

    async def act(action) -> Any:  # type: ignore[no-untyped-def]
        try:
            result = await action
        except HandoffError as error:
            return refused(error)
        if isinstance(result, int):
            return {"id": result}
        return {"number": result.number, "status": result.status, "agent": result.agent}

    @router.post("/api/agent/tickets/{number}/claim")
    async def claim(number: str, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.claim(number, agent.username, agent.display_name))

    @router.post("/api/agent/tickets/{number}/take_over")
    async def take_over(number: str, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.take_over(number, agent.username, agent.display_name))

    @router.post("/api/agent/tickets/{number}/release")
    async def release(number: str, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.release(number, agent.username))

    @router.post("/api/agent/tickets/{number}/forward")
    async def forward(number: str, body: ForwardRequest, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.forward(number, agent.username, body.to))

    @router.post("/api/agent/tickets/{number}/reply")
    async def reply(number: str, body: TextRequest, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.reply(number, agent.username, agent.display_name, body.text))

    @router.post("/api/agent/tickets/{number}/note")
    async def note(number: str, body: TextRequest, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.note(number, agent.username, body.text))

    @router.post("/api/agent/tickets/{number}/close")
    async def close(number: str, body: CloseRequest, agent: Agent = Depends(current_agent)) -> Any:
        return await act(desk.close(number, agent.username, body.resolution))

    @router.get("/api/agent/events")
    async def agent_events(request: Request, agent: Agent = Depends(current_agent)) -> StreamingResponse:
        """Live console updates: "queue" and "message" events name the ticket that changed."""
        async def stream() -> AsyncIterator[str]:
            with hub.agent_stream() as queue:
                yield sse({"type": "hello", "agent": agent.username})
                while not await request.is_disconnected():
                    event = await next_event(queue, config.heartbeat_seconds)
                    if event is None:
                        await run_in_threadpool(store.session_agent, request.cookies.get(COOKIE, ""))  # still here
                        yield ": keep-alive\n\n"
                    else:
                        yield sse(event)
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    @router.get("/api/events")
    async def citizen_events(request: Request, sender: str = Query(pattern=SENDER_PATTERN),
                             after: Optional[int] = Query(None, ge=0)) -> StreamingResponse:
        """A conversation's live handoff events: agent and system messages (replayed after `after` or
        Last-Event-ID, so nothing is missed across reconnects) and the ticket's place in the queue."""
        last_seen = request.headers.get("last-event-id", "")
        start = int(last_seen) if last_seen.isdigit() else (after or 0)

        async def stream() -> AsyncIterator[str]:
            with hub.citizen_stream(sender) as queue:
                missed = await run_in_threadpool(store.citizen_messages_after, sender, start)
                agents = await run_in_threadpool(store.agents) if missed else []
                names = {a.username: a.display_name for a in agents}
                last_id = start
                last_system = {t.id: m.id for t, m in missed if m.author == "system"}  # ids ascend: the last wins
                for ticket, message in missed:
                    buttons = None
                    # the rating buttons go with the closing message of an agent-closed, unrated ticket
                    if message.author == "system" and ticket.status == "closed" and ticket.closed_by == "agent" \
                            and ticket.citizen_rating is None and message.id == last_system[ticket.id]:
                        buttons = rating_buttons(ticket.language, ticket.number)
                    # citizens see agents' display names, as in the live events (Conversations.deliver)
                    shown = replace(message, agent=names.get(message.agent or "", message.agent))
                    yield sse(citizen_event(ticket, shown, buttons, names.get(ticket.agent or "")), message.id)
                    last_id = max(last_id, message.id)
                open_ticket = await run_in_threadpool(store.open_ticket_of, sender)
                if open_ticket is not None:
                    yield sse({"type": "ticket", **await desk.conversations.state_of(open_ticket)})
                while not await request.is_disconnected():
                    event = await next_event(queue, config.heartbeat_seconds)
                    if event is None:
                        yield ": keep-alive\n\n"
                    elif isinstance(event.get("id"), int) and event["id"] <= last_id:
                        continue  # stored while we were replaying: already sent
                    else:
                        yield sse(event, event.get("id"))
        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return router


async def not_logged_in(request: Request, error: NotLoggedIn) -> JSONResponse:
    return problem(401, "not_logged_in", "log in at /agent first")
