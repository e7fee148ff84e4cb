"""Follow-up questions about the current item: its materials, fee, time, where, who, steps."""

from typing import Any, Dict, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import latest_intent, reply_language, say, user_text
from bot.actions.knowledge_answer import Events, answer_found, answer_item, answer_nothing, current_item, offer_choices
from bot.actions.runtime import knowledge
from bot.actions.wording import field_asked, subject_words
from knowledge.schema import ServiceItem


def is_about(item: ServiceItem, words: list[str], language: str) -> bool:
    """Whether every word occurs in what the item says (so "还要带户口本吗" stays on the current item)."""
    content = item.text(language).model_dump_json().lower()
    return all(word in content for word in words)


FIELD_OF_INTENT = {"ask_materials": "materials", "ask_fees": "fees", "ask_time": "time", "ask_where": "where",
                   "ask_eligibility": "eligibility", "ask_steps": "steps"}


class ActionAnswerFollowUp(Action):
    """Answer one part of the current item (materials, fee, time, where, who, steps) without searching again,
    unless the question names another service, which then becomes the current item."""

    def name(self) -> Text:
        return "action_answer_follow_up"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        question, language = user_text(tracker), reply_language(tracker)
        intent = latest_intent(tracker)
        field = FIELD_OF_INTENT.get(intent or "") or field_asked(question) or "steps"
        item, words = current_item(tracker), subject_words(question)
        if words and (item is None or not is_about(item, words, language)):
            found = answer_found(dispatcher, tracker, question, field)
            if found is not None:
                return found
        if item is None:
            if words:
                return answer_nothing(dispatcher, tracker, question)
            offered = [item_id for item_id in tracker.get_slot("offered_items") or [] if item_id in knowledge().by_id]
            if offered:  # "要带什么材料" right after "which of these?": the user must pick first
                return offer_choices(dispatcher, tracker, offered, tracker.get_slot("last_question") or question)
            say(dispatcher, tracker, "prompt", response="utter_ask_which_service")
            return []
        return answer_item(dispatcher, tracker, item, question, field)
