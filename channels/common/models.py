"""Request and response shapes of the gateway's JSON API."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.messages import BotMessage

SENDER_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class ChatRequest(BaseModel):
    """A message from a user to the bot."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    sender: str = Field(pattern=SENDER_PATTERN, description="Stable id of the user's conversation")
    text: str = Field(description="What the user typed (or a button payload such as /greet)")

    @field_validator("text")
    @classmethod
    def text_is_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value.strip()


class SpeechRequest(BaseModel):
    """Text to be spoken aloud."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="What to say (markup and step numbers are cleaned for speech)")
    language: str = Field(description='"zh" or "en"')
    slow: bool = Field(default=False, description="Speak more slowly (elderly mode)")


class ChatResponse(BaseModel):
    """The bot's replies to one user message."""

    sender: str
    messages: list[BotMessage]


class HealthResponse(BaseModel):
    """The gateway is up; whether Rasa is reachable with a model loaded."""

    status: str
    version: str
    rasa: str
