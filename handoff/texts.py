"""What the citizen is told about their ticket, in Chinese and English (the words are in core/texts.py)."""

from datetime import datetime
from typing import Any, Optional

from core import payloads, texts
from core.messages import BotMessage, Button
from core.ratings import LEVELS


def text(language: str, key: str, **values: object) -> str:
    """The handoff text `key` (opened, waiting, claimed, closed, ...) in the language, filled from `values`."""
    return texts.text(language, f"handoff.{key}", **values)


def when(language: str, opening: Optional[datetime]) -> str:
    """When the citizen can expect an agent: after the next opening time, or as soon as one is available."""
    return text(language, "at", moment=opening) if opening else text(language, "soon")


def cancel_button(language: str) -> Button:
    """The button that cancels the request for a person."""
    return Button(title=text(language, "cancel"), payload=payloads.CANCEL_HANDOFF)


def rating_buttons(language: str, number: str) -> list[Button]:
    """The five levels, best first, as buttons that rate the ticket."""
    index = 1 if language == "en" else 0
    return [Button(title=names[index], payload=payloads.rate_ticket(number, level)) for level, names in LEVELS.items()]


def ticket_message(message_text: str, language: str, ticket: dict[str, Any],
                   buttons: Optional[list[Button]] = None, kind: str = "ticket") -> BotMessage:
    """A message from the handoff (not from Rasa), with the ticket's state in its payload."""
    return BotMessage(text=message_text, buttons=buttons or [],
                      custom={"kind": kind, "language": language, "ticket": ticket})
