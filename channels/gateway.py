"""The gateway, the composition root: builds what the settings ask for once, wires it, and serves every router.

Routers: the web chat and its APIs (channels/web/chat_routes.py), voice (channels/voice/routes.py), the agent
console (channels/web/agent_routes.py), the live event streams (channels/web/event_routes.py), the
Telegram webhook (channels/telegram/service.py), the Open311 GeoReport v2 API of work orders
(channels/web/open311_routes.py) and the agents' turning of a chat into a work order
(channels/web/workorder_routes.py). `python -m channels.gateway` serves it with uvicorn.
"""

import asyncio
from contextlib import asynccontextmanager
from typing import AsyncIterator, Optional

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError

from channels.common.errors import (HTTP_ERROR_STATUSES, database_unavailable, error_responses, http_error_response,
                                    validation_error_response)
from channels.common.rasa_replicas import RasaReplicas
from channels.common.routing import MessageRouter
from channels.common.workorder_intake import WorkOrderIntake
from channels.common.workorder_notices import WorkOrderNotices
from channels.telegram.service import TelegramService, webhook_router
from channels.voice.routes import voice_router
from channels.voice.service import VoiceInput
from channels.voice.output import speech_output
from channels.web.agent_routes import agent_router
from channels.web.agent_session import NotLoggedIn, not_logged_in
from channels.web.body_limit import MAX_BODY_BYTES
from channels.web.chat_routes import STATIC_DIR, UNAVAILABLE_MESSAGE, chat_router
from channels.web.dept_routes import dept_router
from channels.web.dispatch_routes import dispatch_router
from channels.web.event_routes import event_router
from channels.web.guards import header_timeout_protocol, install_guards, raise_open_files_limit
from channels.web.identity import ConversationIdentity, ConversationRefused, conversation_refused
from channels.web.open311_routes import Open311, open311_router
from channels.web.supervisor_routes import supervisor_router
from channels.web.widget_routes import widget_router
from channels.web.workorder_routes import workorder_router
from core import __version__
from core.database import database_url
from core.log import configure_logging
from core.settings import Settings
from handoff.bus import event_bus
from handoff.config import HandoffConfig
from handoff.desk import Desk
from handoff.hub import Hub
from handoff.store import TicketStore
from workorders.catalogue import load_catalogue
from workorders.deadlines import DeadlinePolicy
from workorders.store import WorkOrderStore

__all__ = ["MAX_BODY_BYTES", "SHUTDOWN_GRACE_SECONDS", "create_app", "main", "server_config"]

