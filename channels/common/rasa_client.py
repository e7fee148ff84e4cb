"""Talking to the Rasa server over HTTP (its REST channel and status API), with Rasa's API token on every call.

Every user message carries a request id in its metadata (`request_id`): the channel's (a web request's
X-Request-Id, a Telegram message's id) or a new one. Rasa handles a message at most once per id
(bot/rasa_patches.py), so sending it again, to the same or another Rasa server, gets the first answer back.
"""

import logging
import re
import uuid
from typing import Any, Optional

import httpx

from core.messages import BotMessage, Button

log = logging.getLogger("govbot.rasa_client")

REQUEST_ID_KEY = "request_id"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # the same as bot.rasa_patches.REQUEST_ID


def valid_request_id(value: object) -> Optional[str]:
    """The value when it is a usable request id (1-64 of A-Z a-z 0-9 . _ : -), else None."""
    return value if isinstance(value, str) and REQUEST_ID_PATTERN.fullmatch(value) else None


def new_request_id() -> str:
    """A fresh request id (32 hex digits)."""
    return uuid.uuid4().hex


def with_request_id(metadata: Optional[dict[str, Any]], request_id: Optional[str] = None) -> dict[str, Any]:
    """A copy of the metadata with a valid request id: `request_id`, else the one it has, else a new one."""
    chosen = valid_request_id(request_id) or valid_request_id((metadata or {}).get(REQUEST_ID_KEY))
    return {**(metadata or {}), REQUEST_ID_KEY: chosen or new_request_id()}


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached or did not answer properly in time."""


class RasaUnreachable(RasaUnavailable):
    """The Rasa server is not serving: it refused or dropped the connection, or answered HTTP 5xx. Another server
    may take the call. `request_sent` is False when the request surely never reached it (the connection did not
    open), so even a call that is not idempotent may be made elsewhere."""

    def __init__(self, message: str, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


def transport_failure(error: httpx.HTTPError, base_url: str) -> RasaUnavailable:
    """What a failed HTTP exchange with Rasa means: a timeout while Rasa may still be working (RasaUnavailable, not to
    be retried elsewhere), or a server that is not serving (RasaUnreachable)."""
    name = type(error).__name__
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout)):
        return RasaUnreachable(f"Rasa is not reachable at {base_url} ({name})", request_sent=False)
    if isinstance(error, httpx.TimeoutException):
        return RasaUnavailable(f"Rasa did not answer in time ({name})")
    if isinstance(error, (httpx.NetworkError, httpx.RemoteProtocolError)):  # reset, or closed without an answer
        return RasaUnreachable(f"Rasa at {base_url} dropped the connection ({name})", request_sent=True)
    return RasaUnavailable(f"Rasa is not reachable at {base_url} ({name})")


def status_failure(status: int, what: str) -> RasaUnavailable:
    """What an HTTP status other than 200 from Rasa means (5xx: the server is not serving)."""
    if status >= 500:
        return RasaUnreachable(f"Rasa answered HTTP {status}{what}", request_sent=True)
    return RasaUnavailable(f"Rasa answered HTTP {status}{what}")


class RasaClient:
    """Sends user messages to Rasa and turns its replies into BotMessages (a `Conversation` without handoff).

    Its HTTP connections open on first use and end with `close()`; the client can be used again after that
    (the gateway builds one per app and closes it when the app stops, possibly to start it again). With a token,
    every request carries it as `?token=` (Rasa's HTTP API reads it only there; govbot's REST channel,
    bot.rest_channel, reads it there too).
    """

    def __init__(self, base_url: str, timeout: float, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = token  # Rasa's API token (`rasa run --auth-token`), sent as ?token= as Rasa expects
        self._client: Optional[httpx.AsyncClient] = None

    def __repr__(self) -> str:
        return f"RasaClient({self.base_url!r}, {self.timeout!r})"  # never the token

    @property
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.base_url,
                                             params={"token": self._token} if self._token else None,
                                             timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 3.0)))
        return self._client

    async def close(self) -> None:
        """End the HTTP connections."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Deliver one user message to Rasa (with a request id in its metadata: the one given, else a new one) and
        return the bot's replies. RasaUnreachable when this server is not serving, RasaUnavailable otherwise."""
        body = {"sender": sender, "message": text, "metadata": with_request_id(metadata)}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=body)
        except httpx.HTTPError as error:
            raise transport_failure(error, self.base_url) from error
        if response.status_code != 200:
            raise status_failure(response.status_code, "")
        try:
            replies = response.json()
        except ValueError as error:
            raise RasaUnavailable("Rasa answered with something that is not JSON") from error
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa's answer is not a list of messages")
        return merge_payloads([to_bot_message(reply) for reply in replies if isinstance(reply, dict)])

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (RasaUnreachable or RasaUnavailable when they cannot be had)."""
        try:
            response = await self._http.get(f"/conversations/{sender}/tracker", params={"include_events": "ALL"})
        except httpx.HTTPError as error:
            raise transport_failure(error, self.base_url) from error
        if response.status_code != 200:
            raise status_failure(response.status_code, " to a tracker request")
        try:
            events = response.json().get("events")
        except (ValueError, AttributeError) as error:
            raise RasaUnavailable("Rasa's tracker is not a JSON object") from error
        return events if isinstance(events, list) else []

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (empty when Rasa cannot be asked)."""
        try:
            return await self.tracker_events(sender)
        except RasaUnavailable:
            return []

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events to the conversation's tracker (RasaUnreachable or RasaUnavailable when that fails)."""
        try:
            response = await self._http.post(f"/conversations/{sender}/tracker/events", json=events,
                                             params={"include_events": "NONE"})
        except httpx.HTTPError as error:
            raise transport_failure(error, self.base_url) from error
        if response.status_code != 200:
            raise status_failure(response.status_code, " to new tracker events")

    async def is_up(self) -> bool:
        """True when Rasa answers its status endpoint with a loaded model."""
        try:
            response = await self._http.get("/status", timeout=2.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False


def to_bot_message(reply: dict[str, Any]) -> BotMessage:
    """Convert one message of Rasa's REST channel into the gateway's shape."""
    buttons = [Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
               for b in reply.get("buttons") or [] if isinstance(b, dict)]
    custom = reply.get("custom")
    return BotMessage(text=reply.get("text"), buttons=buttons, image=reply.get("image"),
                      custom=custom if isinstance(custom, dict) else None)


def merge_payloads(messages: list[BotMessage]) -> list[BotMessage]:
    """Attach each payload-only message to the message before it.

    Rasa's REST channel sends a reply's text and its custom payload (kind, language, modes,
    item, handoff) as two messages; channels want them as one.
    """
    merged: list[BotMessage] = []
    for message in messages:
        payload_only = message.custom is not None and not (message.text or message.buttons or message.image)
        if payload_only and merged and merged[-1].custom is None:
            merged[-1] = merged[-1].model_copy(update={"custom": message.custom})
        else:
            merged.append(message)
    return merged
