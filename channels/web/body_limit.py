"""Request bodies: too large (413) or too slow (408), counted as they arrive, in the error envelope.

A plain ASGI middleware: a declared Content-Length over the limit is refused before anything is read; otherwise
the bytes the route actually receives are counted (a chunked body declares no length), and once they pass the
limit, or the client pauses longer than the body timeout between two pieces, the gateway answers at once, closes
the connection and the route sees the client gone. The limit is 64 KiB, and for voice uploads the audio limit
plus the form around it.
"""

import asyncio
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from channels.common.errors import error_response
from channels.voice.routes import MULTIPART_OVERHEAD
from channels.voice.routes import PATH as VOICE_PATH

# A chat message is at most a few kilobytes; refuse larger bodies before parsing them.
MAX_BODY_BYTES = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_GONE: Message = {"type": "http.disconnect"}


def body_limit_for(path: str, max_audio_bytes: int) -> tuple[int, str]:
    """The body limit of a path and the error code past it: voice takes the audio limit plus the form."""
    if path == VOICE_PATH:
        return max_audio_bytes + MULTIPART_OVERHEAD, "too_large"
    return MAX_BODY_BYTES, "body_too_large"


def _declared_length(scope: Scope) -> Optional[str]:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return bytes(value).decode("latin-1").strip()
    return None


class BodyLimit:
    """Refuses request bodies over the path's limit (413) and bodies that stall (408, `timeout` seconds between
    two pieces; None: no timeout)."""

    def __init__(self, app: App, max_audio_bytes: int, timeout: Optional[float] = None) -> None:
        self.app, self.max_audio_bytes, self.timeout = app, max_audio_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, code = body_limit_for(scope["path"], self.max_audio_bytes)
        declared = _declared_length(scope)
        if declared is not None and not (declared.isascii() and declared.isdigit() and int(declared) <= limit):
            await _refuse(scope, send, 413, code, f"the request body is larger than {limit} bytes")
            return
        await self.app(scope, *_CountedBody(scope, receive, send, limit, code, self.timeout).channels())


class _CountedBody:
    """One request's receive and send, counting the body's bytes and timing its pieces."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int, code: str,
                 timeout: Optional[float]) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.limit, self.code, self.timeout = limit, code, timeout
        self.received = 0
        self.complete = False  # the whole body has arrived: later receives only wait for a disconnect
        self.refused = False  # this guard answered: the route's own answer goes nowhere
        self.started = False  # the route started its answer

    def channels(self) -> tuple[Receive, Send]:
        return self.receive, self.send

    async def receive(self) -> Message:
        if self.refused:
            return _GONE
        if self.complete or self.timeout is None:
            message = await self._receive()
        else:
            try:
                message = await asyncio.wait_for(self._receive(), self.timeout)
            except asyncio.TimeoutError:
                await self._refuse(408, "body_timeout", f"the request body stalled for more than {self.timeout:g} s")
                return _GONE
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                await self._refuse(413, self.code, f"the request body is larger than {self.limit} bytes")
                return _GONE
            if not message.get("more_body", False):
                self.complete = True
        return message

    async def send(self, message: Message) -> None:
        if self.refused:
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)

    async def _refuse(self, status: int, code: str, message: str) -> None:
        self.refused = True
        if not self.started:  # else the route's answer is cut short, and the server closes the connection
            await _refuse(self.scope, self._send, status, code, message)


async def _refuse(scope: Scope, send: Send, status: int, code: str, message: str) -> None:
    """Answer with the error and close the connection (the rest of the body is never read)."""
    response = error_response(status, code, message)
    response.headers["Connection"] = "close"

    async def nothing() -> Message:
        return _GONE

    await response(scope, nothing, send)


__all__ = ["MAX_BODY_BYTES", "BodyLimit", "body_limit_for"]
