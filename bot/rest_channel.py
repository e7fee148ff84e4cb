"""Rasa's REST input channel, closed to every caller that does not send govbot's Rasa token.

Rasa's `--auth-token` covers its HTTP API but not its input channels, so with the stock `rest:` channel any
program on the machine could post to `/webhooks/rest/webhook` as any sender (a Telegram user's, another web
visitor's) and go round the gateway's conversation identity. `TokenRestInput` is that same channel, at the same
path (its name is `rest`), answering `POST /webhooks/rest/webhook` only with the token as `?token=` (what the
gateway's Rasa client sends) or `Authorization: Bearer`, compared in constant time; anything else gets 401 and a
generic JSON body. Its health route `GET /webhooks/rest/` stays open, as RestInput's. Without a token (empty or
missing in credentials.yml) it refuses every message: it is never open by default.

credentials.yml names this class and takes the token from `${GOVBOT_RASA_TOKEN}`, which govbot.rasa_launcher
puts into the Rasa process's own environment after reading it from standard input. It runs inside .venv-rasa.
"""

import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

NOT_AUTHENTICATED = {"status": "failure", "reason": "NotAuthenticated", "message": "User is not authenticated.",
                     "code": 401}
BAD_REQUEST = {"status": "failure", "reason": "BadRequest",
               "message": "The body must be a JSON object with a sender and a message.", "code": 400}


def presented_token(request: Request) -> str:
    """The token a request carries: `?token=`, else an `Authorization: Bearer` header; empty when none."""
    query = request.args.get("token")
    if query:
        return str(query)
    scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def token_matches(presented: str, expected: str) -> bool:
    """True when a token was expected and the presented one equals it (compared in constant time)."""
    if not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


class TokenRestInput(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) that lets in only callers with the configured token."""

    def __init__(self, token: str = "") -> None:
        self._token = token

    @classmethod
    def name(cls) -> Text:
        """The stock channel's name, so the webhook stays at /webhooks/rest/webhook."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "TokenRestInput":
        """The channel with the token from credentials.yml (none there: a channel that refuses everything)."""
        token = (credentials or {}).get("token")
        return cls(token.strip() if isinstance(token, str) else "")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """RestInput's routes, with every request except the health check refused without the token."""
        routes: Blueprint = super().blueprint(on_new_message)

        @routes.middleware("request")
        async def require_token(request: Request) -> Optional[HTTPResponse]:
            if request.method in ("GET", "HEAD") and request.path.rstrip("/").endswith(f"/{self.name()}"):
                return None  # the health check
            if not token_matches(presented_token(request), self._token):
                return response.json(NOT_AUTHENTICATED, status=401, headers={"WWW-Authenticate": "Bearer"})
            try:
                body = request.json if request.body else None
            except InvalidUsage:  # not JSON: the same answer as any other malformed body, never the body itself
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("sender"), str) or \
                    not isinstance(body.get("message"), str):
                return response.json(BAD_REQUEST, status=400)
            return None

        return routes
