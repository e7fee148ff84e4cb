"""Picking one of the offered items: by button payload or by number."""

import re
from typing import Any, Dict, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import say, user_text
from bot.actions.knowledge_answer import Events, answer_item, answer_question, current_item, offer_choices
from bot.actions.render import menu_field
from bot.actions.runtime import knowledge


class ActionChooseItem(Action):
    """Answer the item the user picked from the offered ones (a button payload carrying its id)."""

    def name(self) -> Text:
        return "action_choose_item"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        item_id = next(tracker.get_latest_entity_values("item_id"), None)
        item = knowledge().by_id.get(str(item_id)) if item_id else None
        if item is None:
            say(dispatcher, tracker, "prompt", response="utter_ask_question")
            return []
        return answer_item(dispatcher, tracker, item, tracker.get_slot("last_question") or item.id)


_NUMBER_WORDS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "first": 1, "one": 1,
                 "second": 2, "two": 2, "third": 3, "three": 3, "fourth": 4, "four": 4, "fifth": 5, "five": 5}


def number_in(text: str) -> Optional[int]:
    """The number a short reply means ("2", "第二个", "the second one"), if any."""
    digits = re.search(r"\d+", text)
    if digits:
        return int(digits.group())
    lowered = text.lower()
    found = []
    for word, number in _NUMBER_WORDS.items():
        match = re.search(rf"(?<![a-z]){word}(?![a-z])" if word.isascii() else word, lowered)
        if match:
            found.append((match.start(), number))
    return min(found)[1] if found else None  # "the second one" means 2: the first number word counts


class ActionChooseNumber(Action):
    """A number picks one of the offered items, or, after an answer, a line of the elderly-mode menu."""

    def name(self) -> Text:
        return "action_choose_number"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        text = user_text(tracker)
        number = number_in(text)
        offered = tracker.get_slot("offered_items") or []
        if number is not None and offered and 1 <= number <= len(offered) and offered[number - 1] in knowledge().by_id:
            chosen = knowledge().by_id[offered[number - 1]]
            return answer_item(dispatcher, tracker, chosen, tracker.get_slot("last_question") or text)
        if number is not None and offered and text.strip().isdigit():
            # "7" when four items were offered: show the choices again
            return offer_choices(dispatcher, tracker, offered, tracker.get_slot("last_question") or text)
        item, field = current_item(tracker), menu_field(number) if number is not None else None
        if item is not None and field is not None and not offered:
            return answer_item(dispatcher, tracker, item, text, field)
        # Not a choice after all ("12345" is the hotline's number): treat it as a question.
        return answer_question(dispatcher, tracker, text)
