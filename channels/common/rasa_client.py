"""Talking to the Rasa server over HTTP (its REST channel and status API), with Rasa's API token on every call."""

import logging
from typing import Any, Optional

import httpx

from core.messages import BotMessage, Button

log = logging.getLogger("govbot.rasa_client")


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached or did not answer properly in time."""


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
        """Deliver one user message to Rasa and return the bot's replies."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._http.post("/webhooks/rest/webhook", json=body)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(f"Rasa did not answer in time ({type(error).__name__})") from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is not reachable at {self.base_url} ({type(error).__name__})") from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
        try:
            replies = response.json()
        except ValueError as error:
            raise RasaUnavailable("Rasa answered with something that is not JSON") from error
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa's answer is not a list of messages")
        return merge_payloads([to_bot_message(reply) for reply in replies if isinstance(reply, dict)])

    async def conversation_events(self, sender: str) -> list[dict[str, Any]]:
        """The events of the conversation's tracker (empty when Rasa cannot be asked)."""
        try:
            response = await self._http.get(f"/conversations/{sender}/tracker", params={"include_events": "ALL"})
            events = response.json().get("events") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return []
        return events if isinstance(events, list) else []

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events to the conversation's tracker (RasaUnavailable when that fails)."""
        try:
            response = await self._http.post(f"/conversations/{sender}/tracker/events", json=events,
                                             params={"include_events": "NONE"})
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is not reachable at {self.base_url} ({type(error).__name__})") from error
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa answered HTTP {response.status_code} to new tracker events")

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
