"""A message from the bot as every channel shows it: text, buttons, an image, a custom payload."""

from typing import Any, Optional

from pydantic import BaseModel, Field


class Button(BaseModel):
    """A choice the bot offers; sending its payload selects it."""

    title: str
    payload: str


class BotMessage(BaseModel):
    """One message from the bot."""

    text: Optional[str] = None
    buttons: list[Button] = Field(default_factory=list)
    image: Optional[str] = None
    custom: Optional[dict[str, Any]] = None
