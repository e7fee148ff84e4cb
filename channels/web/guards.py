"""The gateway's guards, as plain ASGI middlewares around every route: rate limits, live-stream and voice caps,
security headers; and the uvicorn protocol that closes connections whose request headers never complete.

What each guard answers when it refuses is in the one error envelope (429 with Retry-After); the limits come from
the settings (GOVBOT_RATE_*, GOVBOT_MAX_STREAMS*, GOVBOT_VOICE_QUEUE, GOVBOT_HEADER_TIMEOUT; docs/web.md, "Limits").
A caller is its socket's address (an IPv6 address counts by its /64 network, what one household or server gets).
"""

import asyncio
import hashlib
import ipaddress
import logging
import re
import resource
from typing import Any, Awaitable, Callable, MutableMapping, Optional

from fastapi import Request
from fastapi.responses import JSONResponse
from uvicorn.protocols.http.h11_impl import H11Protocol

from channels.common.errors import error_response
from channels.voice.routes import PATH as VOICE_PATH
from channels.web.body_limit import BodyLimit
from channels.web.limits import ConcurrencyLimiter, RateLimiter, SerialLine, admit, retry_after_header
from core import texts
from core.settings import Settings

log = logging.getLogger("govbot.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MINUTE, HOUR = 60.0, 3600.0
CONVERSATION_COOKIE = "govbot_conversation"  # channels/web/identity.py sets it
STREAM_PATHS = frozenset({"/api/events", "/api/agent/events"})
STREAM_RETRY_SECONDS = 30  # a stream refused for being one too many: try again once another has closed
VOICE_RETRY_SECONDS = 5
TTS_PATH = "/api/tts"


CONSOLE_APIS = ("/api/agent/", "/api/dept/", "/api/supervisor/", "/api/dispatch/")
LOGIN_PATHS = frozenset({"/api/agent/login", "/api/dept/login"})


def is_console(path: str) -> bool:
    """The staff consoles (agent, department, dispatcher) and their APIs: never framed, whatever
    GOVBOT_FRAME_ANCESTORS allows the chat page."""
    return path in ("/agent", "/dept", "/dispatch") or path.startswith(CONSOLE_APIS)


def is_private(path: str) -> bool:
    """Responses that must not be cached: staff's data (transcripts, tickets, work orders) and new conversations'
    tokens."""
    return path.startswith(CONSOLE_APIS) or path == "/api/conversations"


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _answer(response: JSONResponse, scope: Scope, send: Send) -> None:
    await response(scope, _no_body, send)


def client_key(scope: Scope) -> str:
    """Who is calling: the socket peer's address, an IPv6 one by its /64 network ("unknown" without a peer)."""
    client = scope.get("client")
    host = str(client[0]) if client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def conversation_token(scope: Scope) -> Optional[str]:
    """The web conversation's token the request carries, read as the routes read it (channels/web/identity.py):
    `Authorization: Bearer`, else the cookie; None without one."""
    request = Request(scope)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        return (value.strip() or None) if scheme.lower() == "bearer" else None
    return request.cookies.get(CONVERSATION_COOKIE) or None


def conversation_key(token: str) -> str:
    """A token's rate-limit key: a hash, so the limiter's memory holds no usable token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def too_many(code: str, message: str, retry: str) -> JSONResponse:
    """429 in the envelope, with Retry-After."""
    response = error_response(429, code, message)
    response.headers["Retry-After"] = retry
    return response


class RateLimits:
    """Requests per client address and per conversation (GOVBOT_RATE_*): over a limit is 429 with Retry-After.

    POST /api/chat, /api/voice and /api/tts share the client's allowance; chat and voice also count against the
    conversation's, speech against the client's speech allowance. New conversations count per hour, console log-ins
    (/agent's and /dept's together) per minute, per client address.
    """

    def __init__(self, app: App, settings: Settings, clock: Optional[Callable[[], float]] = None) -> None:
        self.app = app
        timing: dict[str, Any] = {"clock": clock} if clock is not None else {}
        self.client = RateLimiter(settings.rate_per_client, MINUTE, **timing)
        self.conversation = RateLimiter(settings.rate_per_conversation, MINUTE, **timing)
        self.speech = RateLimiter(settings.rate_tts, MINUTE, **timing)
        self.new_conversations = RateLimiter(settings.rate_new_conversations, HOUR, **timing)
        self.login = RateLimiter(settings.rate_login, MINUTE, **timing)

    def checks(self, scope: Scope) -> list[tuple[RateLimiter, str]]:
        """The (limiter, key) pairs one request counts against (none for what is not limited)."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return []
        path, client = scope["path"], client_key(scope)
        if path in ("/api/chat", VOICE_PATH):
            token = conversation_token(scope)
            return [(self.client, client)] + ([(self.conversation, conversation_key(token))] if token else [])
        if path == TTS_PATH:
            return [(self.client, client), (self.speech, client)]
        if path == "/api/conversations":
            return [(self.new_conversations, client)]
        if path in LOGIN_PATHS:
            return [(self.login, client)]
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checks = self.checks(scope)
        wait = admit(checks) if checks else 0.0
        if wait > 0.0:
            retry = retry_after_header(wait)
            log.info("rate_limited", extra={"fields": {"path": scope["path"], "retry_after": int(retry)}})
            await _answer(too_many("rate_limited", texts.both("limits.too_many_requests", seconds=retry), retry),
                          scope, send)
            return
        await self.app(scope, receive, send)


class StreamLimits:
    """Live event streams (GET /api/events, /api/agent/events) open at once: GOVBOT_MAX_STREAMS_PER_CLIENT per
    client address and GOVBOT_MAX_STREAMS in all; one more is 429. A stream counts until its response ends."""

    def __init__(self, app: App, per_client: int, total: int) -> None:
        self.app = app
        self.streams = ConcurrencyLimiter(per_client, total)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in STREAM_PATHS:
            await self.app(scope, receive, send)
            return
        key = client_key(scope)
        if not self.streams.acquire(key):
            log.info("stream_refused", extra={"fields": {"path": scope["path"], "open": self.streams.in_use}})
            await _answer(too_many("too_many_streams", texts.both("limits.too_many_streams"),
                                   str(STREAM_RETRY_SECONDS)), scope, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.streams.release(key)


class SerialRoute:
    """POST requests to one path (speech recognition, speech synthesis) one at a time per client address (the next
    waits its turn), and at most 1 + `waiting` in the gateway at once (the engine runs one at a time): more is 429
    with `code` and the text `busy_text`."""

    def __init__(self, app: App, path: str, waiting: int, code: str, busy_text: str) -> None:
        self.app, self.path, self.code, self.busy_text = app, path, code, busy_text
        self.line = SerialLine(1 + waiting)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        async with self.line.turn(client_key(scope)) as admitted:
            if admitted:
                await self.app(scope, receive, send)
                return
        log.info(self.code, extra={"fields": {"admitted": self.line.admitted}})
        await _answer(too_many(self.code, texts.both(self.busy_text), str(VOICE_RETRY_SECONDS)), scope, send)


# --- security headers ------------------------------------------------------------------------------------------

_SOURCE = re.compile(r"^(?:'self'|https?://(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?)$")


def frame_sources(frame_ancestors: str) -> str:
    """GOVBOT_FRAME_ANCESTORS as a CSP source list ("'none'" when empty); ValueError for anything but origins
    (https://host[:port], https://*.host, 'self'), so nothing else can slip into the policy."""
    sources = frame_ancestors.split()
    bad = [source for source in sources if not _SOURCE.match(source)]
    if bad:
        raise ValueError(f"GOVBOT_FRAME_ANCESTORS must list origins such as https://www.example.gov.cn, got {bad[0]!r}")
    return " ".join(sources) or "'none'"


def content_security_policy(frame_ancestors: str) -> str:
    """The pages' policy: everything from the gateway itself, no inline code; audio from blobs (speech), the
    favicon as data:; framed only by the given origins."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "media-src 'self' blob: data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
            f"base-uri 'none'; form-action 'self'; frame-ancestors {frame_sources(frame_ancestors)}")


class SecurityHeaders:
    """Adds the security headers to every response: CSP, nosniff, no referrer, framing, permissions, HSTS behind
    TLS; and `Cache-Control: no-store` on the agent API and new conversations (they carry personal data or a
    token)."""

    def __init__(self, app: App, frame_ancestors: str = "", behind_tls: bool = False) -> None:
        self.app = app
        common = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                  (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)")]
        if behind_tls:
            common.append((b"strict-transport-security", b"max-age=31536000"))
        page_policy = content_security_policy(frame_ancestors).encode()
        self.page = common + [(b"content-security-policy", page_policy)]
        if not frame_ancestors.split():
            self.page.append((b"x-frame-options", b"DENY"))
        self.console = common + [(b"content-security-policy", content_security_policy("").encode()),
                                 (b"x-frame-options", b"DENY")]

    def headers_for(self, path: str) -> list[tuple[bytes, bytes]]:
        """The headers a response to `path` gets."""
        added = list(self.console if is_console(path) else self.page)
        if is_private(path):
            added.append((b"cache-control", b"no-store"))
        return added

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self.headers_for(scope["path"])
        names = {name for name, _ in added}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(name, value) for name, value in message.get("headers", ()) if name.lower() not in names]
                message["headers"] = kept + added
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_guards(app: Any, settings: Settings) -> None:
    """Add the guards to a FastAPI app, outermost first: headers, rate limits, body limits, streams, voice
    (ValueError at once for a GOVBOT_FRAME_ANCESTORS that is not a list of origins)."""
    frame_sources(settings.frame_ancestors)  # the app builds its middleware on first use: check the setting now
    # Starlette runs the middleware added last first
    app.add_middleware(SerialRoute, path=VOICE_PATH, waiting=settings.voice_queue, code="voice_busy",
                       busy_text="limits.voice_busy")
    app.add_middleware(SerialRoute, path=TTS_PATH, waiting=settings.tts_queue, code="speech_busy",
                       busy_text="limits.speech_busy")
    app.add_middleware(StreamLimits, per_client=settings.max_streams_per_client, total=settings.max_streams)
    app.add_middleware(BodyLimit, max_audio_bytes=settings.stt_max_audio_bytes, timeout=settings.body_timeout)
    app.add_middleware(RateLimits, settings=settings)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors, behind_tls=settings.behind_tls)


# --- slow request heads (slowloris) ----------------------------------------------------------------------------

_TIMEOUT_TEXT = b"the request's headers took too long\n"
_REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT))


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for request heads (uvicorn itself waits forever for a request line
    and headers that arrive byte by byte): a connection gets `header_timeout` seconds from when it opens, or from
    the first byte of a later request on it, to complete the head; else it is closed (with a 408 when part of a
    head had arrived). Idle kept-alive connections stay uvicorn's keep-alive timeout's business."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: Optional[asyncio.TimerHandle] = None

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _head_waiting(self) -> bool:
        """Part of a request head is here, not yet complete."""
        return self._between_requests() and bool(self.conn.trailing_data[0])

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._between_requests() and not self.transport.is_closing():
            if self._head_waiting():
                self.transport.write(_REQUEST_TIMEOUT)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Start the clock at a later request's first byte; stop it once the head is complete (or the connection
        became a WebSocket)."""
        if self._between_requests():
            self._arm()
        super().data_received(data)
        if not self._between_requests() or self.transport.get_protocol() is not self:
            self._disarm()

    def on_response_complete(self) -> None:
        """The next head's clock starts with its first byte (unless part of it is here already)."""
        super().on_response_complete()
        if self._head_waiting() and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        """No clock for a closed connection."""
        self._disarm()
        super().connection_lost(exc)


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for uvicorn's `http=` with this head timeout."""
    if seconds <= 0:
        raise ValueError("the header timeout must be positive")
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": float(seconds)})


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards `wanted` (never past the hard limit, never down),
    so the connection cap is reached before the file table is full; the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            log.warning("open_files_limit", extra={"fields": {"soft": soft, "wanted": wanted}})
    return soft


__all__ = ["HeaderTimeoutProtocol", "RateLimits", "SecurityHeaders", "SerialRoute", "StreamLimits", "client_key",
           "content_security_policy", "conversation_token", "frame_sources", "header_timeout_protocol",
           "install_guards", "raise_open_files_limit"]
