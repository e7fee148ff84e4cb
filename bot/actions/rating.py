"""Rating an answer (好差评): quick good/bad or one of the five levels; a bad rating offers a person."""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import latest_intent, reply_language, say, user_text
from bot.actions.runtime import ratings
from core import payloads
from core.ratings import BAD_LEVEL, GOOD_LEVEL, LEVELS, Rating, is_bad, level_name
from core.texts import text

log = logging.getLogger("govbot.actions.rating")

# Words for each level, longest first within a language so "非常不满意" is not read as "满意".
_LEVEL_WORDS: tuple[tuple[str, int], ...] = (
    ("非常不满意", 1), ("很不满意", 1), ("不满意", 2), ("不太满意", 2), ("基本满意", 3), ("还算满意", 3),
    ("比较满意", 3), ("非常满意", 5), ("很满意", 5), ("五星", 5), ("满意", 4),
    ("very dissatisfied", 1), ("very unsatisfied", 1), ("not satisfied", 2), ("dissatisfied", 2),
    ("unsatisfied", 2), ("basically satisfied", 3), ("fairly satisfied", 3), ("very satisfied", 5),
    ("satisfied", 4),
)


def level_of(intent: Optional[str], text: str, entity: Optional[str]) -> Optional[int]:
    """The 1-5 level a rating means: from its payload, the five-level words, or quick good/bad."""
    if entity is not None and str(entity).strip().isdigit() and int(str(entity)) in LEVELS:
        return int(str(entity))
    lowered = text.lower()
    for words, level in _LEVEL_WORDS:
        if words in lowered:
            return level
    return {"rate_good": GOOD_LEVEL, "rate_bad": BAD_LEVEL}.get(intent or "")


class ActionRate(Action):
    """Store the user's rating of the last answer; thank them, or after a bad one offer a person."""

    def name(self) -> Text:
        return "action_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        level = level_of(latest_intent(tracker), user_text(tracker),
                         next(tracker.get_latest_entity_values("rating"), None))
        if level is None:  # a rate_level message whose words name no level
            level = GOOD_LEVEL
        language = reply_language(tracker)
        rating = Rating(sender_id=tracker.sender_id, level=level, language=language,
                        question=tracker.get_slot("last_question"), item=tracker.get_slot("current_item"),
                        decision=tracker.get_slot("last_decision"), channel=tracker.get_latest_input_channel())
        rating_id = ratings().add(rating)
        log.info("rating_stored", extra={"fields": {"id": rating_id, "level": level, "item": rating.item}})
        name = level_name(level, language)
        if not is_bad(level):
            say(dispatcher, tracker, "rating", text=text(language, "rating.thanks", level=name), rating=level)
            return []
        say(dispatcher, tracker, "rating", text=text(language, "rating.sorry", level=name), rating=level,
            buttons=[{"title": text(language, "rating.yes_person"), "payload": payloads.AFFIRM},
                     {"title": text(language, "rating.no_thanks"), "payload": payloads.DENY}])
        return [SlotSet("pending_offer", "handoff:bad_rating")]
