"""Yes or no to what the bot just offered (a person, after a bad rating or an unanswered question)."""

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.context import say
from bot.actions.handoff import REASONS, hand_off


def offered_handoff_reason(tracker: Tracker) -> str | None:
    """The reason of the person the bot offered ("handoff:bad_rating" -> "bad_rating"), if it offered one."""
    offer = tracker.get_slot("pending_offer") or ""
    kind, _, reason = offer.partition(":")
    return (reason if reason in REASONS else "user_request") if kind == "handoff" else None


class ActionAffirm(Action):
    """Yes: accept the offered person; with nothing offered, just ask what else the user needs."""

    def name(self) -> Text:
        return "action_affirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        reason = offered_handoff_reason(tracker)
        if reason is not None:
            return hand_off(dispatcher, tracker, reason)
        say(dispatcher, tracker, "reply", response="utter_no_problem")
        return []


class ActionDeny(Action):
    """No: drop the offer and ask what else the user needs."""

    def name(self) -> Text:
        return "action_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        say(dispatcher, tracker, "reply", response="utter_no_problem")
        return [SlotSet("pending_offer", None)]
