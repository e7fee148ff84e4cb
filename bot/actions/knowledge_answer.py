"""Answer a service question from the knowledge base: answer, ask the user to pick, or say so."""

import logging
from functools import lru_cache
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.render import clarify_prompt, render_answer
from govbot.language import detect_language
from knowledge.search import KnowledgeSearch
from knowledge.service import open_search

log = logging.getLogger("govbot.actions.knowledge")


@lru_cache(maxsize=1)
def knowledge() -> KnowledgeSearch:
    """The knowledge search, loaded once per action server process."""
    return open_search()


knowledge()  # load when the action server starts, so its health check means "ready to answer"


class ActionAnswerServiceQuestion(Action):
    """Search the user's question and reply with the item, the candidates, or a plain "not found"."""

    def name(self) -> Text:
        return "action_answer_service_question"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        question = (tracker.latest_message.get("text") or "").strip()
        language = detect_language(question) or tracker.get_slot("language") or "zh"
        search = knowledge()
        result = search.search(question)
        log.info("knowledge_search", extra={"fields": {"decision": result.decision, "language": language,
                                                       "top": result.items[0].id if result.items else None,
                                                       "ms": result.latency_ms}})
        if result.decision == "answer":
            item = search.by_id[result.offered[0].id]
            dispatcher.utter_message(text=render_answer(item, language),
                                     json_message={"item": item.id, "decision": "answer", "language": language})
            return [SlotSet("current_item", item.id)]
        if result.decision == "clarify":
            # A button sends the item's title back, which the search answers with that item.
            titles = [search.by_id[candidate.id].text(language).title for candidate in result.offered]
            buttons = [{"title": title, "payload": title} for title in titles]
            dispatcher.utter_message(text=clarify_prompt(language), buttons=buttons)
            return []
        dispatcher.utter_message(response="utter_cannot_answer_service")
        return []
