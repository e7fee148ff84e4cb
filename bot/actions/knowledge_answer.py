"""Answering from the knowledge base: search a question, answer an item, offer choices, or say so."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import reply_language, reply_payload, say, user_text
from bot.actions.handoff import hand_off
from bot.actions.render import choice_buttons, clarify_text, person_button, rating_buttons, render_answer, render_field
from bot.actions.runtime import knowledge
from bot.actions.topic import topic_words
from bot.actions.wording import field_asked, subject_words
from core import query_vector
from core.settings import Settings

if TYPE_CHECKING:
    from knowledge.schema import ServiceItem
    from knowledge.search import SearchResult

log = logging.getLogger("govbot.actions.knowledge")

# This many questions in a row without an answer hand the user to a person.
FAILED_TURNS_BEFORE_HANDOFF = 2
_SEARCHABLE = re.compile(r"[\w\u3400-\u9fff]")

Events = List[Dict[Text, Any]]


def current_item(tracker: Tracker) -> Optional[ServiceItem]:
    """The item the conversation is about, if any (and if it still exists)."""
    item_id = tracker.get_slot("current_item")
    return knowledge().by_id.get(item_id) if item_id else None


def search(question: str, language: str, tracker: Optional[Tracker] = None) -> SearchResult:
    """Search the knowledge base, logging the decision (never the question: it may hold personal data). With the
    tracker, the NLU's vector of the user's message is reused when the question is that message."""
    shared = tracker.latest_message.get(query_vector.PARSE_KEY) if tracker is not None else None
    result = knowledge().search(question, shared_vector=shared)
    log.info("knowledge_search", extra={"fields": {"decision": result.decision, "language": language,
                                                   "top": result.items[0].id if result.items else None,
                                                   "answerable": result.answerable, "ms": result.latency_ms}})
    return result


def answer_item(dispatcher: CollectingDispatcher, tracker: Tracker, item: ServiceItem, question: str,
                field: Optional[str] = None) -> Events:
    """Answer with the item (or one field of it) and make it the current item.

    A whole answer's payload also carries `speech`: the short (elderly-mode) form, which voice channels read
    aloud instead of the text (a field's answer is short already, and is read as it is)."""
    language, large_text = reply_language(tracker), bool(tracker.get_slot("large_text"))
    if field is None:
        say(dispatcher, tracker, "answer", text=render_answer(item, language, large_text),
            buttons=rating_buttons(language), item=item.id, decision="answer",
            speech=render_answer(item, language, large_text=True))
    else:
        say(dispatcher, tracker, "follow_up", text=render_field(item, field, language),
            item=item.id, decision="answer", field=field)
    return [SlotSet("current_item", item.id), SlotSet("last_question", question), SlotSet("last_decision", "answer"),
            SlotSet("offered_items", None), SlotSet("failed_turns", 0.0), SlotSet("pending_offer", None)]


def offer_choices(dispatcher: CollectingDispatcher, tracker: Tracker, item_ids: list[str], question: str) -> Events:
    """Ask the user to pick one of a few close items, as buttons and as a numbered list."""
    language = reply_language(tracker)
    titles = [knowledge().by_id[item_id].text(language).title for item_id in item_ids]
    buttons = choice_buttons(list(zip(item_ids, titles)))
    say(dispatcher, tracker, "clarify", text=clarify_text(titles, language), buttons=buttons,
        decision="clarify", items=item_ids)
    return [SlotSet("offered_items", item_ids), SlotSet("last_question", question),
            SlotSet("last_decision", "clarify"), SlotSet("failed_turns", 0.0), SlotSet("pending_offer", None)]


@lru_cache(maxsize=1)
def portal() -> tuple[str, str]:
    """The government service portal the not-found reply points to: (name, address), from the settings."""
    settings = Settings.from_env()
    return settings.portal_name, settings.portal_url


def answer_nothing(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> Events:
    """Say plainly that the service asked about is not in the guide, naming it in the asker's words, and point
    to the 12345 hotline, the portal and a person (never to a department); the second time in a row, hand the
    user to a person."""
    failed = int(tracker.get_slot("failed_turns") or 0) + 1
    events: Events = [SlotSet("last_question", question), SlotSet("last_decision", "none"),
                      SlotSet("offered_items", None), SlotSet("pending_offer", None)]
    if failed >= FAILED_TURNS_BEFORE_HANDOFF:
        return events + hand_off(dispatcher, tracker, "not_understood", response="utter_handoff_after_failures")
    language = reply_language(tracker)
    portal_name, portal_url = portal()
    # Rasa fills the response's {topic}, {portal_name} and {portal_url} from these keywords (not from slots).
    dispatcher.utter_message(response="utter_cannot_answer_service", buttons=[person_button(language)],
                             json_message=reply_payload(tracker, "none", decision="none"),
                             topic=topic_words(question, language), portal_name=portal_name, portal_url=portal_url)
    return events + [SlotSet("failed_turns", float(failed))]


def answer_found(dispatcher: CollectingDispatcher, tracker: Tracker, question: str,
                 field: Optional[str] = None) -> Optional[Events]:
    """Search the question and act on the decision: answer the item found (or its `field`), offer the close
    items, or, when nothing fits, do nothing and return None (the caller decides what to say)."""
    result = search(question, reply_language(tracker), tracker)
    if result.decision == "answer":
        return answer_item(dispatcher, tracker, knowledge().by_id[result.offered[0].id], question, field)
    if result.decision == "clarify":
        return offer_choices(dispatcher, tracker, [candidate.id for candidate in result.offered], question)
    return None


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, question: str) -> Events:
    """Search the question and answer, offer choices or say nothing fits."""
    found = answer_found(dispatcher, tracker, question)
    return found if found is not None else answer_nothing(dispatcher, tracker, question)


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
