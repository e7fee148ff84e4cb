"""What the handoff domain needs from the outside, as structural interfaces (the channels provide them)."""

from typing import Any, Awaitable, Callable, Protocol

from core.messages import BotMessage


class BotLink(Protocol):
    """The bot's side of a conversation: the desk hands the conversation back to it when a ticket ends.

    The gateway's Rasa client satisfies this; a failure raises, and the desk logs it and carries on.
    """

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Add events (Rasa tracker events) to the conversation of `sender`."""


Deliver = Callable[[str, list[BotMessage]], Awaitable[None]]
"""Pushes messages to a user of a channel that has no live page (e.g. Telegram): (sender, messages)."""
