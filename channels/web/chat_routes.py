"""The web chat: its page, new conversations, the chat API (through the conversation), text to speech, and the
health check."""

import logging
import time
from pathlib import Path
from typing import Awaitable, Callable, Optional

from anyio import to_thread
from fastapi import APIRouter, Depends, Header
from fastapi.responses import FileResponse, JSONResponse, Response

from channels.common.conversation import Conversation
from channels.common.errors import error_response, error_responses
from channels.common.models import ChatRequest, ChatResponse, HealthResponse, SpeechRequest
from channels.common.rasa_client import RasaUnavailable, new_request_id, valid_request_id
from channels.voice.tts import EngineFailed, SpeechError, TextToSpeech
from channels.web.identity import ConversationIdentity, IssuedConversation, WebCaller
from core import __version__, texts

log = logging.getLogger("govbot.gateway")

STATIC_DIR = Path(__file__).resolve().parent / "static"
UNAVAILABLE_MESSAGE = texts.both("unavailable")
REQUEST_ID_HEADER = "X-Request-Id"
REQUEST_ID_DESCRIPTION = ("the message's id, 1-64 of A-Z a-z 0-9 . _ : - (other values are ignored): a message sent "
                          "again with the same id is answered with the first answer, not handled twice; without "
                          "one the gateway makes one. The response carries the id used.")


def request_id_from(header: Optional[str]) -> str:
    """The request id of a message: the X-Request-Id header's when it is valid, else a new one."""
    return valid_request_id(header) or new_request_id()


def chat_router(conversation: Conversation, tts: TextToSpeech, rasa_state: Callable[[], Awaitable[str]],
                max_message_chars: int, identity: ConversationIdentity) -> APIRouter:
    """GET / (the chat page), GET /health, POST /api/conversations, POST /api/chat and POST /api/tts."""
    router = APIRouter()
    web_caller = Depends(identity.caller())

    @router.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @router.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """The gateway is up; says whether the Rasa servers answer with a model loaded: up (all), degraded (some:
        messages are still answered), down (none)."""
        return HealthResponse(status="ok", version=__version__, rasa=await rasa_state())

    @router.post("/api/conversations", status_code=201, response_model=IssuedConversation)
    async def new_conversation(response: Response) -> IssuedConversation:
        """Start a web conversation: its sender id and its token (also set as an HttpOnly cookie). No body."""
        issued = identity.issue()
        identity.set_cookie(response, issued.token)
        response.headers["Cache-Control"] = "no-store"
        log.info("conversation_started", extra={"fields": {"channel": "web"}})
        return issued

    @router.post("/api/chat", response_model=ChatResponse, responses=error_responses(400, 401, 403, 503))
    async def chat(message: ChatRequest, response: Response, caller: WebCaller = web_caller,
                   x_request_id: Optional[str] = Header(default=None, description=REQUEST_ID_DESCRIPTION)
                   ) -> ChatResponse | JSONResponse:
        """Send the user's message into the conversation (the bot, or the agent on an open ticket); the replies.
        Needs the conversation's token (401 without a valid one, 403 for another conversation). A retry of the same
        message should carry the same X-Request-Id."""
        caller.require(message.sender)
        if len(message.text) > max_message_chars:
            return error_response(400, "text_too_long",
                                  f"text is longer than {max_message_chars} characters ({len(message.text)})")
        request_id = request_id_from(x_request_id)
        started = time.perf_counter()
        try:
            replies = await conversation.send(message.sender, message.text,
                                              {"channel": "web", "request_id": request_id})
        except RasaUnavailable as error:
            log.warning("rasa_unavailable", extra={"fields": {"reason": str(error), "request_id": request_id}})
            failed = error_response(503, "rasa_unavailable", UNAVAILABLE_MESSAGE)
            failed.headers[REQUEST_ID_HEADER] = request_id
            return failed
        log.info("chat", extra={"fields": {"chars": len(message.text), "replies": len(replies),
                                           "ms": round((time.perf_counter() - started) * 1000, 1),
                                           "request_id": request_id}})
        response.headers[REQUEST_ID_HEADER] = request_id
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
