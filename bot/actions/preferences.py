"""The user's preferences: the reply language they ask for (it then sticks) and display modes."""

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import latest_intent, modes, reply_language, say, user_text

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


def last_reply_language(tracker: Tracker) -> str:
    """The language of the bot's latest reply (from its payload), else the language replies would have now."""
    for event in reversed(tracker.events):
        if event.get("event") != "bot":
            continue
        language = ((event.get("data") or {}).get("custom") or {}).get("language")
        if language in ("zh", "en"):
            return str(language)
    return reply_language(tracker)


class ActionConfirmLanguage(Action):
    """Switch to the language the user asked for (it then sticks: `chosen_language`) and confirm in it."""

    def name(self) -> Text:
        return "action_confirm_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        entity = next(tracker.get_latest_entity_values("target_language"), None)
        asked = language_asked_for(user_text(tracker), entity, last_reply_language(tracker))
        say(dispatcher, tracker, "language", response=f"utter_language_{asked}", language=asked)
        return [SlotSet("chosen_language", asked)]


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
