"""Refusing request bodies that are too large before they are read (413 in the error envelope)."""

from typing import Awaitable, Callable

from fastapi import Request, Response

from channels.common.errors import error_response
from channels.voice.routes import MULTIPART_OVERHEAD
from channels.voice.routes import PATH as VOICE_PATH

# A chat message is at most a few kilobytes; refuse larger bodies before parsing them.
MAX_BODY_BYTES = 64 * 1024

Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


def body_limit(max_audio_bytes: int) -> Middleware:
    """An HTTP middleware: a declared body over the limit gets 413 (voice: the audio limit plus the form)."""
    async def limit_body_size(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        declared = request.headers.get("content-length")
        voice = request.url.path == VOICE_PATH
        limit = max_audio_bytes + MULTIPART_OVERHEAD if voice else MAX_BODY_BYTES
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return error_response(413, "too_large" if voice else "body_too_large",
                                  f"the request body is larger than {limit} bytes")
        return await call_next(request)
    return limit_body_size
