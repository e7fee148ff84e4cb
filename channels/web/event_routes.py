"""The live event streams (server-sent events): a citizen's handoff events and an agent console's updates.

Events carry their stored message's id (a reconnecting page sends it back as Last-Event-ID and gets only
what it missed); a keep-alive comment goes out every heartbeat; sse-starlette ends the streams when the
server shuts down, and the pages reconnect to the next gateway. A citizen's stream needs the conversation's
token (channels/web/identity.py; ?token= too, since EventSource cannot send headers).
"""

import json
import re
from contextlib import aclosing
from typing import Any, AsyncGenerator, AsyncIterator, Optional

from fastapi import APIRouter, Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from channels.common.errors import error_responses
from channels.common.models import SENDER_PATTERN
from channels.web.agent_session import current_agent, session_token
from channels.web.identity import ConversationIdentity, WebCaller
from handoff.desk import Desk
from handoff.hub import LiveEvent
from handoff.records import Agent

SEPARATOR = "\n"
STREAM: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "a stream of server-sent events"}}
MAX_EVENT_ID = 2**62  # message ids are 64-bit integers in the database; anything larger names no message
_EVENT_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("٣" or "²" pass str.isdigit but are no id)


def resume_point(last_event_id: str | None, after: int | None) -> int:
    """Where a stream resumes: a usable Last-Event-ID header, else `after`, else the start (0). A header that is
    not a plain decimal id in range (a browser sends back only ids we gave it) is ignored, never an error."""
    value = (last_event_id or "").strip()
    if _EVENT_ID.fullmatch(value) and int(value) <= MAX_EVENT_ID:
        return int(value)
    return after or 0


def server_sent(event: LiveEvent) -> ServerSentEvent:
    """One server-sent event: its type, its id when it has one (for Last-Event-ID), and the event as JSON."""
    event_id = event.get("id")
    return ServerSentEvent(json.dumps(event, ensure_ascii=False), event=str(event.get("type", "message")),
                           id=str(event_id) if isinstance(event_id, int) else None, sep=SEPARATOR)


async def _encoded(events: AsyncGenerator[LiveEvent, None]) -> AsyncIterator[ServerSentEvent]:
    async with aclosing(events) as stream:
        async for event in stream:
            yield server_sent(event)


def event_stream(events: AsyncGenerator[LiveEvent, None], heartbeat: float) -> EventSourceResponse:
    """The events as a text/event-stream response (Cache-Control: no-store), with keep-alive comments."""
    return EventSourceResponse(_encoded(events), ping=heartbeat, sep=SEPARATOR,
                               ping_message_factory=lambda: ServerSentEvent(comment="keep-alive", sep=SEPARATOR))


def event_router(desk: Desk, identity: ConversationIdentity) -> APIRouter:
    """GET /api/events (a conversation's handoff events) and GET /api/agent/events (a console's updates)."""
    router = APIRouter()
    heartbeat = desk.config.heartbeat_seconds
    logged_in = Depends(current_agent(desk))
    web_caller = Depends(identity.caller(allow_query=True))

    @router.get("/api/agent/events", response_class=EventSourceResponse,
                responses={**STREAM, **error_responses(401)})
    async def agent_events(request: Request, agent: Agent = logged_in) -> EventSourceResponse:
        """Live console updates: "queue" and "message" events name the ticket that changed."""
        return event_stream(desk.agent_events(agent, session_token(request)), heartbeat)

    @router.get("/api/events", response_class=EventSourceResponse,
                responses={**STREAM, **error_responses(400, 401, 403)})
    async def citizen_events(request: Request, sender: str = Query(pattern=SENDER_PATTERN),
                             after: Optional[int] = Query(None, ge=0, le=MAX_EVENT_ID),
                             token: Optional[str] = Query(None, description="the conversation's token, for clients "
                                                          "that cannot send `Authorization: Bearer` (EventSource)"),
                             caller: WebCaller = web_caller) -> EventSourceResponse:
        """A conversation's live handoff events: agent and system messages (replayed after `after` or
        Last-Event-ID, so nothing is missed across reconnects) and the ticket's place in the queue. Only for the
        conversation's own token (401 without a valid one, 403 for another conversation)."""
        caller.require(sender)
        start = resume_point(request.headers.get("last-event-id"), after)
        return event_stream(desk.citizen_events(sender, start), heartbeat)

    return router
