"""Request and response shapes of the gateway's JSON API."""

import re
from typing import Annotated, Optional

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from channels.common.errors import CodedValueError
from core.messages import BotMessage

SENDER_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# control characters other than tab and line breaks, and lone surrogates (JSON can carry "\ud800"; UTF-8 cannot,
# nor can speech engines' arguments or PostgreSQL's text hold NUL)
_UNUSABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def usable_text(value: str) -> str:
    """The text unchanged if every character can be stored, logged and spoken; else the error `invalid_text`."""
    found = _UNUSABLE.search(value)
    if found:
        raise CodedValueError("invalid_text", f"text contains a character that is not allowed "
                                              f"(U+{ord(found.group()):04X})")
    return value


UsableText = Annotated[str, AfterValidator(usable_text)]


class ChatRequest(BaseModel):
    """A message from a user to the bot."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    sender: str = Field(pattern=SENDER_PATTERN, description="Stable id of the user's conversation")
    text: UsableText = Field(description="What the user typed (or a button payload such as /greet); no control "
                                         "characters other than tab and line breaks")

    @field_validator("text")
    @classmethod
    def text_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value.strip()


class SpeechRequest(BaseModel):
    """Text to be spoken aloud."""

    model_config = ConfigDict(extra="forbid")

    text: UsableText = Field(description="What to say (markup and step numbers are cleaned for speech)")
    language: str = Field(description='"zh" or "en"')
    slow: bool = Field(default=False, description="Speak more slowly (elderly mode)")
    piece: Optional[int] = Field(default=None, ge=0, le=1000,
                                 description="Only this piece of the text (0 first; the response's X-Speech-Pieces "
                                             "says how many there are): play it while asking for the next")


class ChatResponse(BaseModel):
    """The bot's replies to one user message."""

    sender: str
    messages: list[BotMessage]


class HealthResponse(BaseModel):
    """The gateway is up; whether the Rasa servers are reachable with a model loaded: up, degraded (some), down."""

    status: str
    version: str
    rasa: str
