"""Answering from the knowledge base: search a question, answer an item, offer choices, or say so."""

import logging
import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import reply_language, say, user_text
from bot.actions.handoff import hand_off
from bot.actions.render import (clarify_text, menu_field, person_button, rating_buttons, render_answer,
                                render_field)
from bot.actions.wording import field_asked, subject_words
from knowledge.schema import ServiceItem
from knowledge.search import KnowledgeSearch, SearchResult
from knowledge.service import open_search

log = logging.getLogger("govbot.actions.knowledge")

# This many questions in a row without an answer hand the user to a person.
FAILED_TURNS_BEFORE_HANDOFF = 2
_SEARCHABLE = re.compile(r"[\w\u3400-\u9fff]")

Events = List[Dict[Text, Any]]


@lru_cache(maxsize=1)
def knowledge() -> KnowledgeSearch:
    """The knowledge search, loaded once per action server process."""
    return open_search()


knowledge()  # load when the action server starts, so its health check means "ready to answer"


def current_item(tracker: Tracker) -> Optional[ServiceItem]:
    """The item the conversation is about, if any (and if it still exists)."""
    item_id = tracker.get_slot("current_item")
    return knowledge().by_id.get(item_id) if item_id else None


def search(question: str, language: str) -> SearchResult:
    """Search the knowledge base, logging the decision (never the question: it may hold personal data)."""
    result = knowledge().search(question)
    log.info("knowledge_search", extra={"fields": {"decision": result.decision, "language": language,
                                                   "top": result.items[0].id if result.items else None,
                                                   "ms": result.latency_ms}})
    return result


def answer_item(dispatcher: CollectingDispatcher, tracker: Tracker, item: ServiceItem, question: str,
                field: Optional[str] = None) -> Events:
    """Answer with the item (or one field of it) and make it the current item."""
    language, large_text = reply_language(tracker), bool(tracker.get_slot("large_text"))
    if field is None:
        say(dispatcher, tracker, "answer", text=render_answer(item, language, large_text),
            buttons=rating_buttons(language), item=item.id, decision="answer")
    else:
        say(dispatcher, tracker, "follow_up", text=render_field(item, field, language),
            item=item.id, decision="answer", field=field)
    return [SlotSet("current_item", item.id), SlotSet("last_question", question), SlotSet("last_decision", "answer"),
            SlotSet("offered_items", None), SlotSet("failed_turns", 0.0), SlotSet("pending_offer", None)]


def offer_choices(dispatcher: CollectingDispatcher, tracker: Tracker, item_ids: list[str], question: str) -> Events:
    """Ask the user to pick one of a few close items, as buttons and as a numbered list."""
    language = reply_language(tracker)
    titles = [knowledge().by_id[item_id].text(language).title for item_id in item_ids]
    buttons = [{"title": title, "payload": f'/choose_item{{"item_id": "{item_id}"}}'}
               for item_id, title in zip(item_ids, titles)]
    say(dispatcher, tracker, "clarify", text=clarify_text(titles, language), buttons=buttons,
        decision="clarify", items=item_ids)
    return [SlotSet("offered_items", item_ids), SlotSet("last_question", question),
            SlotSet("last_decision", "clarify"), SlotSet("failed_turns", 0.0)]


def answer_nothing(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> Events:
    """Say plainly that nothing fits; the second time in a row, hand the user to a person."""
    failed = int(tracker.get_slot("failed_turns") or 0) + 1
    events: Events = [SlotSet("last_question", question), SlotSet("last_decision", "none"),
                      SlotSet("offered_items", None)]
    if failed >= FAILED_TURNS_BEFORE_HANDOFF:
        return events + hand_off(dispatcher, tracker, "not_understood", response="utter_handoff_after_failures")
    say(dispatcher, tracker, "none", response="utter_cannot_answer_service", decision="none",
        buttons=[person_button(reply_language(tracker))])
    return events + [SlotSet("failed_turns", float(failed))]


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, question: str,
                    field: Optional[str] = None) -> Events:
    """Search the question and answer, offer choices or say so."""
    result = search(question, reply_language(tracker))
    if result.decision == "answer":
        return answer_item(dispatcher, tracker, knowledge().by_id[result.offered[0].id], question, field)
    if result.decision == "clarify":
        return offer_choices(dispatcher, tracker, [candidate.id for candidate in result.offered], question)
    return answer_nothing(dispatcher, tracker, question)


def is_about(item: ServiceItem, words: list[str], language: str) -> bool:
    """Whether every word occurs in what the item says (so "还要带户口本吗" stays on the current item)."""
    content = item.text(language).model_dump_json().lower()
    return all(word in content for word in words)


class ActionAnswerServiceQuestion(Action):
    """Answer a service question: search, then answer, offer the close items, or say nothing fits."""

    def name(self) -> Text:
        return "action_answer_service_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        question = user_text(tracker)
        if not _SEARCHABLE.search(question):
            say(dispatcher, tracker, "prompt", response="utter_ask_question")
            return []
        item, field = current_item(tracker), field_asked(question)
        if item is not None and field is not None and not subject_words(question):
            # "多少钱" classified as a new question is still a follow-up about the current item.
            return answer_item(dispatcher, tracker, item, question, field)
        return answer_question(dispatcher, tracker, question)


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
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        field = FIELD_OF_INTENT.get(intent) or field_asked(question) or "steps"
        item, words = current_item(tracker), subject_words(question)
        if words and (item is None or not is_about(item, words, language)):
            result = search(question, language)
            if result.decision == "answer":
                return answer_item(dispatcher, tracker, knowledge().by_id[result.offered[0].id], question, field)
            if result.decision == "clarify":
                return offer_choices(dispatcher, tracker, [candidate.id for candidate in result.offered], question)
        if item is None:
            if words:
                return answer_nothing(dispatcher, tracker, question)
            say(dispatcher, tracker, "prompt", response="utter_ask_which_service")
            return []
        return answer_item(dispatcher, tracker, item, question, field)


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
        text, number = user_text(tracker), number_in(user_text(tracker))
        offered = tracker.get_slot("offered_items") or []
        if number is not None and offered and 1 <= number <= len(offered) and offered[number - 1] in knowledge().by_id:
            item = knowledge().by_id[offered[number - 1]]
            return answer_item(dispatcher, tracker, item, tracker.get_slot("last_question") or text)
        if number is not None and offered and text.strip().isdigit():
            # "7" when four items were offered: show the choices again
            return offer_choices(dispatcher, tracker, offered, tracker.get_slot("last_question") or text)
        item, field = current_item(tracker), menu_field(number) if number is not None else None
        if item is not None and field is not None and not offered:
            return answer_item(dispatcher, tracker, item, text, field)
        # Not a choice after all ("12345" is the hotline's number): treat it as a question.
        return answer_question(dispatcher, tracker, text)
