"""What the channel remembers about each Telegram user: the modes and language the bot last reported."""

from dataclasses import dataclass, replace
from typing import Any, Optional

from cachetools import LRUCache

from core.messages import BotMessage

LANGUAGE_CONFIRMED = "language"  # the kind of the reply confirming a language the user asked for


@dataclass(frozen=True)
class UserState:
    """A user's modes and language as the latest reply's payload gave them (None: not known yet), and whether the
    user chose that language (/lang or asking for it: it then sticks, and voice notes are heard in it)."""

    large_text: Optional[bool] = None
    voice: Optional[bool] = None
    language: Optional[str] = None
    language_chosen: bool = False

    @property
    def speaks(self) -> bool:
        """Answers are also sent as voice messages: in voice mode and in large-text (elderly) mode."""
        return bool(self.voice or self.large_text)


class UserStates:
    """A bounded map from Telegram user id to UserState (least recently seen users dropped first)."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._states: LRUCache[int, UserState] = LRUCache(maxsize=capacity)

    def get(self, user_id: int) -> UserState:
        """The user's state (a fresh one when unknown); a known user becomes the most recently seen."""
        return self._states.get(user_id) or UserState()

    def set(self, user_id: int, state: UserState) -> None:
        """Remember the user's state, dropping the least recently seen user when full."""
        if self.capacity > 0:
            self._states[user_id] = state

    def update_from(self, user_id: int, replies: list[BotMessage]) -> tuple[UserState, UserState]:
        """Take the modes and language from the replies' payloads; returns the state before and after."""
        before = self.get(user_id)
        after = before
        for reply in replies:
            custom = reply.custom or {}
            reported = custom.get("mode")
            mode: dict[str, Any] = reported if isinstance(reported, dict) else {}
            language = custom.get("language") if custom.get("language") in ("zh", "en") else after.language
            chosen = after.language_chosen or (custom.get("kind") == LANGUAGE_CONFIRMED and language is not None)
            after = replace(after, language=language, language_chosen=chosen,
                            large_text=bool(mode["large_text"]) if "large_text" in mode else after.large_text,
                            voice=bool(mode["voice"]) if "voice" in mode else after.voice)
        self.set(user_id, after)
        return before, after

    def __len__(self) -> int:
        return len(self._states)
