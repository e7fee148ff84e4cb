"""The user's preferences: reply language (followed per message, sticky once asked for) and display modes."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import latest_intent, modes, reply_language, say, user_text
from core.language import detect_language

_ASKS_FOR = {"en": ("英文", "英语", "english"), "zh": ("中文", "汉语", "普通话", "chinese", "mandarin")}

# Which slot each mode intent sets, and to what.
MODE_OF_INTENT = {"large_text_on": ("large_text", True), "large_text_off": ("large_text", False),
                  "voice_on": ("voice", True), "voice_off": ("voice", False)}


def language_asked_for(text: str, entity: Optional[str], current: Optional[str]) -> str:
    """The language a switch request asks for: named in its payload or words, else the other one."""
    if entity in _ASKS_FOR:
        return entity
    lowered = text.lower()
    named = [language for language, words in _ASKS_FOR.items() if any(word in lowered for word in words)]
    if len(named) == 1:
        return named[0]
    return "en" if current == "zh" else "zh"


class ActionTrackLanguage(Action):
    """Keep the `language` slot at every user turn: the message's language, unless one was asked for."""

    def name(self) -> Text:
        return "action_track_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        text, current = user_text(tracker), tracker.get_slot("language")
        intent = latest_intent(tracker)
        if intent == "switch_language":
            entity = next(tracker.get_latest_entity_values("target_language"), None)
            return [SlotSet("language", language_asked_for(text, entity, current)), SlotSet("language_locked", True)]
        if tracker.get_slot("language_locked") or text.startswith("/"):
            return []  # an explicit choice sticks; a button payload says nothing about language
        detected = detect_language(text)
        return [SlotSet("language", detected)] if detected and detected != current else []


class ActionConfirmLanguage(Action):
    """Confirm the language the user switched to (the slot is already set by action_track_language)."""

    def name(self) -> Text:
        return "action_confirm_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "language", response=f"utter_language_{reply_language(tracker)}")
        return []


class ActionSetMode(Action):
    """Switch large-text (elderly) mode or spoken answers on or off, and confirm in the new mode."""

    def name(self) -> Text:
        return "action_set_mode"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = latest_intent(tracker)
        if intent not in MODE_OF_INTENT:
            raise ValueError(f"action_set_mode cannot handle intent {intent!r}")
        slot, value = MODE_OF_INTENT[intent]
        new_modes = {**modes(tracker), slot: value}
        say(dispatcher, tracker, "mode", response=f"utter_{intent}", mode=new_modes)
        return [SlotSet(slot, value)]
