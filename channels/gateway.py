"""The gateway: the web chat page, its JSON chat API and a health endpoint, in front of Rasa."""

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Optional

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from channels.handoff.api import NotLoggedIn, handoff_router, not_logged_in
from channels.handoff.config import HandoffConfig
from channels.handoff.desk import Desk
from channels.handoff.hub import Hub
from channels.handoff.router import Conversations
from channels.handoff.store import TicketStore
from channels.models import ChatRequest, ChatResponse, ErrorResponse, HealthResponse, SpeechRequest
from channels.rasa_client import RasaClient, RasaUnavailable
from channels.telegram.service import TelegramService, webhook_router
from channels.voice.routes import MULTIPART_OVERHEAD, PATH as VOICE_PATH, voice_router
from channels.voice.service import VoiceInput
from channels.voice.tts import EngineFailed, SpeechError, default_tts
from govbot import __version__
from govbot.database import database_url_in
from govbot.log import configure_logging
from govbot.settings import Settings

log = logging.getLogger("govbot.gateway")

STATIC_DIR = Path(__file__).parent / "web" / "static"
# A chat message is at most a few kilobytes; refuse larger bodies before parsing them.
MAX_BODY_BYTES = 64 * 1024
SHUTDOWN_GRACE_SECONDS = 3

UNAVAILABLE_MESSAGE = ("助手暂时无法回答，请稍后再试，或拨打12345热线。 / "
                       "The assistant is temporarily unavailable. Please try again shortly, "
                       "or call the 12345 hotline.")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """A JSON error in the gateway's one error shape."""
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message}})
    return JSONResponse(status_code=status, content=body.model_dump())


def _describe_validation_error(error: RequestValidationError) -> tuple[str, str]:
    """Turn pydantic's error list into one (code, readable message) pair."""
    first = error.errors()[0] if error.errors() else {}
    kind = first.get("type", "")
    field = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    if kind == "json_invalid":
        return "invalid_json", "the request body is not valid JSON"
    if kind == "model_attributes_type" or (not field and kind.endswith("_type")):
        return "invalid_body", 'the request body must be a JSON object like {"sender": "...", "text": "..."}'
    if kind == "missing":
        return "missing_field", f"{field} is required"
    if kind == "extra_forbidden":
        return "unknown_field", f"{field} is not a known field"
    if field == "text" and kind == "value_error":
        return "empty_text", "text must not be empty"
    if field == "sender" and kind == "string_pattern_mismatch":
        return "invalid_sender", "sender must be 1-64 letters, digits or . _ : -"
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    return f"invalid_{field or 'request'}", f"{field}: {message}" if field else message


def create_app(settings: Optional[Settings] = None) -> FastAPI:
    """Build the gateway application for the given settings (default: from the environment)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.rasa = RasaClient(settings.rasa_base_url, settings.rasa_timeout)
        app.state.voice = VoiceInput.from_settings(settings)  # speech-to-text; models load on first use
        # every channel's messages go through the handoff routing, which passes them to Rasa unless a
        # person is handling the conversation
        conversations.rasa = app.state.rasa
        app.state.telegram = TelegramService(settings, conversations, tts,  # off without TELEGRAM_BOT_TOKEN
                                             voice=app.state.voice)
        conversations.register_channel("telegram", app.state.telegram.push)
        await app.state.telegram.start()
        places = asyncio.create_task(conversations.announce_places_forever())
        try:
            yield
        finally:
            places.cancel()
            await app.state.telegram.stop()
            await app.state.rasa.close()

    conversations = Conversations(None, TicketStore(database_url_in(settings.var_dir)), Hub(), HandoffConfig.from_env())

    # No /docs or /redoc: those pages load their scripts from a CDN. /openapi.json stays.
    app = FastAPI(title="govbot gateway", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  responses={400: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, error: RequestValidationError) -> JSONResponse:
        code, message = _describe_validation_error(error)
        return error_response(400, code, message)

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next):  # type: ignore[no-untyped-def]
        declared = request.headers.get("content-length")
        limit = settings.stt_max_audio_bytes + MULTIPART_OVERHEAD if request.url.path == VOICE_PATH else MAX_BODY_BYTES
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return error_response(413, "too_large" if request.url.path == VOICE_PATH else "body_too_large",
                                  f"the request body is larger than {limit} bytes")
        return await call_next(request)

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/health", response_model=HealthResponse)
    async def health(request: Request) -> HealthResponse:
        """The gateway is up; says whether Rasa is reachable with a model loaded."""
        rasa_up = await request.app.state.rasa.is_up()
        return HealthResponse(status="ok", version=__version__, rasa="up" if rasa_up else "down")

    @app.post("/api/chat", response_model=ChatResponse)
    async def chat(message: ChatRequest, request: Request) -> ChatResponse | JSONResponse:
        """Send the user's message to the bot and return its replies."""
        if len(message.text) > settings.max_message_chars:
            return error_response(400, "text_too_long",
                                  f"text is longer than {settings.max_message_chars} characters "
                                  f"({len(message.text)})")
        started = time.perf_counter()
        try:
            replies = await conversations.send(message.sender, message.text, {"channel": "web"})
        except RasaUnavailable as error:
            log.warning("rasa_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "rasa_unavailable", UNAVAILABLE_MESSAGE)
        log.info("chat", extra={"fields": {"chars": len(message.text), "replies": len(replies),
                                           "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return ChatResponse(sender=message.sender, messages=replies)

    tts = default_tts(settings.tts_cache_dir, use_gtts=settings.tts_gtts, gtts_timeout=settings.tts_gtts_timeout,
                      max_chars=settings.max_message_chars * 2)

    @app.post("/api/tts", response_class=Response,
              responses={200: {"content": {"audio/mpeg": {}, "audio/wav": {}}}})
    async def speak(speech: SpeechRequest) -> Response:
        """The text as audio: MP3 from gTTS when Google answers in time, else WAV from espeak-ng."""
        started = time.perf_counter()
        try:
            result = await run_in_threadpool(tts.speak, speech.text, speech.language, speech.slow)
        except SpeechError as error:
            return error_response(400, error.code, str(error))
        except EngineFailed as error:
            log.warning("tts_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "tts_unavailable", "speech is not available right now")
        log.info("tts", extra={"fields": {"engine": result.engine, "chars": len(speech.text), "bytes": len(result.audio),
                                          "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return Response(result.audio, media_type=result.media_type, headers={"X-TTS-Engine": result.engine})

    app.include_router(webhook_router())  # POST /telegram/webhook (webhook mode only)
    app.include_router(voice_router(UNAVAILABLE_MESSAGE, send=conversations.send))  # POST /api/voice
    app.include_router(handoff_router(Desk(conversations)))  # /agent, /api/agent/*, /api/events
    app.add_exception_handler(NotLoggedIn, not_logged_in)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def main() -> None:
    """Serve the gateway with uvicorn, configured from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    # rasa-sdk pins websockets 10.x, which has only the implementation uvicorn calls
    # "websockets" (its "auto" choice needs websockets 13 or newer).
    uvicorn.run(create_app(settings), host=settings.gateway_host, port=settings.gateway_port,
                ws="websockets", log_config=None, access_log=False,
                # live event streams (/api/events, /api/agent/events) never end by themselves; on shutdown
                # they are cut after this many seconds, and the pages reconnect to the next gateway
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)


if __name__ == "__main__":
    main()
