"""What every reply needs from the conversation: its language, the user's modes, and the payload channels read."""

from typing import Any, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.language import detect_language

DEFAULT_LANGUAGE = "zh"


def reply_language(tracker: Tracker) -> str:
    """The language to answer in: the one the user asked for, else that of their latest message with letters (the
    `language` slot, which Rasa keeps), else that of this message, else Chinese."""
    for slot in ("chosen_language", "language"):
        value = tracker.get_slot(slot)
        if value in ("zh", "en"):
            return str(value)
    return detect_language(user_text(tracker)) or DEFAULT_LANGUAGE


def user_text(tracker: Tracker) -> str:
    """The user's latest message, trimmed ("" for none)."""
    return (tracker.latest_message.get("text") or "").strip()


def latest_intent(tracker: Tracker) -> Optional[str]:
    """The intent NLU gave the user's latest message, if any."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def modes(tracker: Tracker) -> dict[str, bool]:
    """The user's display modes: large text (elderly mode) and spoken answers."""
    return {"large_text": bool(tracker.get_slot("large_text")), "voice": bool(tracker.get_slot("voice"))}


def reply_payload(tracker: Tracker, kind: str, **extra: Any) -> dict[str, Any]:
    """The custom payload sent with a reply: what kind it is, its language and the user's modes."""
    return {"kind": kind, "language": reply_language(tracker), "mode": modes(tracker), **extra}


def say(dispatcher: CollectingDispatcher, tracker: Tracker, kind: str, *, response: Optional[str] = None,
        text: Optional[str] = None, buttons: Optional[list[dict[str, str]]] = None, **extra: Any) -> None:
    """Send one reply (a domain response or a text) with its custom payload."""
    dispatcher.utter_message(text=text, response=response, buttons=buttons or [],
                             json_message=reply_payload(tracker, kind, **extra))
