"""The one way every channel sends a citizen's message into the conversation."""

from typing import Any, Optional, Protocol

from core.messages import BotMessage


class Conversation(Protocol):
    """Takes one message of a citizen and gives the replies to show at once.

    The gateway's `MessageRouter` (bot or person, whoever has the conversation) satisfies it, and so does the
    bare `RasaClient`. The web chat API, voice and Telegram all send through one of these.
    """

    async def send(self, sender: str, text: str, metadata: Optional[dict[str, Any]] = None) -> list[BotMessage]:
        """Handle the message of `sender`; metadata says e.g. {"channel": "web", "input": "voice"}."""
        ...
