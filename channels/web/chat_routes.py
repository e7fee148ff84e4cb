"""The web chat: its page, new conversations, the chat API (through the conversation), text to speech, and the
health check."""

import logging
import time
from pathlib import Path
from typing import Awaitable, Callable

from anyio import to_thread
from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, JSONResponse, Response

from channels.common.conversation import Conversation
from channels.common.errors import error_response, error_responses
from channels.common.models import ChatRequest, ChatResponse, HealthResponse, SpeechRequest
from channels.common.rasa_client import RasaUnavailable
from channels.voice.tts import EngineFailed, SpeechError, TextToSpeech
from channels.web.identity import ConversationIdentity, IssuedConversation, WebCaller
from core import __version__, texts

log = logging.getLogger("govbot.gateway")

STATIC_DIR = Path(__file__).resolve().parent / "static"
UNAVAILABLE_MESSAGE = texts.both("unavailable")


def chat_router(conversation: Conversation, tts: TextToSpeech, rasa_up: Callable[[], Awaitable[bool]],
                max_message_chars: int, identity: ConversationIdentity) -> APIRouter:
    """GET / (the chat page), GET /health, POST /api/conversations, POST /api/chat and POST /api/tts."""
    router = APIRouter()
    web_caller = Depends(identity.caller())

    @router.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @router.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """The gateway is up; says whether Rasa is reachable with a model loaded."""
        return HealthResponse(status="ok", version=__version__, rasa="up" if await rasa_up() else "down")

    @router.post("/api/conversations", status_code=201, response_model=IssuedConversation)
    async def new_conversation(response: Response) -> IssuedConversation:
        """Start a web conversation: its sender id and its token (also set as an HttpOnly cookie). No body."""
        issued = identity.issue()
        identity.set_cookie(response, issued.token)
        response.headers["Cache-Control"] = "no-store"
        log.info("conversation_started", extra={"fields": {"channel": "web"}})
        return issued

    @router.post("/api/chat", response_model=ChatResponse, responses=error_responses(400, 401, 403, 503))
    async def chat(message: ChatRequest, caller: WebCaller = web_caller) -> ChatResponse | JSONResponse:
        """Send the user's message into the conversation (the bot, or the agent on an open ticket); the replies.
        Needs the conversation's token (401 without a valid one, 403 for another conversation)."""
        caller.require(message.sender)
        if len(message.text) > max_message_chars:
            return error_response(400, "text_too_long",
                                  f"text is longer than {max_message_chars} characters ({len(message.text)})")
        started = time.perf_counter()
        try:
            replies = await conversation.send(message.sender, message.text, {"channel": "web"})
        except RasaUnavailable as error:
            log.warning("rasa_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "rasa_unavailable", UNAVAILABLE_MESSAGE)
        log.info("chat", extra={"fields": {"chars": len(message.text), "replies": len(replies),
                                           "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return ChatResponse(sender=message.sender, messages=replies)

    @router.post("/api/tts", response_class=Response,
                 responses={200: {"content": {"audio/mpeg": {}, "audio/wav": {}}}, **error_responses(400, 503)})
    async def speak(speech: SpeechRequest) -> Response:
        """The text as audio (WAV from Kokoro or espeak-ng, MP3 from gTTS when configured), whole or one piece."""
        started = time.perf_counter()
        try:
            result = await to_thread.run_sync(tts.speak, speech.text, speech.language, speech.slow, speech.piece)
        except SpeechError as error:
            return error_response(400, error.code, str(error))
        except EngineFailed as error:
            log.warning("tts_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "tts_unavailable", "speech is not available right now")
        log.info("tts", extra={"fields": {"engine": result.engine, "chars": len(speech.text),
                                          "bytes": len(result.audio),
                                          "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return Response(result.audio, media_type=result.media_type,
                        headers={"X-TTS-Engine": result.engine, "X-Speech-Pieces": str(result.pieces)})

    return router