# live event streams (/api/events, /api/agent/events) never end by themselves; on shutdown they are cut
# (at the latest after this many seconds) and the pages reconnect to the next gateway
SHUTDOWN_GRACE_SECONDS = 3
# connections (and requests) uvicorn serves at once beyond the live streams; more get its plain 503
CONNECTION_HEADROOM = 512
MAX_HEAD_BYTES = 16 * 1024  # request line and headers; a bigger head is refused with 400


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """Build the gateway application for the given settings (default: from the environment)."""
    settings = settings or Settings.from_env()
    # one Rasa server, or several (GOVBOT_RASA_REPLICAS / GOVBOT_RASA_URL), each conversation always on the same one
    rasa = RasaReplicas.from_urls(settings.rasa_base_urls, settings.rasa_timeout, token=settings.rasa_token)
    hub = Hub()
    bus = event_bus(settings, database_url(settings), hub)  # GOVBOT_EVENT_BUS: live events to the other gateways
    desk = Desk(TicketStore(database_url(settings)), HandoffConfig.from_settings(settings), hub=hub, bot=rasa,
                canned_replies=settings.canned_replies)
    # work orders (docs/workorders.md): the store and the department catalogue, served as Open311 GeoReport v2
    workorders = WorkOrderStore(database_url(settings), policy=DeadlinePolicy.from_settings(settings))
    catalogue = load_catalogue(settings.departments_file)
    open311 = Open311(workorders, catalogue, settings.open311_keys)
    # citizens are told of each step of their orders on their channel; the bot's reports become orders
    notices = WorkOrderNotices(workorders, catalogue, hub, settings.handoff_timezone)
    # every channel's messages go through the router: to Rasa, unless a person is handling the conversation
    conversation = MessageRouter(desk, rasa, workorders=WorkOrderIntake(workorders, notices))
    tts = speech_output(settings)  # Kokoro (Mandarin), gTTS when configured, espeak-ng; models load on first use
    voice = VoiceInput.from_settings(settings)  # speech-to-text; models load on first use
    telegram = TelegramService(settings, conversation, tts, voice=voice)  # off without TELEGRAM_BOT_TOKEN
    desk.register_channel("telegram", telegram.push)
    notices.register_channel("telegram", telegram.push)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bus.start()
        await telegram.start()
        places = asyncio.create_task(desk.announce_places_forever())
        try:
            yield
        finally:
            places.cancel()
            await telegram.stop()
            await bus.stop()
            await rasa.close()

    # No /docs or /redoc: those pages load their scripts from a CDN. /openapi.json only when GOVBOT_OPENAPI is on.
    app = FastAPI(title="govbot gateway", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json" if settings.openapi else None, responses=error_responses(400, 429, 503))
    app.state.telegram, app.state.voice, app.state.desk, app.state.event_bus = telegram, voice, desk, bus
    app.state.workorders, app.state.workorder_notices = workorders, notices
    app.exception_handler(RequestValidationError)(validation_error_response)  # 400 in the envelope, not 422
    app.add_exception_handler(NotLoggedIn, not_logged_in)
    app.add_exception_handler(ConversationRefused, conversation_refused)  # 401/403 for web conversations
    for lost in (OperationalError, InterfaceError):  # the database server stopped or unreachable: 503, not 500
        app.add_exception_handler(lost, database_unavailable)
    for status in HTTP_ERROR_STATUSES:  # unknown paths, wrong methods, unparsable bodies: the envelope too
        app.add_exception_handler(status, http_error_response)
    install_guards(app, settings)  # headers, rate limits, body size and time, stream and voice caps
    identity = ConversationIdentity(settings.conversation_secret, secure_cookie=settings.behind_tls)
    app.include_router(chat_router(conversation, tts, rasa.state, settings.max_message_chars,
                                   identity))  # /, /api/conversations, /api/chat
    app.include_router(voice_router(voice, conversation, UNAVAILABLE_MESSAGE, identity.caller()))  # POST /api/voice
    app.include_router(agent_router(desk, settings.behind_tls))  # /agent, /api/agent/*
    # POST /api/agent/tickets/{number}/workorder: an agent turns a chat into a work order (the Open311 catalogue)
    app.include_router(workorder_router(desk, workorders, open311.catalogue, settings.behind_tls))
    app.include_router(event_router(desk, identity))  # /api/events, /api/agent/events
    # /dept, /api/dept/*: department staff's inbox (their own department's orders; citizens told of each step)
    app.include_router(dept_router(desk, workorders, catalogue, notices, settings.behind_tls, settings.rate_dept))
    app.include_router(supervisor_router(desk, workorders, catalogue, settings.behind_tls))  # /api/supervisor/rates
    # /dispatch, /api/dispatch/*: the 12345 centre's dispatchers (agent accounts); citizens told of each step
    app.include_router(dispatch_router(desk, workorders, catalogue, app.state.workorder_notices, settings.behind_tls,
                                       settings.rate_dispatch))
    app.include_router(widget_router(settings.frame_ancestors))  # GET /widget.js (for GOVBOT_FRAME_ANCESTORS' sites)
    app.include_router(webhook_router(telegram))  # POST /telegram/webhook (webhook mode only)
    app.include_router(open311_router(open311, settings.rate_open311))  # /open311/v2/* (GeoReport v2, JSON)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """How uvicorn serves the gateway: its address, the h11 protocol that closes connections whose request head is
    not complete within GOVBOT_HEADER_TIMEOUT (slowloris), request heads of at most 16 KiB, and a connection cap
    above the live streams' (past it uvicorn answers 503 itself)."""
    # rasa-sdk pins websockets 10.x, which has only the implementation uvicorn calls
    # "websockets" (its "auto" choice needs websockets 13 or newer).
    return uvicorn.Config(app, host=settings.gateway_host, port=settings.gateway_port, ws="websockets",
                          http=header_timeout_protocol(settings.header_timeout),
                          limit_concurrency=settings.max_streams + CONNECTION_HEADROOM,
                          h11_max_incomplete_event_size=MAX_HEAD_BYTES, log_config=None, access_log=False,
                          # X-Forwarded-For only from the configured proxies (uvicorn trusts 127.0.0.1 by default,
                          # so a same-host proxy passing a client's own header on would let it pick its address)
                          proxy_headers=bool(settings.trusted_proxies),
                          forwarded_allow_ips=settings.trusted_proxies or None,
                          timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)


def main() -> None:
    """Serve the gateway with uvicorn, configured from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    config = server_config(create_app(settings), settings)
    raise_open_files_limit((config.limit_concurrency or 0) + 256)  # sockets, plus databases, logs and models
    server = uvicorn.Server(config)
    server.run()
    if not server.started:  # e.g. the port is taken: fail as `uvicorn.run` does
        raise SystemExit(3)


if __name__ == "__main__":
    main()
