"""POST /api/voice: a spoken message (multipart audio) → transcript → Rasa's answer, or a "did you mean" question."""

import logging
import re
import time
from typing import Any, Awaitable, Callable, Optional, Protocol

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from pydantic import BaseModel, Field

from channels.common.conversation import Conversation
from channels.common.errors import error_response, error_responses
from channels.common.models import SENDER_PATTERN
from channels.common.rasa_client import RasaUnavailable, new_request_id, valid_request_id
from channels.voice.audio import AudioError, DecoderUnavailable
from channels.voice.service import VoiceInput, not_set_up
from channels.voice.stt import AUTO, LANGUAGES, EngineNotConfigured, RecognitionFailed
from core.messages import BotMessage

log = logging.getLogger("govbot.gateway")

PATH = "/api/voice"
MULTIPART_OVERHEAD = 64 * 1024  # the form's other fields and boundaries, on top of the audio itself
_SENDER = re.compile(SENDER_PATTERN)


class Caller(Protocol):
    """Who is speaking, as the web channel's identity proved it (channels/web/identity.py)."""

    def require(self, sender: str) -> None:
        """Raise (the app answers 403) unless the caller may speak in the conversation `sender`."""


class TranscriptOut(BaseModel):
    """What the server heard."""

    text: str
    language: str
    confidence: float = Field(description="0..1; below GOVBOT_STT_MIN_CONFIDENCE the bot asks before acting")
    engine: str
    seconds: float = Field(description="length of the audio in seconds")


class VoiceResponse(BaseModel):
    """The transcript and the bot's replies (the same messages as /api/chat), or a confirmation question."""

    sender: str
    transcript: TranscriptOut
    confirm: bool = Field(description="true: nothing was sent to the bot; the one message asks “Did you mean …?” "
                                      "and its yes button's payload is the transcript, to send to /api/chat")
    messages: list[BotMessage]


def _not_set_up(language: str) -> Any:
    """501 with the honest "voice input in … is not set up" reply (Chinese first when the language is unknown)."""
    reply = not_set_up(language if language in LANGUAGES else "zh")
    return error_response(501, "stt_not_configured", reply.message,
                          speech={"text": reply.speech, "language": reply.speech_language})


def voice_router(voice_input: VoiceInput, conversation: Conversation, unavailable_message: str,
                 caller: Callable[[Request], Awaitable[Caller]]) -> APIRouter:
    """The voice endpoint: `voice_input` recognises the speech, and what it heard goes into `conversation`
    (the gateway's message routing, like /api/chat); `caller` is the dependency that proves who is speaking
    (it refuses requests without a valid conversation token)."""
    router = APIRouter()
    speaking = Depends(caller)

    @router.post(PATH, response_model=VoiceResponse, responses=error_responses(400, 401, 403, 413, 422, 501, 503))
    async def voice(audio: UploadFile = File(description="the recording: WebM/Opus, OGG/Opus, WAV or MP3"),
                    sender: str = Form(description="the conversation id, as in /api/chat"),
                    language: Optional[str] = Form(default=AUTO, description='"zh", "en", or "auto" (the default): '
                                                   'detected from the speech'),
                    speaker: Caller = speaking,
                    x_request_id: Optional[str] = Header(default=None, description="the message's id, as for "
                                                         "/api/chat (other values than 1-64 of A-Z a-z 0-9 . _ : - "
                                                         "are ignored)")) -> Any:
        """Recognise a spoken message and answer it like /api/chat (metadata {"channel": "web", "input": "voice"}).
        Needs the conversation's token, as /api/chat does; X-Request-Id as /api/chat."""
        if not _SENDER.match(sender):
            return error_response(400, "invalid_sender", "sender must be 1-64 letters, digits or . _ : -")
        speaker.require(sender)
        language = (language or AUTO).strip().lower() or AUTO
        if language not in LANGUAGES and language != AUTO:
            return error_response(400, "unknown_language",
                                  f"language must be one of {', '.join(LANGUAGES)} or {AUTO}, got {language!r}")
        if not voice_input.supports(language):  # say so before the user's audio is even read
            return _not_set_up(language)
        limit = voice_input.limits.max_bytes
        data = await audio.read(limit + 1)
        started = time.perf_counter()
        try:
            transcript = await voice_input.handle(data, language)
        except AudioError as error:
            return error_response(error.status, error.code, str(error))
        except EngineNotConfigured as error:  # (its model turned out unusable; detection names the language)
            return _not_set_up(error.language)
        except (DecoderUnavailable, RecognitionFailed) as error:
            log.error("stt_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "stt_unavailable", "speech recognition is not available right now; please type")
        heard = TranscriptOut.model_validate(transcript.as_dict())
        if voice_input.needs_confirmation(transcript):
            log.info("voice", extra={"fields": {"confirm": True, "confidence": heard.confidence}})
            return VoiceResponse(sender=sender, transcript=heard, confirm=True,
                                 messages=[voice_input.confirmation(transcript)])
        try:
            replies = await conversation.send(sender, transcript.text, {
                "channel": "web", "input": "voice", "request_id": valid_request_id(x_request_id) or new_request_id()})
        except RasaUnavailable as error:
            log.warning("rasa_unavailable", extra={"fields": {"reason": str(error)}})
            return error_response(503, "rasa_unavailable", unavailable_message)
        log.info("voice", extra={"fields": {"confirm": False, "confidence": heard.confidence, "replies": len(replies),
                                            "ms": round((time.perf_counter() - started) * 1000, 1)}})
        return VoiceResponse(sender=sender, transcript=heard, confirm=False, messages=replies)

    return router


__all__ = ["MULTIPART_OVERHEAD", "PATH", "Caller", "TranscriptOut", "VoiceResponse", "voice_router"]
