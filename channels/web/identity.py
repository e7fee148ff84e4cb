"""Web conversations' identities: a random sender id and a token that proves the caller was given it.

`POST /api/conversations` issues `sender = "web:" + 144 random bits` and a token `<id>.<mac>`, where `<id>` is
the sender without its "web:" prefix and `<mac>` is HMAC-SHA256(conversation secret, sender) in URL-safe
base64. The gateway keeps no table of conversations: any gateway with the same secret checks any token, and
the token alone says which conversation it opens (so a forged token is told apart from another conversation's).
`/api/chat`, `/api/voice` and `/api/events` read the token from `Authorization: Bearer`, else (events only:
EventSource cannot send headers) `?token=`, else the HttpOnly cookie; the request's sender must be the one
the token was issued for, and always a "web:" one (web clients cannot speak for Telegram users).
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from channels.common.errors import error_response

PREFIX = "web:"
COOKIE = "govbot_conversation"
COOKIE_PATH = "/api"
COOKIE_SECONDS = 30 * 24 * 3600
RANDOM_BYTES = 18  # 144 bits; token_urlsafe(18) is 24 characters, so "web:" + it fits the 64-character sender
_MAC_CONTEXT = b"govbot web conversation v1\0"  # the key signs nothing else with this prefix
_PROCESS_KEY = secrets.token_bytes(32)  # without a configured secret: valid until this process ends
_ID = re.compile(r"[A-Za-z0-9_-]{1,60}")
_MAC = re.compile(r"[A-Za-z0-9_-]{43}")


class IssuedConversation(BaseModel):
    """A new web conversation: the sender id to use and the token that proves it is the caller's."""

    sender: str = Field(description='"web:" and at least 128 random bits; the `sender` of /api/chat, /api/voice '
                                    "and /api/events")
    token: str = Field(description="Send it as `Authorization: Bearer <token>` (the HttpOnly cookie "
                                   f"{COOKIE} carries it too; /api/events also takes ?token=); keep it secret")


class ConversationRefused(Exception):
    """The request may not use the conversation it names (401: no valid token; 403: not its conversation)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def conversation_refused(_request: Request, error: Exception) -> JSONResponse:
    """The app's handler of ConversationRefused: the refusal in the error envelope (401s ask for a Bearer token)."""
    assert isinstance(error, ConversationRefused)
    response = error_response(error.status, error.code, error.message)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="govbot"'
    return response


@dataclass(frozen=True)
class WebCaller:
    """A request whose token proved it holds the conversation `sender`."""

    sender: str

    def require(self, sender: str) -> None:
        """Refuse (403) unless `sender` is this caller's own web conversation."""
        if not sender.startswith(PREFIX):
            raise ConversationRefused(403, "wrong_conversation",
                                      f'web clients may only use their own "{PREFIX}" conversation')
        if sender != self.sender:  # sender ids are not secret: a plain comparison
            raise ConversationRefused(403, "wrong_conversation", "this token was issued for another conversation")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header (None without the header; "", which opens nothing, for
    another scheme or an empty token)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


class ConversationIdentity:
    """Issues web conversations and checks their tokens with one key (the conversation secret)."""

    def __init__(self, secret: str, secure_cookie: bool = False) -> None:
        self._key = secret.encode("utf-8") if secret else _PROCESS_KEY
        self.secure_cookie = secure_cookie

    def _mac(self, sender: str) -> str:
        return _b64(hmac.new(self._key, _MAC_CONTEXT + sender.encode("utf-8"), hashlib.sha256).digest())

    def token_for(self, sender: str) -> str:
        """The token of a web sender ("web:<id>")."""
        if not sender.startswith(PREFIX) or not _ID.fullmatch(sender[len(PREFIX):]):
            raise ValueError("tokens are only issued for web conversations")
        return f"{sender[len(PREFIX):]}.{self._mac(sender)}"

    def issue(self) -> IssuedConversation:
        """A new conversation: a random web sender and its token."""
        sender = PREFIX + secrets.token_urlsafe(RANDOM_BYTES)
        return IssuedConversation(sender=sender, token=self.token_for(sender))

    def owner_of(self, token: str) -> str | None:
        """The sender a token was issued for, or None when this key did not issue it."""
        ident, _, mac = token.rpartition(".")
        if not _ID.fullmatch(ident) or not _MAC.fullmatch(mac):
            return None
        sender = PREFIX + ident
        return sender if hmac.compare_digest(mac.encode("ascii"), self._mac(sender).encode("ascii")) else None

    def set_cookie(self, response: Response, token: str) -> None:
        """Let the browser carry the token itself (HttpOnly, SameSite=Strict, only to /api; Secure behind TLS)."""
        response.set_cookie(COOKIE, token, max_age=COOKIE_SECONDS, path=COOKIE_PATH, httponly=True,
                            samesite="strict", secure=self.secure_cookie)

    def caller(self, allow_query: bool = False) -> Callable[[Request], Awaitable[WebCaller]]:
        """A dependency: the conversation the request's token opens (a Bearer header, else ?token= when
        `allow_query`, else the cookie: what the caller sends explicitly wins over what the browser adds);
        ConversationRefused 401 without a token or with one this key did not issue."""
        async def web_caller(request: Request) -> WebCaller:
            token = bearer_token(request)
            if token is None and allow_query:
                token = request.query_params.get("token")
            if token is None:
                token = request.cookies.get(COOKIE)
            if token is None:
                raise ConversationRefused(401, "missing_token", "start a conversation with POST /api/conversations "
                                                                "and send its token")
            owner = self.owner_of(token)
            if owner is None:
                raise ConversationRefused(401, "bad_token", "the conversation token is not valid; start a new "
                                                            "conversation with POST /api/conversations")
            return WebCaller(owner)
        return web_caller


__all__ = ["COOKIE", "PREFIX", "ConversationIdentity", "ConversationRefused", "IssuedConversation", "WebCaller",
           "conversation_refused"]
